import {
  VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX
} from '../constants.ts'
import { fail } from '../errno.ts'
import type { Device, Effects, World } from '../model-types.ts'
import { triggerErrReq } from './err-req.ts'
import { maskIntx, triggerIntx, unmaskIntx } from './intx.ts'
import { triggerMsi } from './msi.ts'
import { maskMsix, unmaskMsix } from './msix-mask.ts'
import type { Handler } from './handler.ts'
import type { IrqSetRequest } from './request.ts'
import { validateSetIrqs } from './validate.ts'

function noHandler (index: number, action: number): never {
  fail('ENOTTY', 'no-handler', `index ${index} has no handler for action 0x${action.toString(16)}`)
}

/** A handler that exists only on devices with an opt-in; elsewhere the entry is missing (ENOTTY). */
function optIn (has: (dev: Device) => boolean, handler: Handler): Handler {
  return (c) => (has(c.dev) ? handler(c) : noHandler(c.index, c.action))
}
const msixMaskable = (dev: Device): boolean => dev.caps.msixMaskable === true

/**
 * vfio_pci_set_irqs_ioctl()'s table: one handler per (index, action). A missing entry, or
 * anything but exactly one action bit, is ENOTTY.
 */
const HANDLERS: Record<number, Record<number, Handler>> = {
  [VFIO_PCI_INTX_IRQ_INDEX]: {
    [VFIO_IRQ_SET_ACTION_MASK]: maskIntx,
    [VFIO_IRQ_SET_ACTION_UNMASK]: unmaskIntx,
    [VFIO_IRQ_SET_ACTION_TRIGGER]: triggerIntx
  },
  [VFIO_PCI_MSI_IRQ_INDEX]: { [VFIO_IRQ_SET_ACTION_TRIGGER]: triggerMsi },
  [VFIO_PCI_MSIX_IRQ_INDEX]: {
    [VFIO_IRQ_SET_ACTION_MASK]: optIn(msixMaskable, maskMsix), // docs/model.md 11.4
    [VFIO_IRQ_SET_ACTION_UNMASK]: optIn(msixMaskable, unmaskMsix),
    [VFIO_IRQ_SET_ACTION_TRIGGER]: triggerMsi
  },
  [VFIO_PCI_ERR_IRQ_INDEX]: { [VFIO_IRQ_SET_ACTION_TRIGGER]: triggerErrReq },
  [VFIO_PCI_REQ_IRQ_INDEX]: { [VFIO_IRQ_SET_ACTION_TRIGGER]: triggerErrReq }
}

/** VFIO_DEVICE_SET_IRQS: validate, then dispatch. Returns 0 or a positive count; errors throw. */
export function setIrqs (world: World, dev: Device, req: IrqSetRequest, fx: Effects): number {
  const dataType = validateSetIrqs(dev, req)
  const action = req.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK
  let handler: Handler | undefined = HANDLERS[req.index][action]
  // ERR is PCI Express only; its count is 0 elsewhere, so validation answers first anyway.
  if (req.index === VFIO_PCI_ERR_IRQ_INDEX && !dev.caps.pcie) handler = undefined
  if (handler === undefined) noHandler(req.index, action)
  return handler({ world, dev, index: req.index, action, start: req.start, count: req.count, dataType, data: req.data, fx })
}
