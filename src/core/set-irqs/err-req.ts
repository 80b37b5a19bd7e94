import { VFIO_PCI_ERR_IRQ_INDEX } from '../constants.ts'
import { fail } from '../errno.ts'
import { NO_TRIGGER } from '../vectors.ts'
import type { HandlerContext } from './handler.ts'

// ERR and REQ (docs/model.md 5.5; vfio_pci_set_err_trigger, vfio_pci_set_req_trigger,
// vfio_pci_set_ctx_trigger_single): one trigger slot each.

export function triggerErrReq (c: HandlerContext): number {
  const { dev, world, fx } = c
  const err = c.index === VFIO_PCI_ERR_IRQ_INDEX
  const name = err ? 'ERR' : 'REQ'
  if (c.start !== 0 || c.count > 1) fail('EINVAL', 'single-slot-range', `${name} takes start 0 and count 0 or 1`)
  const current = err ? dev.errTrigger : dev.reqTrigger
  const set = (fd: number): void => {
    if (err) dev.errTrigger = fd
    else dev.reqTrigger = fd
    fx.device(dev)
  }

  if (c.dataType === 'none') {
    if (current === NO_TRIGGER) fail('EINVAL', 'no-trigger', `${name} has no trigger to signal or release`)
    if (c.count === 1) world.irq.signalTrigger(dev, current, fx)
    else set(NO_TRIGGER)
    return 0
  }
  if (c.count === 0) fail('EINVAL', 'count-zero', `${name} with ${c.dataType} data needs count 1`)
  if (c.dataType === 'bool') {
    if (c.data[0] !== 0 && current !== NO_TRIGGER) world.irq.signalTrigger(dev, current, fx)
    return 0
  }
  const fd = c.data[0]
  if (fd === -1) {
    if (current !== NO_TRIGGER) set(NO_TRIGGER)
  } else if (fd >= 0) {
    const efd = world.eventfds.lookup(fd, dev.owner) // EBADF keeps the old trigger
    if (current !== efd.fd) set(efd.fd)
  } else if (!dev.profile.errReqBelowMinusOneIgnored) {
    fail('EINVAL', 'negative-fd', `fd ${fd} is neither an eventfd nor -1`)
  } // before 6.5, fds below -1 are ignored
  return 0
}
