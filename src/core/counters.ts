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
  /** Fires that set a clear pending bit of a masked vector (docs/model.md 11.2). */
  readonly pended: Float64Array
  /** Fires on a masked vector whose pending bit was already set: they join that message. */
  readonly coalesced: Float64Array
  /** Deliveries that sent a pending message when the vector was unmasked (docs/model.md 11.3). */
  readonly deliveredFromPending: Float64Array
  /**
   * The pending bits (MSI-X, and MSI with per-vector masking). The device's latch, so it
   * changes on the interrupt path and is persisted with the counters.
   * Per vector: fired = delivered + lost + coalesced + pending.
   */
  readonly pending: Uint8Array

  /** Vectors whose counters moved since they were last written, so a flush writes only those. */
  private readonly dirtyFlag: Uint8Array
  private readonly dirtyList: Int32Array
  private dirtyCount = 0

  constructor (size: number) {
    this.size = size
    this.fired = new Float64Array(size)
    this.delivered = new Float64Array(size)
    this.lost = [new Float64Array(size), new Float64Array(size), new Float64Array(size)]
    this.pended = new Float64Array(size)
    this.coalesced = new Float64Array(size)
    this.deliveredFromPending = new Float64Array(size)
    this.pending = new Uint8Array(size)
    this.dirtyFlag = new Uint8Array(size)
    this.dirtyList = new Int32Array(size)
  }

  touch (v: number): void {
    if (this.dirtyFlag[v] !== 0) return
    this.dirtyFlag[v] = 1
    this.dirtyList[this.dirtyCount++] = v
  }

  /** The vectors touched since the last clean(), in the order they were first touched. */
  touched (): Int32Array {
    return this.dirtyList.subarray(0, this.dirtyCount)
  }

  /** After the touched vectors are safely written. */
  clean (): void {
    for (let i = 0; i < this.dirtyCount; i++) this.dirtyFlag[this.dirtyList[i]] = 0
    this.dirtyCount = 0
  }

  lostTotal (v: number): number {
    return this.lost[0][v] + this.lost[1][v] + this.lost[2][v]
  }
}

export const LOST_INDEX_DISABLED = 0
export const LOST_NOT_ALLOCATED = 1
export const LOST_NO_TRIGGER = 2
