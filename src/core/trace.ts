import type { IrqType } from './model-types.ts'

// The configuration trace: one entry per configuration call on a device (create, SET_IRQS in
// either form, reset), and the teardown windows derived from it. Data only; no clock, no I/O.

export type TraceOp = 'create' | 'set-irqs' | 'ioctl-set-irqs' | 'reset' | 'ioctl-reset'

export interface TraceEntry {
  /** Position in the trace (assigned when stored; 0 until then). */
  seq: number
  deviceId: string
  /** ISO time, and the same instant in epoch milliseconds with sub-millisecond precision. */
  at: string
  t: number
  op: TraceOp
  /** The request as the caller sent it (the friendly body with its index, or the raw struct). */
  request: unknown
  /** The ioctl's return value (0 or the positive partial-allocation answer); null on an errno. */
  result: number | null
  errno: string | null
  errnoValue: number | null
  reason: string | null
  /** The enabled interrupt type before and after the call. */
  irqTypeBefore: IrqType
  irqTypeAfter: IrqType
  /** The device's version after the call. */
  version: number
  /** Interrupts lost / pended on the device since the previous entry. */
  lost: number
  pended: number
  /** The device's running totals at this entry (the base of the next entry's deltas). */
  lostTotal: number
  pendedTotal: number
}

/** A disable of an index followed by its re-enable: the time interrupts had nowhere to go. */
export interface TeardownWindow {
  index: 'intx' | 'msi' | 'msix'
  /** The disabling and the re-enabling entries. */
  fromSeq: number
  toSeq: number
  from: string
  to: string
  durationMs: number
  /** Interrupts lost (and pended) between the disable and the re-enable, that one included. */
  lost: number
  pended: number
}

/**
 * Windows from a trace in order: an entry that takes an index from enabled to 'none' opens one,
 * the next entry that enables the same index again closes it. Losses are the deltas of the
 * entries after the opening one, up to and including the closing one (they count what was lost
 * between consecutive calls). A window still open at the end of the trace is not reported.
 */
export function deriveWindows (entries: readonly TraceEntry[]): TeardownWindow[] {
  const out: TeardownWindow[] = []
  let open: { entry: TraceEntry, index: 'intx' | 'msi' | 'msix', lost: number, pended: number } | null = null
  for (const e of entries) {
    if (open !== null) {
      open.lost += e.lost
      open.pended += e.pended
      if (e.irqTypeBefore === 'none' && e.irqTypeAfter === open.index) {
        out.push({
          index: open.index,
          fromSeq: open.entry.seq,
          toSeq: e.seq,
          from: open.entry.at,
          to: e.at,
          durationMs: Math.max(0, e.t - open.entry.t),
          lost: open.lost,
          pended: open.pended
        })
        open = null
      }
      continue
    }
    if (e.irqTypeBefore !== 'none' && e.irqTypeAfter === 'none') {
      open = { entry: e, index: e.irqTypeBefore, lost: 0, pended: 0 }
    }
  }
  return out
}
