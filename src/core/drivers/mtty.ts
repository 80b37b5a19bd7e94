import {
  VFIO_DEVICE_FLAGS_PCI, VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE, VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS, VFIO_PCI_REQ_IRQ_INDEX
} from '../constants.ts'
import { fail } from '../errno.ts'
import type { Device, DriverOps, Effects, World } from '../model-types.ts'
import type { IrqSetRequest } from '../set-irqs/request.ts'
import { validateSetIrqs } from '../set-irqs/validate.ts'
import { NO_TRIGGER } from '../vectors.ts'
import { HOST_VECTORS } from './ops.ts'

// The mtty sample (samples/vfio-mdev/mtty.c), a virtual serial card, in its two eras
// (docs/model.md 12): before the 6.7 rework (commit 293fbc288181; what 5.10 and 6.1 ship) and after
// it. Its state maps onto virq's: irq_index is irqType (none = -1), intx_evtfd the INTx
// trigger, msi_evtfd MSI vector 0's trigger (the vector counts as allocated while it is armed:
// an mdev takes no host vector), intx_mask the INTx mask. What virq's state has no room for
// is in driverState:

/** mtty_ioctl() copied dev_info at a GET_INFO: num_irqs is 5 from then on, 0 before. */
const MTTY_INFO_SEEN = 0x1
/** Pre-6.7: a disable put intx_evtfd without clearing it (a second disable oopses the sample). */
const MTTY_INTX_PUT = 0x2
/** Pre-6.7: msi_evtfd was set once and is never cleared, so every later MSI enable is a no-op. */
const MTTY_MSI_ARMED = 0x4
/** Pre-6.7: a disable put msi_evtfd (a second disable oopses the sample). */
const MTTY_MSI_PUT = 0x8

/** dev_info.num_irqs: the count mtty validates every index against, and bounds GET_IRQ_INFO by. */
function numIrqs (dev: Device): number {
  return (dev.driverState & MTTY_INFO_SEEN) !== 0 ? VFIO_PCI_NUM_IRQS : 0
}

function setState (dev: Device, bits: number, on: boolean, fx: Effects): void {
  const next = on ? dev.driverState | bits : dev.driverState & ~bits
  if (next === dev.driverState) return
  dev.driverState = next
  fx.device(dev)
}

/** mtty_get_device_info(): PCI only (no RESET flag), 9 regions, 5 irqs. */
function info (): { flags: number, numRegions: number, numIrqs: number } {
  return { flags: VFIO_DEVICE_FLAGS_PCI, numRegions: VFIO_PCI_NUM_REGIONS, numIrqs: VFIO_PCI_NUM_IRQS }
}

/** mtty_ioctl() VFIO_DEVICE_GET_INFO: memcpy(&mdev_state->dev_info, &info, ...). */
function onGetInfo (dev: Device, fx: Effects): void {
  setState(dev, MTTY_INFO_SEEN, true, fx)
}

/**
 * mtty_ioctl() VFIO_DEVICE_GET_IRQ_INFO: `index >= dev_info.num_irqs` is EINVAL (every index
 * before the first GET_INFO), then mtty_get_irq_info(): INTx and MSI (and REQ before 6.7)
 * answer count 1, INTx 0x7, the others EVENTFD|NORESIZE; anything else EINVAL.
 */
function irqInfo (withReq: boolean) {
  return (dev: Device, index: number): { flags: number, count: number } => {
    const n = numIrqs(dev)
    if (index >= n) {
      fail('EINVAL', n === 0 ? 'no-device-info' : 'index-out-of-range',
        n === 0 ? 'mtty answers GET_IRQ_INFO only after a GET_INFO (its dev_info.num_irqs is 0 until then)' : `index ${index} is not below ${n}`)
    }
    if (index !== VFIO_PCI_INTX_IRQ_INDEX && index !== VFIO_PCI_MSI_IRQ_INDEX && !(withReq && index === VFIO_PCI_REQ_IRQ_INDEX)) {
      fail('EINVAL', 'index-unsupported', `mtty_get_irq_info() has no index ${index}`)
    }
    const flags = VFIO_IRQ_INFO_EVENTFD | (index === VFIO_PCI_INTX_IRQ_INDEX ? VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED : VFIO_IRQ_INFO_NORESIZE)
    return { flags, count: 1 }
  }
}

/** The data of a count-0 EVENTFD call is a NULL pointer that mtty dereferences (an oops); virq answers as 6.7+. */
function firstFd (req: IrqSetRequest): number {
  if (req.count === 0 || req.data.length === 0) {
    fail('EINVAL', 'count-zero-eventfd', 'an EVENTFD trigger with count 0 has no fd (the pre-6.7 sample dereferences NULL)')
  }
  return req.data[0]
}

function armMsi (dev: Device, fd: number, fx: Effects): void {
  dev.msi.trigger[0] = fd
  dev.msi.allocate(0)
  dev.msi.enabledNvec = 1
  dev.irqType = 'msi'
  fx.vector(dev, false, 0)
}

function disarmMsi (dev: Device, fx: Effects): void {
  if (dev.msi.trigger[0] === NO_TRIGGER && dev.msi.allocated[0] === 0) return
  fx.vector(dev, false, 0)
  dev.msi.clear() // an mdev holds no host vector: nothing goes back to the pool
  fx.device(dev)
}

// ---- after the 6.7 rework: mtty_set_irqs() in torvalds/linux master ----

/** mtty_disable_intx(): drop the trigger, clear intx_mask, irq_index -1. */
function disableIntx (dev: Device, fx: Effects): void {
  if (dev.intx.trigger === NO_TRIGGER) return
  dev.intx.trigger = NO_TRIGGER
  dev.intx.masked = false
  dev.irqType = 'none'
  fx.device(dev)
}

/** mtty_disable_msi(). */
function disableMsi (world: World, dev: Device, fx: Effects): void {
  if (dev.msi.trigger[0] === NO_TRIGGER) return
  disarmMsi(dev, fx)
  dev.irqType = 'none'
}

function setIrqs67 (world: World, dev: Device, req: IrqSetRequest, fx: Effects): number {
  validateSetIrqs(dev, req, () => numIrqs(dev))
  const { flags, index, start, count } = req
  const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK
  const intx = dev.irqType === 'intx'
  const msi = dev.irqType === 'msi'
  const noirq = !intx && !msi
  if (index === VFIO_PCI_INTX_IRQ_INDEX) {
    if (action === VFIO_IRQ_SET_ACTION_MASK || action === VFIO_IRQ_SET_ACTION_UNMASK) {
      if (!intx || start !== 0 || count !== 1) fail('EINVAL', 'intx-range', 'mtty masks INTx only while it is enabled, with start 0 and count 1')
      if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) fail('ENOTTY', 'mask-eventfd-unsupported', 'mtty has no mask or unmask eventfd')
      if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0 || req.data[0] !== 0) {
        const masked = action === VFIO_IRQ_SET_ACTION_MASK
        if (dev.intx.masked !== masked) {
          dev.intx.masked = masked // intx_mask; an unmask delivers nothing by itself
          fx.device(dev)
        }
      }
      return 0
    }
    if (action !== VFIO_IRQ_SET_ACTION_TRIGGER) return 0 // no case in the switch: ret stays 0
    if (intx && count === 0 && (flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
      disableIntx(dev, fx)
      return 0
    }
    if (!(intx || noirq) || start !== 0 || count !== 1) fail('EINVAL', 'intx-range', 'mtty enables INTx with start 0 and count 1, while MSI is off')
    if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
      const fd = req.data[0]
      disableIntx(dev, fx) // before the fd is looked up: EBADF leaves INTx disabled
      if (fd < 0) return 0
      dev.intx.trigger = world.eventfds.lookup(fd, dev.owner).fd
      dev.irqType = 'intx'
      fx.device(dev)
      return 0
    }
    if (!intx) fail('EINVAL', 'intx-not-enabled', 'INTx loopback needs INTx enabled')
    if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0 || ((flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && req.data[0] !== 0)) {
      // mtty_trigger_interrupt(): signal unless masked, then mask.
      if (!dev.intx.masked && dev.intx.trigger !== NO_TRIGGER) {
        world.irq.signalTrigger(dev, dev.intx.trigger, fx)
        dev.intx.masked = true
        fx.device(dev)
      }
    }
    return 0
  }
  if (index === VFIO_PCI_MSI_IRQ_INDEX) {
    if (action === VFIO_IRQ_SET_ACTION_MASK || action === VFIO_IRQ_SET_ACTION_UNMASK) {
      fail('ENOTTY', 'no-handler', 'mtty cannot mask MSI')
    }
    if (action !== VFIO_IRQ_SET_ACTION_TRIGGER) return 0
    if (msi && count === 0 && (flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
      disableMsi(world, dev, fx)
      return 0
    }
    if (!(msi || noirq) || start !== 0 || count !== 1) fail('EINVAL', 'msi-range', 'mtty enables MSI with start 0 and count 1, while INTx is off')
    if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
      const fd = req.data[0]
      disableMsi(world, dev, fx)
      if (fd < 0) return 0
      armMsi(dev, world.eventfds.lookup(fd, dev.owner).fd, fx)
      return 0
    }
    if (!msi) fail('EINVAL', 'index-not-enabled', 'MSI loopback needs MSI enabled')
    if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0 || ((flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && req.data[0] !== 0)) {
      world.irq.signalTrigger(dev, dev.msi.trigger[0], fx)
    }
    return 0
  }
  fail('ENOTTY', 'no-handler', `mtty has no handler for index ${index}`) // MSI-X, ERR, REQ
}

// ---- before the 6.7 rework: mtty_set_irqs() as 5.10 and 6.1 ship it ----

function setIrqsPre67 (world: World, dev: Device, req: IrqSetRequest, fx: Effects): number {
  validateSetIrqs(dev, req, () => numIrqs(dev))
  const { flags, index } = req
  const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK
  // MASK, UNMASK, zero or several action bits: `break`, ret 0. MSI-X, ERR, REQ: a pr_info, ret 0.
  if (action !== VFIO_IRQ_SET_ACTION_TRIGGER || (index !== VFIO_PCI_INTX_IRQ_INDEX && index !== VFIO_PCI_MSI_IRQ_INDEX)) return 0
  if (index === VFIO_PCI_INTX_IRQ_INDEX) {
    if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
      // "disable INTx": eventfd_ctx_put(intx_evtfd), whatever the count; irq_index stays.
      if ((dev.driverState & MTTY_INTX_PUT) !== 0) {
        fail('EINVAL', 'intx-already-disabled', 'INTx was disabled already (a second put oopses the pre-6.7 sample; 6.7+ answers EINVAL)')
      }
      if (dev.intx.trigger !== NO_TRIGGER) {
        dev.intx.trigger = NO_TRIGGER
        fx.device(dev)
        setState(dev, MTTY_INTX_PUT, true, fx)
      }
      return 0
    }
    if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
      const fd = firstFd(req)
      if (fd <= 0) return 0 // `if (fd > 0)`: -1 and 0 keep the old trigger
      dev.intx.trigger = world.eventfds.lookup(fd, dev.owner).fd
      dev.irqType = 'intx'
      fx.device(dev)
      setState(dev, MTTY_INTX_PUT, false, fx)
    }
    return 0 // BOOL: nothing (loopback signals nothing)
  }
  if ((flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    // "disable MSI": put msi_evtfd if set (never cleared), irq_index = INTx, whatever the count.
    if ((dev.driverState & MTTY_MSI_PUT) !== 0) {
      fail('EINVAL', 'msi-already-disabled', 'MSI was disabled already (a second put oopses the pre-6.7 sample; 6.7+ answers EINVAL)')
    }
    if ((dev.driverState & MTTY_MSI_ARMED) !== 0) {
      disarmMsi(dev, fx)
      setState(dev, MTTY_MSI_PUT, true, fx)
    }
    if (dev.irqType !== 'intx') {
      dev.irqType = 'intx'
      fx.device(dev)
    }
    return 0
  }
  if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    const fd = firstFd(req)
    if (fd <= 0 || (dev.driverState & MTTY_MSI_ARMED) !== 0) return 0 // armed once: nothing changes
    armMsi(dev, world.eventfds.lookup(fd, dev.owner).fd, fx) // irq_index = MSI, even over INTx
    setState(dev, MTTY_MSI_ARMED, true, fx)
  }
  return 0
}

/** mtty_reset(): answers 0 (no RESET flag needed) and keeps the interrupt configuration. */
function reset (world: World, dev: Device, fx: Effects): void {
  world.lowerIntxLine(dev, fx)
}

const COMMON = {
  driver: 'mtty',
  hostVectors: HOST_VECTORS.mtty,
  info,
  onGetInfo,
  reset
} as const

const MTTY_PRE_67: DriverOps = {
  ...COMMON,
  source: 'samples/vfio-mdev/mtty.c before commit 293fbc288181 (Linux 5.10, 6.1): mtty_ioctl, mtty_get_irq_info, mtty_set_irqs',
  intxAutomask: false, // mtty_trigger_interrupt() signalled intx_evtfd without masking
  irqInfo: irqInfo(true),
  setIrqs: setIrqsPre67
}

const MTTY_67: DriverOps = {
  ...COMMON,
  source: 'samples/vfio-mdev/mtty.c since 6.7 (torvalds/linux master): mtty_ioctl, mtty_get_irq_info, mtty_set_irqs',
  intxAutomask: true, // mtty_trigger_interrupt(): signal unless intx_mask, then set it
  irqInfo: irqInfo(false),
  setIrqs: setIrqs67
}

export function mttyOps (era: 'pre-6.7' | '6.7+'): DriverOps {
  return era === 'pre-6.7' ? MTTY_PRE_67 : MTTY_67
}
