import { fail } from '../errno.ts'
import { NO_TRIGGER } from '../vectors.ts'
import type { HandlerContext } from './handler.ts'

// INTx handlers (docs/model.md 5.1, 5.2; vfio_pci_set_intx_mask/_unmask/_trigger).

function requireIntxLine (c: HandlerContext): void {
  if (c.dev.irqType !== 'intx') fail('EINVAL', 'intx-not-enabled', 'INTx is not enabled on this device')
  if (c.start !== 0 || c.count !== 1) fail('EINVAL', 'intx-range', 'INTx takes start 0 and count 1')
}

/** ACTION_MASK on INTx: NONE masks, BOOL masks where the byte is non-zero; an eventfd cannot mask. */
export function maskIntx (c: HandlerContext): number {
  requireIntxLine(c)
  if (c.dataType === 'eventfd') fail('ENOTTY', 'mask-eventfd-unsupported', 'INTx cannot be masked by an eventfd')
  if (c.dataType === 'none' || c.data[0] !== 0) c.world.irq.maskIntx(c.dev, c.fx)
  return 0
}

/** ACTION_UNMASK on INTx: unmask now, or install/remove the unmask eventfd (virqfd). */
export function unmaskIntx (c: HandlerContext): number {
  requireIntxLine(c)
  if (c.dataType === 'eventfd') {
    const fd = c.data[0]
    if (fd >= 0) installUnmaskEventfd(c, fd)
    else c.world.removeUnmaskEventfd(c.dev, c.fx)
    return 0
  }
  if (c.dataType === 'none' || c.data[0] !== 0) c.world.irq.unmaskIntx(c.dev, c.fx)
  return 0
}

/** vfio_virqfd_enable(): the fd is resolved first (EBADF), then the slot is checked (EBUSY). */
function installUnmaskEventfd (c: HandlerContext, fd: number): void {
  const efd = c.world.eventfds.lookup(fd, c.dev.owner)
  if (c.dev.intx.unmaskFd !== NO_TRIGGER) {
    fail('EBUSY', 'unmask-eventfd-busy', `INTx already has unmask eventfd ${c.dev.intx.unmaskFd}; remove it with fd -1 first`)
  }
  c.world.installUnmaskEventfd(c.dev, efd, c.fx)
}

/** ACTION_TRIGGER on INTx: disable, enable or swap the trigger, or loop back a signal. */
export function triggerIntx (c: HandlerContext): number {
  const { dev } = c
  if (dev.irqType === 'intx' && c.count === 0 && c.dataType === 'none') {
    c.world.disableIntx(dev, c.fx)
    return 0
  }
  if (dev.irqType !== 'intx' && dev.irqType !== 'none') {
    fail('EINVAL', 'irq-type-conflict', `${dev.irqType} is enabled; disable it before using INTx`)
  }
  if (c.start !== 0 || c.count !== 1) {
    fail('EINVAL', dev.irqType === 'none' && c.count === 0 ? 'intx-not-enabled' : 'intx-range',
      c.count === 0 ? 'INTx is not enabled, so there is nothing to disable' : 'INTx takes start 0 and count 1')
  }
  if (c.dataType === 'eventfd') {
    const fd = c.data[0]
    const trigger = fd >= 0 ? c.world.eventfds.lookup(fd, dev.owner).fd : NO_TRIGGER
    if (dev.irqType === 'intx') c.world.setIntxTrigger(dev, trigger, c.fx)
    else c.world.enableIntx(dev, trigger, c.fx)
    return 0
  }
  if (dev.irqType !== 'intx') fail('EINVAL', 'intx-not-enabled', 'INTx loopback needs INTx enabled')
  // Loopback signals the trigger as the interrupt handler would, but does not automask.
  if (c.dataType === 'none' || c.data[0] !== 0) c.world.irq.signalTrigger(dev, dev.intx.trigger, c.fx)
  return 0
}
