import { VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './constants.ts'
import { LOST_INDEX_DISABLED, LOST_NO_TRIGGER, LOST_NOT_ALLOCATED, LOST_REASONS } from './counters.ts'
import { snapshotDevice, unchangedSince } from './device.ts'
import { OwnerFdMap, type Eventfd } from './eventfds.ts'
import type * as ModelTypes from './model-types.ts'
import type { Device, Effects, World } from './model-types.ts'
import { NO_TRIGGER } from './vectors.ts'

// The interrupt path (docs/model.md 7, 5.1, 11.2): what happens when a device fires or an
// eventfd is signalled, as vfio_pci_intrs.c's handlers do it: deliver or count the loss,
// latch a pending bit, automask INTx and unmask it from its virqfd. Everything that signals
// goes through here: the fire entry points below, and SET_IRQS handlers through world.irq.
// It runs on the hot path: no allocation, counters in typed arrays, changes recorded in a
// long-lived Effects that the store flushes on a timer.

/**
 * One World's signal and INTx machinery: eventfd_signal(), the INTx handler (automask, then
 * signal), mask and unmask, and the virqfds (unmask eventfds) that unmask a line when written.
 */
export class InterruptPath implements ModelTypes.InterruptPath {
  private readonly world: World
  /** (owner, eventfd number) -> devices whose INTx it unmasks (the virqfds). */
  private readonly unmaskWatchers = new OwnerFdMap<Set<Device>>()
  private inUnmaskWakeup = false

  constructor (world: World) {
    this.world = world
  }

  /** Signal a device's trigger (a number in its owner's table) if there is one. Returns whether anything was signalled. */
  signalTrigger (dev: Device, fd: number, fx: Effects): boolean {
    if (fd === NO_TRIGGER) return false
    const efd = this.world.eventfds.get(fd, dev.owner)
    if (efd === undefined) return false
    this.signal(efd, 1, fx)
    return true
  }

  /** eventfd_signal(); an unmask eventfd (virqfd) then unmasks its INTx (and consumes the value). */
  signal (efd: Eventfd, n: number, fx: Effects): void {
    this.world.eventfds.signal(efd, n)
    fx.eventfd(efd)
    this.wakeUnmaskWatchers(efd, fx)
  }

  /**
   * The virqfd wakeup, after a signal or a write(2). An eventfd that is both a line's trigger
   * and its unmask eventfd would loop (raise, signal, unmask, raise...): like the kernel, which
   * refuses an eventfd signal from inside an eventfd wakeup, a signal made while the watchers
   * run adds to the counter but does not run them again.
   */
  wakeUnmaskWatchers (efd: Eventfd, fx: Effects): void {
    if (this.unmaskWatchers.empty) return
    const watchers = this.unmaskWatchers.get(efd.owner, efd.fd)
    if (watchers === undefined || this.inUnmaskWakeup) return
    this.inUnmaskWakeup = true
    try {
      // The virqfd consumes the value (5.10's left it in the counter: docs/model.md 5.1).
      let consume = false
      for (const dev of watchers) consume ||= dev.profile.unmaskEventfdConsumesValue
      if (consume) this.world.eventfds.read(efd)
      for (const dev of watchers) {
        // An unmask of a line the device still drives masks it again at once (automask): the
        // interrupt path, not a configuration change, so it must not bump the version.
        const had = fx.devices.has(dev)
        const before = had ? undefined : snapshotDevice(dev)
        this.unmaskIntx(dev, fx)
        if (before !== undefined && unchangedSince(before, dev)) fx.devices.delete(dev)
      }
    } finally {
      this.inUnmaskWakeup = false
    }
  }

  get watchesUnmask (): boolean {
    return !this.unmaskWatchers.empty
  }

  /** The device's INTx is unmasked when eventfd `fd` (its owner's) is signalled or written. */
  watchUnmask (dev: Device, fd: number): void {
    let watchers = this.unmaskWatchers.get(dev.owner, fd)
    if (watchers === undefined) {
      watchers = new Set()
      this.unmaskWatchers.set(dev.owner, fd, watchers)
    }
    watchers.add(dev)
  }

  unwatchUnmask (dev: Device, fd: number): void {
    const watchers = this.unmaskWatchers.get(dev.owner, fd)
    watchers?.delete(dev)
    if (watchers?.size === 0) this.unmaskWatchers.delete(dev.owner, fd)
  }

  maskIntx (dev: Device, fx: Effects): void {
    this.world.beforeIntxChange?.(dev)
    if (dev.intx.masked) return
    dev.intx.masked = true
    fx.device(dev)
  }

  /** Unmask; a line the device still drives masks again at once and is delivered again. */
  unmaskIntx (dev: Device, fx: Effects): void {
    this.world.beforeIntxChange?.(dev)
    if (dev.irqType !== 'intx' || !dev.intx.masked) return
    dev.intx.masked = false
    fx.device(dev)
    if (dev.intx.line) this.raiseIntx(dev, fx)
  }

  /**
   * The INTx handler (vfio_intx_handler): automask, then signal the trigger. Every raise is an
   * interrupt at the host, so it is counted here whether an assert, an enable or an unmask
   * caused it.
   */
  raiseIntx (dev: Device, fx: Effects): void {
    this.world.beforeIntxChange?.(dev)
    if (dev.ops.intxAutomask) {
      dev.intx.masked = true
      fx.device(dev)
    }
    const c = dev.counters[0]
    const totals = this.world.totals
    fx.countersOf(dev)
    c.touch(0)
    c.fired[0] += 1
    totals.fired[0] += 1
    if (this.signalTrigger(dev, dev.intx.trigger, fx)) {
      c.delivered[0] += 1
      totals.delivered[0] += 1
    } else {
      c.lost[LOST_NO_TRIGGER][0] += 1
      totals.lost[LOST_NO_TRIGGER][0] += 1
    }
  }
}

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
 * What one vector's fire did (fireVectors' `outcomes`): delivered, set the pending bit (the
 * fires after the first coalesce into it), coalesced into a pending bit already set, or lost
 * for reason r (LOST_REASONS[r]): FIRE_LOST + r.
 */
export const FIRE_DELIVERED = 0
export const FIRE_PENDED = 1
export const FIRE_COALESCED = 2
export const FIRE_LOST = 3
const FIRE_OUTCOMES = FIRE_LOST + LOST_REASONS.length

/** Adds `k` fires of `n` interrupts each that did `outcome` to the totals and the tally. */
function countOutcome (totals: World['totals'], tally: FireTally, index: number, outcome: number, k: number, n: number): void {
  const all = k * n
  totals.fired[index] += all
  tally.fired += all
  switch (outcome) {
    case FIRE_DELIVERED:
      totals.delivered[index] += all
      tally.delivered += all
      return
    case FIRE_PENDED:
      // Each set a pending bit; the rest of its n joined it.
      totals.pended[index] += k
      totals.pending[index] += k
      tally.pended += k
      totals.coalesced[index] += all - k
      tally.coalesced += all - k
      return
    case FIRE_COALESCED:
      totals.coalesced[index] += all
      tally.coalesced += all
      return
    default:
      totals.lost[outcome - FIRE_LOST][index] += all
      tally.lost += all
  }
}

/**
 * MSI/MSI-X vector `v` fires `n` times. The caller has checked v < count(index).
 * docs/model.md 7; where the vector has a mask bit (every MSI-X vector, MSI with per-vector
 * masking) 11.2: unmasked -> delivered; masked -> the first fire sets the pending
 * bit, the others coalesce into it. A disabled index pends nothing: index-disabled.
 */
export function fireVector (world: World, dev: Device, index: number, v: number, n: number, fx: Effects, tally: FireTally): void {
  fx.countersOf(dev)
  const outcome = fireOne(world, dev, index, v, n, fx, world.eventfds.tableOf(dev.owner), fireMode(dev, index), null)
  countOutcome(world.totals, tally, index, outcome, 1, n)
}

/**
 * Each of `vs` fires once, in order (repeats fire again): what as many fireVector(..., 1, ...)
 * calls would do, with the device marked for the flush once and the totals and the tally
 * added to once per outcome. outcomes[i] gets what vs[i]'s fire did (FIRE_*), so that the
 * caller can count rates without a tally per vector; it must hold vs.length bytes. The
 * caller has checked every vs[i] < count(index).
 */
export function fireVectors (world: World, dev: Device, index: number, vs: ArrayLike<number>, fx: Effects, tally: FireTally, outcomes: Uint8Array): void {
  if (vs.length === 0) return
  fx.countersOf(dev)
  // Firing creates and closes no eventfd: the owner's table is looked up once.
  // Nor does it enable, disable or resize an index: how its vectors fire is found once.
  const fds = world.eventfds.tableOf(dev.owner)
  const mode = fireMode(dev, index)
  // A virqfd runs on every signal of its eventfd (and may raise INTx each time): then each
  // vector signals as it fires. Otherwise the list's signals are summed per eventfd.
  const batch = world.irq.watchesUnmask ? null : signals
  const k = outcomeCounts.fill(0)
  try {
    for (let i = 0; i < vs.length; i++) {
      const o = fireOne(world, dev, index, vs[i], 1, fx, fds, mode, batch)
      outcomes[i] = o
      k[o] += 1
    }
  } finally {
    batch?.signalAll(world, fx)
    for (let o = 0; o < FIRE_OUTCOMES; o++) if (k[o] !== 0) countOutcome(world.totals, tally, index, o, k[o], 1)
  }
}

/** fireVectors' count of each outcome (lists are fired one at a time). */
const outcomeCounts = new Float64Array(FIRE_OUTCOMES)

/**
 * The signals of one vector list, summed per eventfd and made after the list, once per
 * eventfd in the order of each one's first signal. What each vector did is decided as it
 * fires (its eventfd exists, so it is delivered); only the counter's additions are grouped.
 * Nothing sees an eventfd between two signals of one list: its readers are woken from the
 * event loop (setImmediate, a promise), and a counter that goes from 0 to non-zero wakes them
 * once either way, in the same order. External eventfds (a vfio-user client's) get one
 * write of the sum instead of one per vector, which their reader cannot tell apart.
 * Saves the per-vector eventfd lookup and flush mark where consecutive vectors share an
 * eventfd (one eventfd for a whole queue, or for every vector).
 */
class SignalBatch {
  private readonly efds: Eventfd[] = []
  private sums = new Float64Array(64)
  private readonly slotOf = new Map<Eventfd, number>()
  /** The last eventfd looked up, by number: consecutive vectors often share one. */
  private lastFd = NO_TRIGGER
  private last: Eventfd | undefined
  private lastSlot = -1

  /** The owner's eventfd numbered `fd` (fds: the owner's table), remembered for addToLast(). */
  lookup (fds: ReadonlyMap<number, Eventfd> | undefined, fd: number): Eventfd | undefined {
    if (fd === this.lastFd) return this.last
    this.lastFd = fd
    const efd = this.last = fds?.get(fd)
    if (efd === undefined) return undefined
    let slot = this.slotOf.get(efd)
    if (slot === undefined) {
      slot = this.efds.length
      this.efds.push(efd)
      this.slotOf.set(efd, slot)
      if (slot === this.sums.length) {
        const grown = new Float64Array(2 * slot)
        grown.set(this.sums)
        this.sums = grown
      }
      this.sums[slot] = 0
    }
    this.lastSlot = slot
    return efd
  }

  /** Adds n signals to the eventfd the last lookup() found. */
  addToLast (n: number): void {
    this.sums[this.lastSlot] += n
  }

  signalAll (world: World, fx: Effects): void {
    const { efds, sums } = this
    this.lastFd = NO_TRIGGER
    this.last = undefined
    this.slotOf.clear()
    try {
      for (let i = 0; i < efds.length; i++) world.irq.signal(efds[i], sums[i], fx)
    } finally {
      efds.length = 0
    }
  }
}

/** One batch serves every list: lists are fired one at a time, each to the end. */
const signals = new SignalBatch()

/** How an index's vectors fire now: its index is disabled, they have mask bits, or neither. */
const FIRE_DISABLED = 0
const FIRE_MASKABLE = 1
const FIRE_PLAIN = 2

function fireMode (dev: Device, index: number): number {
  const msix = index === VFIO_PCI_MSIX_IRQ_INDEX
  if (dev.irqType !== (msix ? 'msix' : 'msi')) return FIRE_DISABLED
  return msix || (index === VFIO_PCI_MSI_IRQ_INDEX && dev.caps.msiPerVectorMask === true) ? FIRE_MASKABLE : FIRE_PLAIN
}

/**
 * fireVector without marking the device or counting the totals and the tally, `fds` the
 * owner's eventfds and `mode` fireMode(): the vector's counters, its pending bit and the
 * signal; returns what the fire did (FIRE_*), for the caller to count.
 */
function fireOne (world: World, dev: Device, index: number, v: number, n: number, fx: Effects,
  fds: ReadonlyMap<number, Eventfd> | undefined, mode: number, batch: SignalBatch | null): number {
  const table = index === VFIO_PCI_MSIX_IRQ_INDEX ? dev.msix : dev.msi
  const c = dev.counters[index]
  c.touch(v)
  c.fired[v] += n
  let lost = -1
  if (mode === FIRE_DISABLED) lost = LOST_INDEX_DISABLED
  else if (mode === FIRE_MASKABLE) {
    if (table.trigger[v] === NO_TRIGGER || table.userMask[v] !== 0) {
      if (c.pending[v] === 0) {
        c.pending[v] = 1
        c.pended[v] += 1
        if (n > 1) c.coalesced[v] += n - 1
        return FIRE_PENDED
      }
      c.coalesced[v] += n
      return FIRE_COALESCED
    }
  } else if (table.allocated[v] === 0) lost = LOST_NOT_ALLOCATED
  else if (table.trigger[v] === NO_TRIGGER) lost = LOST_NO_TRIGGER
  if (lost < 0) {
    const efd = batch === null ? fds?.get(table.trigger[v]) : batch.lookup(fds, table.trigger[v])
    if (efd !== undefined) {
      if (batch === null) world.irq.signal(efd, n, fx)
      else batch.addToLast(n)
      c.delivered[v] += n
      return FIRE_DELIVERED
    }
    lost = LOST_NO_TRIGGER
  }
  c.lost[lost][v] += n
  return FIRE_LOST + lost
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
      world.irq.raiseIntx(dev, fx)
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
  const trigger = index === VFIO_PCI_ERR_IRQ_INDEX ? dev.errTrigger : dev.reqTrigger
  fx.countersOf(dev)
  c.touch(0)
  c.fired[0] += n
  const efd = trigger === NO_TRIGGER ? undefined : world.eventfds.get(trigger, dev.owner)
  if (efd === undefined) {
    c.lost[LOST_NO_TRIGGER][0] += n
    countOutcome(world.totals, tally, index, FIRE_LOST + LOST_NO_TRIGGER, 1, n)
    return
  }
  world.irq.signal(efd, n, fx)
  c.delivered[0] += n
  countOutcome(world.totals, tally, index, FIRE_DELIVERED, 1, n)
}
