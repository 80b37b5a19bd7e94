import type Database from 'better-sqlite3'
import type { IrqType } from '../core/device.ts'
import type { TraceEntry, TraceOp } from '../core/trace.ts'
import type { Db } from './db.ts'

export const DEFAULT_TRACE_RETENTION = 10_000

interface TraceRow {
  seq: number
  device_id: string
  at: string
  t: number
  op: TraceOp
  request: string
  result: number | null
  errno: string | null
  errno_value: number | null
  reason: string | null
  irq_type_before: IrqType
  irq_type_after: IrqType
  version: number
  lost: number
  pended: number
  lost_total: number
  pended_total: number
}

const fromRow = (r: TraceRow): TraceEntry => ({
  seq: r.seq,
  deviceId: r.device_id,
  at: r.at,
  t: r.t,
  op: r.op,
  request: JSON.parse(r.request),
  result: r.result,
  errno: r.errno,
  errnoValue: r.errno_value,
  reason: r.reason,
  irqTypeBefore: r.irq_type_before,
  irqTypeAfter: r.irq_type_after,
  version: r.version,
  lost: r.lost,
  pended: r.pended,
  lostTotal: r.lost_total,
  pendedTotal: r.pended_total
})

/** The trace table: append (inside the caller's transaction), prune to the retention, page. */
export class TraceStore {
  /** Entries kept per device; older ones are deleted as new ones arrive. */
  retention = DEFAULT_TRACE_RETENTION
  private readonly insert: Database.Statement
  private readonly prune: Database.Statement
  private readonly page: Database.Statement
  private readonly last: Database.Statement
  private readonly all: Database.Statement
  private readonly count: Database.Statement
  private readonly tail: Database.Statement
  /** Entries stored per device (counted once, then kept), so pruning costs only what it deletes. */
  private readonly counts = new Map<string, number>()
  /** The running totals of each device's newest entry (read from the table once, then kept). */
  private readonly totals = new Map<string, { lost: number, pended: number }>()

  constructor (db: Db) {
    this.insert = db.prepare(`INSERT INTO trace (device_id, at, t, op, request, result, errno, errno_value, reason,
        irq_type_before, irq_type_after, version, lost, pended, lost_total, pended_total)
      VALUES (@device_id, @at, @t, @op, @request, @result, @errno, @errno_value, @reason,
        @irq_type_before, @irq_type_after, @version, @lost, @pended, @lost_total, @pended_total)`)
    this.prune = db.prepare('DELETE FROM trace WHERE seq IN (SELECT seq FROM trace WHERE device_id = ? ORDER BY seq LIMIT ?)')
    this.count = db.prepare('SELECT count(*) FROM trace WHERE device_id = ?').pluck()
    this.page = db.prepare('SELECT * FROM trace WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?')
    this.last = db.prepare('SELECT lost_total, pended_total FROM trace WHERE device_id = ? ORDER BY seq DESC LIMIT 1')
    this.all = db.prepare('SELECT * FROM trace WHERE device_id = ? ORDER BY seq')
    this.tail = db.prepare('SELECT * FROM (SELECT * FROM trace WHERE device_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq')
  }

  /** The totals the next entry of a device counts its deltas from. */
  previousTotals (deviceId: string): { lost: number, pended: number } {
    let t = this.totals.get(deviceId)
    if (t === undefined) {
      const row = this.last.get(deviceId) as { lost_total: number, pended_total: number } | undefined
      t = { lost: row?.lost_total ?? 0, pended: row?.pended_total ?? 0 }
      this.totals.set(deviceId, t)
    }
    return t
  }

  /** Remembers an entry's totals once it is built (before its commit: a failed commit reloads them). */
  noteTotals (deviceId: string, lost: number, pended: number): void {
    this.totals.set(deviceId, { lost, pended })
  }

  /** Forgets remembered totals (the model was reloaded from the last commit). */
  forget (): void {
    this.totals.clear()
    this.counts.clear()
  }

  /** A deleted device's trace went with it (ON DELETE CASCADE). */
  drop (deviceId: string): void {
    this.totals.delete(deviceId)
    this.counts.delete(deviceId)
  }

  /** Appends one entry and drops the device's oldest beyond the retention. Call inside a transaction. */
  append (e: TraceEntry): void {
    const info = this.insert.run({
      device_id: e.deviceId,
      at: e.at,
      t: e.t,
      op: e.op,
      request: JSON.stringify(e.request ?? null),
      result: e.result,
      errno: e.errno,
      errno_value: e.errnoValue,
      reason: e.reason,
      irq_type_before: e.irqTypeBefore,
      irq_type_after: e.irqTypeAfter,
      version: e.version,
      lost: e.lost,
      pended: e.pended,
      lost_total: e.lostTotal,
      pended_total: e.pendedTotal
    })
    e.seq = Number(info.lastInsertRowid)
    let n = this.counts.get(e.deviceId) ?? (this.count.get(e.deviceId) as number) - 1
    n++
    if (n > this.retention) {
      this.prune.run(e.deviceId, n - this.retention)
      n = this.retention
    }
    this.counts.set(e.deviceId, n)
  }

  /** Entries after the cursor (a seq), oldest first. */
  list (deviceId: string, after: number, limit: number): { items: TraceEntry[], last: number | null, more: boolean } {
    const rows = this.page.all(deviceId, after, limit + 1) as TraceRow[]
    const more = rows.length > limit
    const items = (more ? rows.slice(0, limit) : rows).map(fromRow)
    return { items, last: items.length > 0 ? items[items.length - 1].seq : null, more }
  }

  /** The newest `n` entries of a device, oldest first. */
  newest (deviceId: string, n: number): TraceEntry[] {
    return (this.tail.all(deviceId, n) as TraceRow[]).map(fromRow)
  }

  /** Every retained entry of a device, oldest first. */
  entries (deviceId: string): TraceEntry[] {
    return (this.all.all(deviceId) as TraceRow[]).map(fromRow)
  }
}
