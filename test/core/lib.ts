import { VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, SIZEOF_VFIO_IRQ_SET_HDR } from '../../src/core/constants.ts'
import type { Device } from '../../src/core/device.ts'
import { Effects } from '../../src/core/effects.ts'
import { VfioError } from '../../src/core/errno.ts'
import type { IrqSetRequest } from '../../src/core/set-irqs/request.ts'
import type { World } from '../../src/core/world.ts'

/** What the ioctl answered: its return value, or the errno and the rule that fired. */
export type Out = { ret: number } | { errno: string, reason: string }

/** The answer, or the errno and reason it failed with (errors other than VfioError are rethrown). */
export function outcome<T> (fn: () => T): T | { errno: string, reason: string } {
  try {
    return fn()
  } catch (err) {
    if (err instanceof VfioError) return { errno: err.errno, reason: err.reason }
    throw err
  }
}

/** SET_IRQS on the model; argsz defaults to the header plus the data, as the raw route does. */
export function trySetIrqs (world: World, dev: Device, req: Omit<IrqSetRequest, 'argsz'> & { argsz?: number }, fx = new Effects()): Out {
  const size = (req.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 ? 1 : (req.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0 ? 4 : 0
  const r = outcome(() => world.setIrqs(dev, { ...req, argsz: req.argsz ?? SIZEOF_VFIO_IRQ_SET_HDR + req.data.length * size }, fx))
  return typeof r === 'number' ? { ret: r } : r
}
