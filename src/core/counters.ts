/**
 * Interrupt counters of one IRQ index, one slot per vector, in typed arrays so that the
 * interrupt path adds without allocating. Float64 counts exactly up to 2^53.
 *
 * Memory follows use, not table size: until a vector of the index is first touched, its
 * columns are zero columns shared by every index of the same size (read-only by convention),
 * and the first touch() gives the index columns of its own, all in one ArrayBuffer. Most
 * vectors of most devices never fire; their counters then cost nothing per device. Hence the
 * one rule for writers: call touch(v) before writing any column of vector v.
 */
export const LOST_REASONS = ['index-disabled', 'not-allocated', 'no-trigger'] as const

/** The columns of one index, views on one buffer (eight Float64 columns, then the byte and int columns). */
interface Columns {
  readonly fired: Float64Array
  readonly delivered: Float64Array
  readonly lost: readonly [Float64Array, Float64Array, Float64Array]
  readonly pended: Float64Array
  readonly coalesced: Float64Array
  readonly deliveredFromPending: Float64Array
  readonly pending: Uint8Array
  readonly dirtyFlag: Uint8Array
  readonly dirtyList: Int32Array
}

function columns (size: number): Columns {
  // 8 Float64 columns, the Int32 list, then 2 byte columns: each view stays aligned.
  const buf = new ArrayBuffer(size * (8 * 8 + 4 + 2))
  const f64 = (i: number): Float64Array => new Float64Array(buf, i * size * 8, size)
  const ints = 8 * size * 8
  const bytes = ints + 4 * size
  return {
    fired: f64(0),
    delivered: f64(1),
    lost: [f64(2), f64(3), f64(4)],
    pended: f64(5),
    coalesced: f64(6),
    deliveredFromPending: f64(7),
    dirtyList: new Int32Array(buf, ints, size),
    pending: new Uint8Array(buf, bytes, size),
    dirtyFlag: new Uint8Array(buf, bytes + size, size)
  }
}

/** Shared zero columns, one set per table size in use (never written: see touch()). */
const ZEROS = new Map<number, Columns>()
function zeros (size: number): Columns {
  let z = ZEROS.get(size)
  if (z === undefined) {
    z = columns(size)
    ZEROS.set(size, z)
  }
  return z
}

export class IrqCounters {
  readonly size: number
  private cols: Columns
  /** Whether `cols` are this index's own (else the shared zeros). */
  private own = false

  constructor (size: number) {
    this.size = size
    this.cols = zeros(size)
  }

  get fired (): Float64Array { return this.cols.fired }
  get delivered (): Float64Array { return this.cols.delivered }
  /** Lost interrupts, by reason: LOST_REASONS[i] -> lost[i]. */
  get lost (): readonly [Float64Array, Float64Array, Float64Array] { return this.cols.lost }
  /** Fires that set a clear pending bit of a masked vector (docs/model.md 11.2). */
  get pended (): Float64Array { return this.cols.pended }
  /** Fires on a masked vector whose pending bit was already set: they join that message. */
  get coalesced (): Float64Array { return this.cols.coalesced }
  /** Deliveries that sent a pending message when the vector was unmasked (docs/model.md 11.3). */
  get deliveredFromPending (): Float64Array { return this.cols.deliveredFromPending }
  /**
   * The pending bits (MSI-X, and MSI with per-vector masking). The device's latch, so it
   * changes on the interrupt path and is persisted with the counters.
   * Per vector: fired = delivered + lost + coalesced + pending.
   */
  get pending (): Uint8Array { return this.cols.pending }

  /** Whether this index has columns of its own (some vector was touched): otherwise every counter is 0. */
  get materialized (): boolean {
    return this.own
  }

  /** Gives the index columns of its own (zero), so that they can be written. */
  materialize (): void {
    if (this.own) return
    this.cols = columns(this.size)
    this.own = true
  }

  /** Before any column of vector v is written: marks it for the next flush (and gives the index its own columns). */
  touch (v: number): void {
    if (!this.own) this.materialize()
    const cols = this.cols
    if (cols.dirtyFlag[v] !== 0) return
    cols.dirtyFlag[v] = 1
    cols.dirtyList[this.dirtyCount++] = v
  }

  /** Vectors whose counters moved since they were last written, so a flush writes only those. */
  private dirtyCount = 0

  /** The vectors touched since the last clean(), in the order they were first touched. */
  touched (): Int32Array {
    return this.cols.dirtyList.subarray(0, this.dirtyCount)
  }

  /** After the touched vectors are safely written. */
  clean (): void {
    const { dirtyFlag, dirtyList } = this.cols
    for (let i = 0; i < this.dirtyCount; i++) dirtyFlag[dirtyList[i]] = 0
    this.dirtyCount = 0
  }

  lostTotal (v: number): number {
    const lost = this.cols.lost
    return lost[0][v] + lost[1][v] + lost[2][v]
  }
}

export const LOST_INDEX_DISABLED = 0
export const LOST_NOT_ALLOCATED = 1
export const LOST_NO_TRIGGER = 2
