import { IRQ_INDEX_NAMES, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from '../core/constants.ts'
import { irqCount, type Device } from '../core/device.ts'
import { driveIntx, fireErrReq, fireVector, fireVectors, type FireTally, type IntxLevel } from '../core/interrupts.ts'
import type { Effects } from '../core/effects.ts'
import type { World } from '../core/world.ts'
import { nowSecond, rates, recordRate, recordVectors, type DeviceRates } from './rates.ts'

/**
 * What a fire needs: the model, and where the interrupt path's changes wait for the flusher
 * (the engine is one; the fire path needs nothing else of it).
 */
export interface FireTarget {
  readonly world: World
  readonly hot: Effects
}

/** A fire request as both the HTTP route and the WebSocket take it. */
export interface FireRequest {
  index: number
  vectors?: readonly number[]
  vector?: number
  count?: number
  level?: IntxLevel
}

/** A request the device could not have made; nothing is fired. */
export class FireError extends Error {
  constructor (readonly reason: string, detail: string) {
    super(detail)
  }
}

/**
 * What each vector of a list did, for its rates (fireVectors): one buffer for every request
 * (they run one at a time), grown when a longer list comes, never per vector.
 */
let outcomes = new Uint8Array(1024)

/**
 * Checks the whole request first, so a bad vector fires nothing, then fires into `tally`.
 * No SQLite, no logging: changes land in target.hot for the flusher.
 */
export function fire (target: FireTarget, dev: Device, req: FireRequest, tally: FireTally): void {
  const f = tally.fired
  const d = tally.delivered
  const l = tally.lost
  const p = tally.pended
  const v = fireChecked(target, dev, req, tally)
  if (v >= 0) rate(rates.of(dev), nowSecond(), req.index, v, tally, f, d, l, p)
}

/** Rates of one fired vector, from the tally's deltas (vector lists record each vector themselves). */
function rate (r: DeviceRates, sec: number, index: number, v: number, tally: FireTally, f: number, d: number, l: number, p: number): void {
  recordRate(r, sec, index, v, tally.fired - f, tally.delivered - d, tally.lost - l, tally.pended - p)
}

/** Fires; returns the vector to record the rates of, or -1 when they are recorded already. */
function fireChecked (target: FireTarget, dev: Device, req: FireRequest, tally: FireTally): number {
  const { index } = req
  const size = irqCount(dev, index)
  if (size === 0) throw new FireError('no-such-index', `device ${dev.id} has no ${IRQ_INDEX_NAMES[index] ?? index} interrupt`)
  const { world, hot } = target
  if (req.level !== undefined && index !== VFIO_PCI_INTX_IRQ_INDEX) throw new FireError('level-only-for-intx', 'level applies to INTx only')
  if (index === VFIO_PCI_MSI_IRQ_INDEX || index === VFIO_PCI_MSIX_IRQ_INDEX) {
    if (req.vectors !== undefined) {
      if (req.vector !== undefined || req.count !== undefined) throw new FireError('ambiguous-vectors', 'give either vectors, or vector with count')
      const vs = req.vectors
      for (let i = 0; i < vs.length; i++) {
        if (vs[i] >= size) throw new FireError('vector-out-of-range', `vector ${vs[i]} is not below ${size}`)
      }
      if (outcomes.length < vs.length) outcomes = new Uint8Array(Math.max(vs.length, 2 * outcomes.length))
      fireVectors(world, dev, index, vs, hot, tally, outcomes)
      recordVectors(rates.of(dev), nowSecond(), index, vs, outcomes)
      return -1
    }
    if (req.vector === undefined) throw new FireError('vector-required', 'give vectors, or vector with count')
    if (req.vector >= size) throw new FireError('vector-out-of-range', `vector ${req.vector} is not below ${size}`)
    fireVector(world, dev, index, req.vector, req.count ?? 1, hot, tally)
    return req.vector
  }
  if (req.vectors !== undefined) throw new FireError('vectors-only-for-msi', `vectors applies to MSI and MSI-X; ${IRQ_INDEX_NAMES[index]} has one vector: give no vector, or vector 0`)
  if ((req.vector ?? 0) !== 0) throw new FireError('vector-out-of-range', `${IRQ_INDEX_NAMES[index]} has only vector 0`)
  if (index === VFIO_PCI_INTX_IRQ_INDEX) {
    if (req.count !== undefined) throw new FireError('count-not-for-intx', 'INTx is a level: use level assert, deassert or pulse')
    driveIntx(world, dev, req.level ?? 'pulse', hot, tally)
    return 0
  }
  fireErrReq(world, dev, index, req.count ?? 1, hot, tally)
  return 0
}
