import type { Device } from '../core/device.ts'
import type { Effects } from '../core/effects.ts'
import { EVENTFD_MAX_VALUE, OwnerFdMap, type Eventfd } from '../core/eventfds.ts'
import type { World } from '../core/world.ts'

/** INTx counters of vector 0: fired, delivered, lost by reason. */
const intxCounters = (dev: Device): Float64Array => {
  const c = dev.counters[0]
  return c.size === 0 ? new Float64Array(5) : Float64Array.of(c.fired[0], c.delivered[0], c.lost[0][0], c.lost[1][0], c.lost[2][0])
}

/**
 * What the operations of the pending batch did to interrupt-path state (eventfd counters,
 * interrupt counters, INTx mask and line), so that a failed commit undoes exactly them and
 * keeps everything the interrupt path did before, between and after them. The model tells it
 * before each change (EventfdTable.beforeChange, World.beforeIntxChange); an operation runs
 * synchronously, so the difference across it is its own.
 */
export class UndoJournal {
  /** Per (owner, eventfd number): what the batch's operations added to its counter (negative: took). */
  readonly eventfdDelta = new OwnerFdMap<number>()
  /** Per device id: its INTx mask and line before the batch first changed them. */
  readonly intxBefore = new Map<string, { masked: boolean, line: boolean }>()
  /** Per device id: what the batch's operations added to its INTx counters. */
  readonly intxDelta = new Map<string, Float64Array>()
  private readonly opEventfds = new Map<Eventfd, number>()
  private readonly opDevices = new Map<Device, Float64Array>()
  readonly beforeEventfd = (efd: Eventfd): void => {
    if (!this.opEventfds.has(efd)) this.opEventfds.set(efd, efd.value)
  }

  readonly beforeIntx = (dev: Device): void => {
    if (!this.intxBefore.has(dev.id)) this.intxBefore.set(dev.id, { masked: dev.intx.masked, line: dev.intx.line })
    if (!this.opDevices.has(dev)) this.opDevices.set(dev, intxCounters(dev))
  }

  /** After an operation (done or thrown): fold its own changes into the batch's. */
  endOp (): void {
    for (const [efd, before] of this.opEventfds) {
      this.eventfdDelta.set(efd.owner, efd.fd, (this.eventfdDelta.get(efd.owner, efd.fd) ?? 0) + efd.value - before)
    }
    for (const [dev, before] of this.opDevices) {
      const after = intxCounters(dev)
      const sum = this.intxDelta.get(dev.id) ?? new Float64Array(5)
      for (let i = 0; i < 5; i++) sum[i] += after[i] - before[i]
      this.intxDelta.set(dev.id, sum)
    }
    this.opEventfds.clear()
    this.opDevices.clear()
  }

  clear (): void {
    this.eventfdDelta.clear()
    this.intxBefore.clear()
    this.intxDelta.clear()
  }
}

/**
 * After a failed batch, `fresh` is the model as last committed and `old` the model in memory.
 * `fresh` takes the interrupt-path state of `old` (eventfd counters, interrupt counters and
 * totals, INTx mask and line) minus what the batch's own operations did to it (`journal`):
 * fires, stream reads and reads answered before are acknowledged, and a failed commit of
 * another operation must not take them back. `deleted` holds the devices the batch deleted,
 * whose counters in memory are newer than SQLite's. What then differs from SQLite is queued
 * in `hot` for the flusher.
 */
export function carryInterruptPath (old: World, fresh: World, journal: UndoJournal, deleted: ReadonlyMap<string, Device>, hot: Effects): void {
  const { eventfdDelta, intxBefore, intxDelta } = journal
  for (const efd of fresh.eventfds.values()) {
    const was = old.eventfds.get(efd.fd, efd.owner)
    if (was === undefined) continue // deleted by the batch: back as committed
    const value = Math.min(EVENTFD_MAX_VALUE, Math.max(0, was.value - (eventfdDelta.get(efd.owner, efd.fd) ?? 0)))
    if (value === efd.value) continue
    efd.value = value
    hot.eventfd(efd)
  }
  fresh.eventfds.signals = old.eventfds.signals
  // The running totals are the interrupt path's too (and keep deleted devices' counts).
  fresh.totals.copyFrom(old.totals)
  for (const dev of fresh.devices.values()) {
    const was = old.devices.get(dev.id) ?? deleted.get(dev.id)
    if (was === undefined) continue
    const intx = intxBefore.get(dev.id) ?? was.intx
    if (dev.intx.masked !== intx.masked || dev.intx.line !== intx.line) {
      dev.intx.masked = intx.masked
      dev.intx.line = intx.line
      hot.device(dev)
    }
    const delta = intxDelta.get(dev.id)
    dev.counters.forEach((c, index) => {
      const from = was.counters[index]
      if (!from.materialized && !c.materialized) return // both all zero
      c.materialize()
      // The INTx delta (index 0) covers the first five; MSI/MSI-X pending state is never in a batch's undo.
      const arrays = [[c.fired, from.fired], [c.delivered, from.delivered], [c.lost[0], from.lost[0]], [c.lost[1], from.lost[1]], [c.lost[2], from.lost[2]],
        [c.pended, from.pended], [c.coalesced, from.coalesced], [c.deliveredFromPending, from.deliveredFromPending], [c.pending, from.pending]] as const
      for (let v = 0; v < c.size && v < from.size; v++) {
        let moved = false
        arrays.forEach(([to, mem], k) => {
          const value = mem[v] - (index === 0 && v === 0 && delta !== undefined && k < delta.length ? delta[k] : 0)
          if (to[v] !== value) {
            to[v] = value
            moved = true
          }
        })
        if (moved) {
          c.touch(v)
          hot.countersOf(dev)
        }
      }
    })
  }
}
