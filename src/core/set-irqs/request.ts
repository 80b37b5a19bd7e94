import { SIZEOF_VFIO_IRQ_SET_HDR, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_TYPE_MASK } from '../constants.ts'

/** struct vfio_irq_set, with `data` already split into elements (BOOL bytes or s32 fds). */
export interface IrqSetRequest {
  argsz: number
  flags: number
  index: number
  start: number
  count: number
  data: readonly number[]
}

/** struct vfio_irq_set's fields as a client writes them into the raw struct: `argsz` may be left out. */
export interface RawIrqSet {
  argsz?: number
  flags: number
  index: number
  start: number
  count: number
  data?: readonly number[]
}

/** The size of one data element `flags` implies: 1 for BOOL bytes, 4 for s32 fds; 0 for NONE or an invalid type (validation rejects those). */
function dataElementSize (flags: number): number {
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_BOOL: return 1
    case VFIO_IRQ_SET_DATA_EVENTFD: return 4
    default: return 0
  }
}

/** The raw struct as the kernel would receive it; `argsz` defaults to the header plus the data's bytes. */
export function rawIrqSetRequest (raw: RawIrqSet): IrqSetRequest {
  const data = raw.data ?? []
  const argsz = raw.argsz ?? SIZEOF_VFIO_IRQ_SET_HDR + data.length * dataElementSize(raw.flags)
  return { argsz, flags: raw.flags, index: raw.index, start: raw.start, count: raw.count, data }
}

/**
 * The first data element the struct could not have held (a BOOL is a byte, an fd an s32), or
 * null. Such a request never reaches the kernel's checks: it could not have been written.
 */
export function unrepresentableElement (req: IrqSetRequest): { at: number, value: number, type: string } | null {
  const size = dataElementSize(req.flags)
  if (size === 0) return null
  const [min, max, type] = size === 1 ? [0, 255, 'a BOOL byte'] : [-2147483648, 2147483647, 'an s32 fd']
  for (let i = 0; i < req.data.length; i++) {
    if (req.data[i] < min || req.data[i] > max) return { at: i, value: req.data[i], type }
  }
  return null
}
