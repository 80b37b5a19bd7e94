import {
  SIZEOF_VFIO_IRQ_SET_HDR, U32_MAX, VFIO_IRQ_SET_ACTION_TYPE_MASK, VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_TYPE_MASK, VFIO_PCI_NUM_IRQS
} from '../constants.ts'
import { irqCount, type Device } from '../device.ts'
import { fail } from '../errno.ts'
import type { DataType } from './handler.ts'
import type { IrqSetRequest } from './request.ts'

/**
 * vfio_set_irqs_validate_and_prepare(): docs/model.md 4, in the kernel's order, before any
 * state is read. Every failure is EINVAL; the reason says which rule fired. `numIrqs` is the
 * `num_irqs` the driver passes (vfio-pci: vfio_pci_get_irq_count; mdev drivers their own).
 */
export function validateSetIrqs (dev: Device, req: IrqSetRequest, numIrqs: (index: number) => number = (index) => irqCount(dev, index)): DataType {
  const { argsz, flags, index, start, count } = req
  if (argsz < SIZEOF_VFIO_IRQ_SET_HDR) {
    fail('EINVAL', 'argsz-too-small', `argsz ${argsz} is below ${SIZEOF_VFIO_IRQ_SET_HDR}, the header of struct vfio_irq_set`)
  }
  if (index >= VFIO_PCI_NUM_IRQS) fail('EINVAL', 'index-out-of-range', `index ${index} is not below ${VFIO_PCI_NUM_IRQS}`)
  if (count >= U32_MAX - start) fail('EINVAL', 'count-overflow', `start ${start} + count ${count} overflows 32 bits`)
  if (((flags >>> 0) & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) !== 0) {
    fail('EINVAL', 'unknown-flags', `flags 0x${flags.toString(16)} has bits outside 0x3f`)
  }
  const max = numIrqs(index)
  if (start >= max || start + count > max) {
    fail('EINVAL', 'range-out-of-bounds', `[${start}, ${start + count}) is not inside the ${max} interrupts of index ${index}`)
  }
  let type: DataType
  let size: number
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE: type = 'none'; size = 0; break
    case VFIO_IRQ_SET_DATA_BOOL: type = 'bool'; size = 1; break
    case VFIO_IRQ_SET_DATA_EVENTFD: type = 'eventfd'; size = 4; break
    default: fail('EINVAL', 'data-type', `flags 0x${flags.toString(16)} must name exactly one data type (NONE, BOOL or EVENTFD)`)
  }
  if (size !== 0 && argsz - SIZEOF_VFIO_IRQ_SET_HDR < count * size) {
    fail('EINVAL', 'data-too-short', `argsz ${argsz} holds fewer than ${count} ${type} elements`)
  }
  // argsz promises the data; the kernel would copy it from user memory. We can only read
  // what was sent, so a promise the body does not keep is the copy fault it would be.
  if (size !== 0 && req.data.length < count) {
    fail('EFAULT', 'data-missing', `count is ${count} but only ${req.data.length} data elements were sent`)
  }
  return type
}
