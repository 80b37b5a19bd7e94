/**
 * Interrupt counters of one IRQ index, one slot per vector, in typed arrays so that the
 * interrupt path adds without allocating. Float64 counts exactly up to 2^53.
 */
export const LOST_REASONS = ['index-disabled', 'not-allocated', 'no-trigger'] as const
export type LostReason = (typeof LOST_REASONS)[number]

export class IrqCounters {
  readonly size: number
  readonly fired: Float64Array
  readonly delivered: Float64Array
  /** Lost interrupts, by reason: LOST_REASONS[i] -> lost[i]. */
  readonly lost: readonly [Float64Array, Float64Array, Float64Array]

  constructor (size: number) {
    this.size = size
    this.fired = new Float64Array(size)
    this.delivered = new Float64Array(size)
    this.lost = [new Float64Array(size), new Float64Array(size), new Float64Array(size)]
  }

  lostTotal (v: number): number {
    return this.lost[0][v] + this.lost[1][v] + this.lost[2][v]
  }
}

export const LOST_INDEX_DISABLED = 0
export const LOST_NOT_ALLOCATED = 1
export const LOST_NO_TRIGGER = 2
