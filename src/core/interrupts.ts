import { VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './constants.ts'
import { LOST_INDEX_DISABLED, LOST_NO_TRIGGER, LOST_NOT_ALLOCATED } from './counters.ts'
import type { Device } from './device.ts'
import type { Effects } from './effects.ts'
import { NO_TRIGGER } from './vectors.ts'
import type { World } from './world.ts'

// Device-originated interrupts (docs/model.md 7): what the hardware does, not an ioctl.
// These run on the hot path: no allocation, counters in typed arrays, changes recorded in a
// long-lived Effects that the store flushes on a timer.

/** What firing answered; one reusable object per caller, so the hot path allocates nothing. */
export class FireTally {
  fired = 0
  delivered = 0
  lost = 0
  /** Set a clear pending bit of a masked vector (docs/model.md 11.2). */
  pended = 0
  /** Joined a pending message already latched. fired = delivered + lost + pended + coalesced. */
  coalesced = 0

  reset (): this {
    this.fired = 0
    this.delivered = 0
    this.lost = 0
    this.pended = 0
    this.coalesced = 0
    return this
  }
}

/**
 * MSI/MSI-X vector `v` fires `n` times. The caller has checked v < count(index).
 * Model section 7; where the vector has a mask bit (every MSI-X vector, MSI with per-vector
 * masking) section 11.2: unmasked -> delivered; masked -> the first fire sets the pending
 * bit, the others coalesce into it. A disabled index pends nothing: index-disabled.
 */
export function fireVector (world: World, dev: Device, index: number, v: number, n: number, fx: Effects, tally: FireTally): void {
  const msix = index === VFIO_PCI_MSIX_IRQ_INDEX
  const table = msix ? dev.msix : dev.msi
  const c = dev.counters[index]
  const totals = world.totals
  fx.countersOf(dev)
  c.touch(v)
  c.fired[v] += n
  totals.fired[index] += n
  tally.fired += n
  let lost = -1
  const masking = msix || (index === VFIO_PCI_MSI_IRQ_INDEX && dev.caps.msiPerVectorMask === true)
  if (dev.irqType !== (msix ? 'msix' : 'msi')) lost = LOST_INDEX_DISABLED
  else if (masking) {
    if (table.trigger[v] === NO_TRIGGER || table.userMask[v] !== 0) {
      let joined = n
      if (c.pending[v] === 0) {
        c.pending[v] = 1
        c.pended[v] += 1
        totals.pended[index] += 1
        totals.pending[index] += 1
        tally.pended += 1
        joined = n - 1
      }
      c.coalesced[v] += joined
      totals.coalesced[index] += joined
      tally.coalesced += joined
      return
    }
  } else if (table.allocated[v] === 0) lost = LOST_NOT_ALLOCATED
  else if (table.trigger[v] === NO_TRIGGER) lost = LOST_NO_TRIGGER
  if (lost < 0) {
    const efd = world.eventfds.get(table.trigger[v], dev.owner)
    if (efd !== undefined) {
      world.signal(efd, n, fx)
      c.delivered[v] += n
      totals.delivered[index] += n
      tally.delivered += n
      return
    }
    lost = LOST_NO_TRIGGER
  }
  c.lost[lost][v] += n
  totals.lost[lost][index] += n
  tally.lost += n
}

export type IntxLevel = 'assert' | 'deassert' | 'pulse'

/**
 * INTx is a level. Raising it while INTx is enabled and unmasked automasks and signals the
 * trigger. While masked it stays pending on the line and the unmask delivers it; a pulse
 * (raise and lower at once) while masked is therefore never seen, as with real hardware.
 * With INTx disabled, a raise is lost (index-disabled).
 */
export function driveIntx (world: World, dev: Device, level: IntxLevel, fx: Effects, tally: FireTally): void {
  const c = dev.counters[0]
  fx.countersOf(dev)
  c.touch(0)
  const fired = c.fired[0]
  const delivered = c.delivered[0]
  const lost = c.lostTotal(0)
  if (level !== 'deassert' && (!dev.intx.line || level === 'pulse')) {
    dev.intx.line = true
    fx.device(dev)
    if (dev.irqType !== 'intx') {
      c.fired[0] += 1
      c.lost[LOST_INDEX_DISABLED][0] += 1
      world.totals.fired[0] += 1
      world.totals.lost[LOST_INDEX_DISABLED][0] += 1
    } else if (!dev.intx.masked) {
      world.raiseIntx(dev, fx)
    }
  }
  if (level !== 'assert' && dev.intx.line) {
    dev.intx.line = false
    fx.device(dev)
  }
  tally.fired += c.fired[0] - fired
  tally.delivered += c.delivered[0] - delivered
  tally.lost += c.lostTotal(0) - lost
}

/** ERR (an AER error) or REQ (the host wants the device back). */
export function fireErrReq (world: World, dev: Device, index: number, n: number, fx: Effects, tally: FireTally): void {
  const c = dev.counters[index]
  const totals = world.totals
  const trigger = index === VFIO_PCI_ERR_IRQ_INDEX ? dev.errTrigger : dev.reqTrigger
  fx.countersOf(dev)
  c.touch(0)
  c.fired[0] += n
  totals.fired[index] += n
  tally.fired += n
  const efd = trigger === NO_TRIGGER ? undefined : world.eventfds.get(trigger, dev.owner)
  if (efd === undefined) {
    c.lost[LOST_NO_TRIGGER][0] += n
    totals.lost[LOST_NO_TRIGGER][index] += n
    tally.lost += n
    return
  }
  world.signal(efd, n, fx)
  c.delivered[0] += n
  totals.delivered[index] += n
  tally.delivered += n
}
