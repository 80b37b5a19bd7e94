import { VFIO_PCI_NUM_IRQS } from './constants.ts'
import type { IrqCounters } from './counters.ts'

/**
 * Interrupt counters summed over every device, by index (and reason for lost ones), kept as
 * running totals where the per-vector counters change, so that reading them (metrics) costs
 * the same with ten devices or ten thousand. They only grow: a deleted device's interrupts
 * stay counted (until a restart, which starts again from the devices that remain).
 */
export class InterruptTotals {
  readonly fired = new Float64Array(VFIO_PCI_NUM_IRQS)
  readonly delivered = new Float64Array(VFIO_PCI_NUM_IRQS)
  /** lost[reason][index], reasons as in LOST_REASONS. */
  readonly lost: readonly [Float64Array, Float64Array, Float64Array] = [
    new Float64Array(VFIO_PCI_NUM_IRQS), new Float64Array(VFIO_PCI_NUM_IRQS), new Float64Array(VFIO_PCI_NUM_IRQS)
  ]

  /** Masked fires that set a pending bit, joined one, and pending messages sent on unmask (docs/model.md 11). */
  readonly pended = new Float64Array(VFIO_PCI_NUM_IRQS)
  readonly coalesced = new Float64Array(VFIO_PCI_NUM_IRQS)
  readonly deliveredFromPending = new Float64Array(VFIO_PCI_NUM_IRQS)
  /** Pending bits set now, over the devices that exist (a gauge: a deleted device's go away). */
  readonly pending = new Float64Array(VFIO_PCI_NUM_IRQS)
  /** Pending bits that went away with their deleted device (neither delivered nor lost). */
  readonly droppedPending = new Float64Array(VFIO_PCI_NUM_IRQS)

  /** Adds a restored device's counters (once, at load). */
  addRestored (counters: readonly IrqCounters[]): void {
    counters.forEach((c, index) => {
      if (!c.materialized) return // all zero
      for (let v = 0; v < c.size; v++) {
        this.fired[index] += c.fired[v]
        this.delivered[index] += c.delivered[v]
        for (let r = 0; r < 3; r++) this.lost[r][index] += c.lost[r][v]
        this.pended[index] += c.pended[v]
        this.coalesced[index] += c.coalesced[v]
        this.deliveredFromPending[index] += c.deliveredFromPending[v]
        this.pending[index] += c.pending[v]
      }
    })
  }

  /** A deleted device's pending bits are dropped with it (docs/model.md 11.3). */
  dropPending (counters: readonly IrqCounters[]): void {
    counters.forEach((c, index) => {
      if (!c.materialized) return // all zero
      for (let v = 0; v < c.size; v++) {
        this.pending[index] -= c.pending[v]
        this.droppedPending[index] += c.pending[v]
      }
    })
  }

  copyFrom (other: InterruptTotals): void {
    for (const key of ['fired', 'delivered', 'pended', 'coalesced', 'deliveredFromPending', 'pending', 'droppedPending'] as const) this[key].set(other[key])
    for (let r = 0; r < 3; r++) this.lost[r].set(other.lost[r])
  }
}
