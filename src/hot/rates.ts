import type { Device } from '../core/device.ts'
import { FIRE_DELIVERED, FIRE_LOST, FIRE_PENDED } from '../core/interrupts.ts'

// Interrupt rates: fired / delivered / lost / pended per second over the last ten minutes, per
// device and per vector, in fixed one-second ring buckets. A fire adds into the bucket of the
// current second (an index computation and four adds); nothing is allocated per interrupt.
// A vector's ring is allocated the first time it fires, once.

export const RATE_SECONDS = 600
export const RATE_METRICS = ['fired', 'delivered', 'lost', 'pended'] as const
export type RateMetric = (typeof RATE_METRICS)[number]
const M = RATE_METRICS.length

/** The current second on the epoch clock. */
export const nowSecond = (): number => Math.floor(Date.now() / 1000)

/**
 * One ring: RATE_SECONDS buckets of the four metrics, second-major (a second's four counts are
 * adjacent, `data[bucket * 4 + metric]`), so that a fire touches one cache line of its ring,
 * not four: a list of a thousand vectors walks a thousand rings, and with the metrics 2.4 kB
 * apart each add missed the cache four times. `head` is the newest second written; buckets of
 * seconds after it hold stale data and read as 0 (cleared when the ring advances).
 */
export class RateRing {
  readonly data: Float64Array | Float32Array
  head = -1

  constructor (data: Float64Array | Float32Array) {
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

/**
 * A device's rates: its totals (Float64: exact at any rate) and, per index, one ring per vector
 * that has fired (Float32: exact up to 16.7 million per second per vector, close beyond).
 */
export class DeviceRates {
  readonly device = new RateRing(new Float64Array(M * RATE_SECONDS))
  /** [index][vector], allocated on a vector's first fire. */
  readonly vectors: Array<Array<RateRing | undefined>> = [[], [], [], [], []]

  vector (index: number, v: number): RateRing {
    const list = this.vectors[index]
    let ring = list[v]
    if (ring === undefined) {
      ring = new RateRing(new Float32Array(M * RATE_SECONDS))
      list[v] = ring
    }
    return ring
  }

  /** Bytes held by the typed arrays of this device's rings. */
  get bytes (): number {
    let n = this.device.bytes
    for (const list of this.vectors) for (const r of list) if (r !== undefined) n += r.bytes
    return n
  }
}

/** Rates by device; a deleted device's rates go with it. */
export class RateTable {
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
  rates.vector(index, v).add(sec, fired, delivered, lost, pended)
}

/**
 * recordRate for each of `vs` fired once (a vector list), from what each fire did
 * (fireVectors' outcomes): each vector's bucket grows by its own fire, the device's bucket
 * once by all of them.
 */
export function recordVectors (rates: DeviceRates, sec: number, index: number, vs: ArrayLike<number>, outcomes: Uint8Array): void {
  let delivered = 0
  let lost = 0
  let pended = 0
  const at = (sec % RATE_SECONDS) * M
  for (let i = 0; i < vs.length; i++) {
    const o = outcomes[i]
    const d = o === FIRE_DELIVERED ? 1 : 0
    const l = o === FIRE_LOST ? 1 : 0
    const p = o === FIRE_PENDED ? 1 : 0
    const ring = rates.vector(index, vs[i])
    // A ring already at this second (every vector fired before in this second, and every
    // repeat): the four adds of add() without its checks, on what is always a Float32 ring.
    if (ring.head === sec) {
      const data = ring.data
      data[at] += 1
      data[at + 1] += d
      data[at + 2] += l
      data[at + 3] += p
    } else ring.add(sec, 1, d, l, p)
    delivered += d
    lost += l
    pended += p
  }
  rates.device.add(sec, vs.length, delivered, lost, pended)
}
