import type { Device, IrqType } from '../core/device.ts'
import type { Effects } from '../core/effects.ts'
import type { VfioError } from '../core/errno.ts'
import type { TraceOp } from '../core/trace.ts'
import type { World } from '../core/world.ts'
import type { TraceStore } from '../store/trace.ts'

/** A configuration call to record in its device's trace: what the caller asked, on which device. */
export interface TraceCall {
  deviceId: string
  op: TraceOp
  request: unknown
}

/** What the device looked like before the call. */
export interface TraceStart { call: TraceCall, irqTypeBefore: IrqType, t: number }

/** Epoch milliseconds with sub-millisecond precision (windows are often shorter than 1 ms). */
const nowMs = (): number => performance.timeOrigin + performance.now()

/**
 * Interrupts lost and pended on a device, over every index and vector, so far. An index whose
 * vectors never counted anything has no columns of its own: it adds 0 without a walk.
 */
function lostAndPended (dev: Device): { lost: number, pended: number } {
  let lost = 0
  let pended = 0
  for (const c of dev.counters) {
    if (!c.materialized) continue
    const [l0, l1, l2] = c.lost
    const p = c.pended
    for (let v = 0; v < c.size; v++) {
      lost += l0[v] + l1[v] + l2[v]
      pended += p[v]
    }
  }
  return { lost, pended }
}

export function traceStart (world: World, call: TraceCall): TraceStart {
  return { call, irqTypeBefore: world.devices.get(call.deviceId)?.irqType ?? 'none', t: nowMs() }
}

/**
 * Adds the call's entry to `fx`, so that it is written in the transaction of the change it
 * records. A call on a device that no longer exists (or was never created) leaves no entry.
 */
export function traceEnd (start: TraceStart, world: World, store: TraceStore, fx: Effects, result: number | undefined, failure: VfioError | undefined): void {
  const dev = world.devices.get(start.call.deviceId)
  if (dev === undefined) return
  const totals = lostAndPended(dev)
  const prev = start.call.op === 'create' ? { lost: 0, pended: 0 } : store.previousTotals(dev.id)
  store.noteTotals(dev.id, totals.lost, totals.pended)
  fx.traces.push({
    seq: 0,
    deviceId: dev.id,
    at: new Date(start.t).toISOString(),
    t: start.t,
    op: start.call.op,
    request: start.call.request,
    result: failure === undefined ? (typeof result === 'number' ? result : 0) : null,
    errno: failure?.errno ?? null,
    errnoValue: failure?.errnoValue ?? null,
    reason: failure?.reason ?? null,
    irqTypeBefore: start.irqTypeBefore,
    irqTypeAfter: dev.irqType,
    version: dev.version,
    // Counters are flushed on a timer, trace entries at once: after a crash the counters may
    // restart a little behind the last entry's totals; nothing was lost "negatively".
    lost: Math.max(0, totals.lost - prev.lost),
    pended: Math.max(0, totals.pended - prev.pended),
    lostTotal: totals.lost,
    pendedTotal: totals.pended
  })
}
