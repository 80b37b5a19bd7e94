import type { Device } from '../core/device.ts'
import { FIRE_DELIVERED, FIRE_LOST, FIRE_PENDED } from '../core/interrupts.ts'

// Interrupt rates: fired / delivered / lost / pended per second over the last ten minutes, per
// device and per vector, in fixed one-second ring buckets. A fire adds into the bucket of the
// current second (an index computation and four adds); nothing is allocated per interrupt.
// A vector's ring is allocated the first time it (or one of its chunk's vectors) fires, once.

export const RATE_SECONDS = 600
const RATE_METRICS = ['fired', 'delivered', 'lost', 'pended'] as const
export type RateMetric = (typeof RATE_METRICS)[number]
const M = RATE_METRICS.length

/** The current second on the epoch clock. */
export const nowSecond = (): number => Math.floor(Date.now() / 1000)

/**
 * One ring: RATE_SECONDS buckets of the four metrics, second-major (a second's four counts are
 * adjacent, `data[bucket * 4 + metric]`), so that an add touches one cache line. A device's
 * totals are one ring; its vectors' are VectorRings below. `head` is the newest second
 * written; buckets of seconds after it hold stale data and read as 0 (cleared when the ring
 * advances).
 */
export class RateRing {
  readonly data: Float64Array
  head = -1

  constructor (data: Float64Array) {
    this.data = data
  }

  add (sec: number, fired: number, delivered: number, lost: number, pended: number): void {
    if (sec > this.head) this.advance(sec)
    // A clock that stepped back lands in the newest bucket rather than in the past.
    const i = ((sec < this.head ? this.head : sec) % RATE_SECONDS) * M
    const d = this.data
    d[i] += fired
    d[i + 1] += delivered
    d[i + 2] += lost
    d[i + 3] += pended
  }

  private advance (sec: number): void {
    const from = this.head < 0 || sec - this.head >= RATE_SECONDS ? sec - RATE_SECONDS + 1 : this.head + 1
    for (let s = from; s <= sec; s++) {
      const i = (s % RATE_SECONDS) * M
      for (let m = 0; m < M; m++) this.data[i + m] = 0
    }
    this.head = sec
  }

  /** The value of one metric at one second (0 outside the last ten minutes of the ring). */
  at (m: number, sec: number): number {
    if (sec > this.head || sec <= this.head - RATE_SECONDS || this.head < 0) return 0
    return this.data[(sec % RATE_SECONDS) * M + m]
  }

  /** `seconds` values of each metric ending at second `end` (inclusive), oldest first. */
  series (end: number, seconds: number): Record<RateMetric, number[]> {
    const out = { fired: [] as number[], delivered: [] as number[], lost: [] as number[], pended: [] as number[] }
    for (let s = end - seconds + 1; s <= end; s++) {
      out.fired.push(this.at(0, s))
      out.delivered.push(this.at(1, s))
      out.lost.push(this.at(2, s))
      out.pended.push(this.at(3, s))
    }
    return out
  }

  /** Whether anything was recorded in the last ten minutes before `now`. */
  active (now: number): boolean {
    return this.head > now - RATE_SECONDS
  }

  get bytes (): number {
    return this.data.byteLength
  }
}

/** Vectors per chunk of an index's rings: one second of 4 vectors' 4 Float32 counts is one 64-byte cache line. */
const VPC = 4
/** Floats in one second's bucket of a chunk. */
const BUCKET = VPC * M

/**
 * One index's vector rings, in chunks of VPC consecutive vectors: a chunk holds RATE_SECONDS
 * buckets, and a bucket the four counts of each of its vectors (Float32: exact up to 16.7
 * million per second per vector, close beyond), `data[bucket * 16 + (v % 4) * 4 + metric]`.
 * A list of vectors fired in one second (0, 1, 2, ...) then writes one cache line per four
 * vectors, with no object per vector on the way: a ring of its own per vector cost a cache
 * miss or three per vector (the ring, its typed array, its bucket) once a thousand of them
 * no longer fit in the caches between two requests. A chunk is allocated when one of its
 * vectors first fires (38.4 kB; a vector alone in its chunk costs four times its own ring).
 * A chunk's `head` is the newest second written to it; buckets of seconds after it read as 0
 * (cleared when the chunk advances). `last[v]` is the newest second vector v recorded (-1:
 * never), which says which vectors moved.
 */
export class VectorRings {
  private chunks: Array<Float32Array | undefined> = []
  private heads = new Float64Array(0)
  private last = new Float64Array(0)

  /** Adds one fire's counts (a ring's add(), for vector v). */
  add (v: number, sec: number, fired: number, delivered: number, lost: number, pended: number): void {
    const c = v >> 2
    let data = this.chunks[c]
    if (data === undefined) data = this.allocate(c)
    const head = this.heads[c]
    if (sec > head) this.advance(c, data, sec)
    // A clock that stepped back lands in the newest bucket rather than in the past.
    const s = sec < head ? head : sec
    const i = (s % RATE_SECONDS) * BUCKET + (v & 3) * M
    data[i] += fired
    data[i + 1] += delivered
    data[i + 2] += lost
    data[i + 3] += pended
    if (s > this.last[v]) this.last[v] = s
  }

  /**
   * recordVectors' loop: each of `vs` fired once in second `sec` (`outcomes`: what each did,
   * FIRE_*). Writes how many were delivered, lost and pended into `sums`, for the device's ring.
   */
  addList (sec: number, vs: ArrayLike<number>, outcomes: Uint8Array, sums: Float64Array): void {
    const { chunks, heads, last } = this
    const at = (sec % RATE_SECONDS) * BUCKET
    let delivered = 0
    let lost = 0
    let pended = 0
    for (let i = 0; i < vs.length; i++) {
      const o = outcomes[i]
      const d = o === FIRE_DELIVERED ? 1 : 0
      const l = o >= FIRE_LOST ? 1 : 0
      const p = o === FIRE_PENDED ? 1 : 0
      const v = vs[i]
      const c = v >> 2
      const data = chunks[c]
      // A chunk already at this second (every chunk written before in this second, and every
      // repeat): add()'s four adds without its checks.
      if (data !== undefined && heads[c] === sec) {
        const k = at + (v & 3) * M
        data[k] += 1
        data[k + 1] += d
        data[k + 2] += l
        data[k + 3] += p
        last[v] = sec
      } else this.add(v, sec, 1, d, l, p)
      delivered += d
      lost += l
      pended += p
    }
    sums[0] = delivered
    sums[1] = lost
    sums[2] = pended
  }

  private allocate (c: number): Float32Array {
    const data = new Float32Array(BUCKET * RATE_SECONDS)
    this.chunks[c] = data
    if (this.heads.length <= c) {
      // Grown to the chunk (tables are at most 2,048 vectors: 512 chunks).
      const n = Math.max(c + 1, 2 * this.heads.length)
      const heads = new Float64Array(n).fill(-1)
      heads.set(this.heads)
      this.heads = heads
      const last = new Float64Array(n * VPC).fill(-1)
      last.set(this.last)
      this.last = last
    }
    return data
  }

  private advance (c: number, data: Float32Array, sec: number): void {
    const head = this.heads[c]
    const from = head < 0 || sec - head >= RATE_SECONDS ? sec - RATE_SECONDS + 1 : head + 1
    for (let s = from; s <= sec; s++) data.fill(0, (s % RATE_SECONDS) * BUCKET, (s % RATE_SECONDS + 1) * BUCKET)
    this.heads[c] = sec
  }

  /** Whether vector v ever fired (since the device was created or the service started). */
  has (v: number): boolean {
    return v < this.last.length && this.last[v] >= 0
  }

  /** The vectors that ever fired, in order. */
  * fired (): IterableIterator<number> {
    for (let v = 0; v < this.last.length; v++) if (this.last[v] >= 0) yield v
  }

  /** The value of one metric of vector v at one second (0 outside the last ten minutes). */
  at (v: number, m: number, sec: number): number {
    if (!this.has(v)) return 0
    const c = v >> 2
    const head = this.heads[c]
    if (sec > head || sec <= head - RATE_SECONDS) return 0
    return this.chunks[c]![(sec % RATE_SECONDS) * BUCKET + (v & 3) * M + m]
  }

  /** `seconds` values of each metric of vector v ending at second `end` (inclusive), oldest first. */
  series (v: number, end: number, seconds: number): Record<RateMetric, number[]> {
    const out = { fired: [] as number[], delivered: [] as number[], lost: [] as number[], pended: [] as number[] }
    for (let s = end - seconds + 1; s <= end; s++) {
      out.fired.push(this.at(v, 0, s))
      out.delivered.push(this.at(v, 1, s))
      out.lost.push(this.at(v, 2, s))
      out.pended.push(this.at(v, 3, s))
    }
    return out
  }

  /** Whether vector v recorded anything in the last ten minutes before `now`. */
  active (v: number, now: number): boolean {
    return this.has(v) && this.last[v] > now - RATE_SECONDS
  }

  get bytes (): number {
    let n = this.heads.byteLength + this.last.byteLength
    for (const data of this.chunks) if (data !== undefined) n += data.byteLength
    return n
  }
}

/**
 * A device's rates: its totals (Float64: exact at any rate) and, per index, its vectors'
 * rings (allocated as they first fire).
 */
export class DeviceRates {
  readonly device = new RateRing(new Float64Array(M * RATE_SECONDS))
  /** By index. */
  readonly vectors: readonly VectorRings[] = [new VectorRings(), new VectorRings(), new VectorRings(), new VectorRings(), new VectorRings()]

  /** Bytes held by the typed arrays of this device's rings. */
  get bytes (): number {
    let n = this.device.bytes
    for (const rings of this.vectors) n += rings.bytes
    return n
  }
}

/** Rates by device; a deleted device's rates go with it. */
class RateTable {
  private readonly byDevice = new WeakMap<Device, DeviceRates>()

  of (dev: Device): DeviceRates {
    let r = this.byDevice.get(dev)
    if (r === undefined) {
      r = new DeviceRates()
      this.byDevice.set(dev, r)
    }
    return r
  }

  peek (dev: Device): DeviceRates | undefined {
    return this.byDevice.get(dev)
  }
}

/** Every device's rates (keyed by the device object, so one table serves any number of apps). */
export const rates = new RateTable()

/**
 * The one call the interrupt path makes per fired vector, with what that fire did (the
 * tally's deltas): the device's bucket and the vector's bucket of second `sec` grow.
 */
export function recordRate (rates: DeviceRates, sec: number, index: number, v: number,
  fired: number, delivered: number, lost: number, pended: number): void {
  rates.device.add(sec, fired, delivered, lost, pended)
  rates.vectors[index].add(v, sec, fired, delivered, lost, pended)
}

/** recordVectors' sums of one list, reused (lists are recorded one at a time). */
const listSums = new Float64Array(3)

/**
 * recordRate for each of `vs` fired once (a vector list), from what each fire did
 * (fireVectors' outcomes): each vector's bucket grows by its own fire, the device's bucket
 * once by all of them.
 */
export function recordVectors (rates: DeviceRates, sec: number, index: number, vs: ArrayLike<number>, outcomes: Uint8Array): void {
  rates.vectors[index].addList(sec, vs, outcomes, listSums)
  rates.device.add(sec, vs.length, listSums[0], listSums[1], listSums[2])
}
