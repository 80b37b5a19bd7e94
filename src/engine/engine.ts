import type { Device } from '../core/device.ts'
import { Effects } from '../core/effects.ts'
import { VfioError } from '../core/errno.ts'
import { OwnerFdMap, type Eventfd } from '../core/eventfds.ts'
import type { World } from '../core/world.ts'
import type { Db } from '../store/db.ts'
import { storageFault, type StorageFault } from '../store/faults.ts'
import { DRAIN_GONE, ReaderRegistry } from '../hot/readers.ts'
import { Repository } from '../store/repository.ts'
import type { TraceEntry } from '../core/trace.ts'
import { traceEnd, traceStart, type TraceCall } from './trace-call.ts'
import { carryInterruptPath, UndoJournal } from './undo-journal.ts'
import { Waiters } from './waiters.ts'

/** How often a faulted store is probed for a write until one succeeds. */
const DEFAULT_STORAGE_PROBE_MS = 1000

/**
 * The model and its store, joined: every operation runs on the in-memory model, then what it
 * changed is committed to SQLite before the caller gets its answer.
 * Node runs one operation at a time, so operations on a device are serialised by construction.
 */
export class Engine {
  world: World
  readonly repo: Repository
  readonly db: Db
  /** Set when shutdown begins: waiters stop waiting, readiness goes false. */
  closing = false
  private readonly hostVectors: number
  /** Readers waiting for an eventfd (owner, number) to become readable (long-poll). */
  private readonly waiters = new Waiters()
  /** Stream consumers (SSE, WebSocket) reading eventfds. */
  readonly readers = new ReaderRegistry()
  /** Open streams, ended when the service closes (they would hold app.close() open). */
  readonly streams = new Set<{ close: () => void }>()
  /**
   * What the interrupt path changed since the last flush: eventfd counters, interrupt counters,
   * INTx line and automask. Written in one transaction per flush, never per interrupt.
   */
  readonly hot = new Effects()
  private flushTimer: NodeJS.Timeout | undefined
  /** Called with each trace entry once it is committed (live views). */
  onTrace: ((entry: TraceEntry) => void) | null = null
  /**
   * Called with each World loaded from SQLite after start (a failed batch reloads it), so that
   * what is not persisted on purpose (a vfio-user client's eventfds) can be put back.
   */
  onLoad: ((world: World) => void) | null = null
  /** Called after each flush with its duration in seconds (metrics). */
  onFlush: ((seconds: number) => void) | null = null
  flushError: Error | null = null
  /** Changes of operations applied but not yet committed (group commit). */
  private readonly batch = new Effects()
  private batchWaiters: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []
  private commitScheduled = false
  private readonly commitBound = (): void => this.commit()
  private readonly journal = new UndoJournal()
  /**
   * Set while writes to the database fail (disk full, file read-only or damaged): the service
   * is not ready. Cleared by the next commit or probe that succeeds (a flush clears only a
   * fault that is not SQLITE_FULL: rewriting counters needs no room).
   */
  storageFault: StorageFault | null = null
  private probeTimer: NodeJS.Timeout | undefined
  /** A failed batch is not undone yet (SQLite could not be read): no operation runs until it is. */
  private undoPending = false
  private undoError: unknown = null
  /** Devices the failed batch deleted: their interrupt counters in memory are newer than SQLite's. */
  private undoDeleted = new Map<string, Device>()
  private readonly probeMs: number

  constructor (db: Db, hostVectors: number, opts: { storageProbeMs?: number } = {}) {
    this.db = db
    this.repo = new Repository(db)
    this.hostVectors = hostVectors
    this.probeMs = opts.storageProbeMs ?? DEFAULT_STORAGE_PROBE_MS
    this.world = this.load()
  }

  /** Flush the interrupt path's changes every `ms`; the timer does not keep the process alive. */
  startFlusher (ms: number): void {
    this.flushTimer = setInterval(() => this.flush(), ms)
    this.flushTimer.unref()
  }

  /**
   * Writes the interrupt path's changes in one transaction. It commits without an fsync
   * (synchronous=NORMAL: safe against a process crash; the next durable commit syncs it too):
   * these counters may lose an interval by design, and an fsync here would stall every
   * stream and fire for its duration.
   */
  flush (): void {
    // Not between an operation and its commit: that would write rows the operation changed
    // before it is known to be durable (the commit, on this turn, writes them).
    if (this.hot.empty || !this.db.open || this.commitScheduled || this.undoPending) return
    const t0 = process.hrtime.bigint()
    const sync = this.db.pragma('synchronous', { simple: true }) as number
    try {
      this.db.pragma('synchronous = NORMAL')
      this.repo.save(this.world, this.hot)
      this.hot.clear()
      this.flushError = null
      // Rewriting counters rarely needs a new page: it proves a file writable again, not a full one.
      if (this.storageFault?.full !== true) this.storageOk()
    } catch (err) {
      this.flushError = err as Error // kept pending: the next flush tries again
      this.storageFailed(err)
    } finally {
      try {
        this.db.pragma(`synchronous = ${sync}`)
      } catch {}
    }
    this.onFlush?.(Number(process.hrtime.bigint() - t0) / 1e9)
  }

  /** A write failed: when storage is at fault, the service is not ready until a write succeeds. */
  storageFailed (err: unknown): void {
    const fault = storageFault(err)
    if (fault === null) return
    this.storageFault = fault
    if (this.probeTimer === undefined && this.probeMs > 0 && !this.closing) {
      this.probeTimer = setInterval(() => this.probe(), this.probeMs)
      this.probeTimer.unref()
    }
  }

  private storageOk (): void {
    if (this.storageFault === null || this.undoPending) return
    this.storageFault = null
    clearInterval(this.probeTimer)
    this.probeTimer = undefined
  }

  /**
   * Whether the database takes writes again: a page-sized row inserted and deleted in one
   * transaction (it needs a new page, so a full database fails it; it is committed, so a
   * read-only file fails it). When it succeeds, the interrupt path's pending changes follow.
   */
  probe (): boolean {
    if (!this.db.open || !this.undo()) return false
    try {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number
      this.db.transaction(() => {
        this.db.prepare('INSERT INTO storage_probe (data) VALUES (zeroblob(?))').run(pageSize)
        this.db.prepare('DELETE FROM storage_probe').run()
      })()
    } catch (err) {
      this.storageFailed(err)
      return false
    }
    this.storageOk()
    this.flush()
    return this.storageFault === null
  }

  /**
   * An online backup of the database into `dest` (a new SQLite file), consistent while the
   * service runs: first the pending commit and the interrupt path's counters are written, so
   * the copy has everything answered so far; then SQLite's backup API copies the pages (writes
   * made meanwhile through this connection are carried into the copy by SQLite itself).
   */
  async backup (dest: string): Promise<void> {
    if (!this.undo()) throw this.undoError
    if (this.commitScheduled) await this.committed()
    this.flush()
    if (!this.hot.empty && this.flushError !== null) throw this.flushError
    await this.db.backup(dest)
  }

  /** Per-tenant host vector quotas; kept here so that a reloaded model gets them again. */
  private readonly quotas = new Map<string, number | null>()

  setQuota (owner: string, hostVectors: number | null): void {
    this.quotas.set(owner, hostVectors)
    this.world.pool.setQuota(owner, hostVectors)
  }

  private load (): World {
    const world = this.repo.load(this.hostVectors)
    for (const [owner, quota] of this.quotas) world.pool.setQuota(owner, quota)
    world.eventfds.onReadable = (efd) => {
      this.waiters.wake(efd.owner, efd.fd)
      this.readers.notify(efd.owner, efd.fd)
    }
    this.onLoad?.(world)
    return world
  }

  /** Undoes a failed batch (see rollback) if one is pending; false when SQLite cannot be read yet. */
  private undo (): boolean {
    if (!this.undoPending) return true
    try {
      this.rollback()
      this.undoPending = false
      this.undoError = null
      this.undoDeleted.clear()
      return true
    } catch (err) {
      this.undoError = err
      this.storageFailed(err)
      return false
    }
  }

  /**
   * Undoes the pending batch after its commit failed (or an operation threw halfway): the
   * configuration goes back to the last commit, read from SQLite, while interrupt-path state
   * (eventfd counters, interrupt counters, INTx mask and line) keeps what is in memory minus
   * what the batch's own operations did to it. Fires, stream reads and reads answered before
   * are acknowledged: a failed commit of another operation must not take them back. What
   * differs from SQLite is left for the flusher.
   */
  private rollback (): void {
    const old = this.world
    const fresh = this.load()
    this.hot.clear()
    carryInterruptPath(old, fresh, this.journal, this.undoDeleted, this.hot)
    this.journal.clear()
    this.world = fresh
    // Readers and long-polls look again: an eventfd the batch created is gone, one it deleted is back.
    const seen = new OwnerFdMap<true>()
    for (const { owner, fd } of [...old.eventfds.values(), ...fresh.eventfds.values()]) {
      if (seen.get(owner, fd) === true) continue
      seen.set(owner, fd, true)
      if ((fresh.eventfds.get(fd, owner)?.value ?? 1) !== 0) {
        this.readers.notify(owner, fd)
        this.waiters.wake(owner, fd)
      }
    }
  }

  /**
   * Runs `op` on the model now and resolves once what it changed is committed. A model error
   * (errno) is rethrown after its partial effects, which the model defines (docs/model.md 5.4), are
   * committed too. Anything else means the memory may be half-changed: the model is reloaded
   * from the last commit and every operation still waiting for its commit fails with it.
   *
   * Group commit: the operations of one event-loop turn share one transaction, so one fsync
   * makes a whole burst durable instead of one fsync each. Each operation is still all or
   * nothing, and none is answered before its changes are on disk.
   */
  async apply<T> (op: (world: World, fx: Effects) => T, trace?: TraceCall): Promise<T> {
    if (!this.undo()) throw this.undoError
    const fx = new Effects()
    const traced = trace === undefined ? undefined : traceStart(this.world, trace)
    let result: T | undefined
    let failure: VfioError | undefined
    const world = this.world
    world.eventfds.beforeChange = this.journal.beforeEventfd
    world.beforeIntxChange = this.journal.beforeIntx
    let thrown = false
    let error: unknown
    try {
      result = op(world, fx)
    } catch (err) {
      thrown = true
      error = err
    } finally {
      world.eventfds.beforeChange = null
      world.beforeIntxChange = null
      this.journal.endOp()
    }
    if (thrown) {
      if (!(error instanceof VfioError)) {
        this.abandonBatch(error as Error)
        throw error
      }
      failure = error
    }
    for (const dev of fx.devices) {
      dev.version++
      if (failure !== undefined) failure.changedVersion = dev.version
    }
    // A configuration call's trace entry commits with its change (and with its errno's partial effects).
    if (traced !== undefined) traceEnd(traced, this.world, this.repo.trace, fx, result as number | undefined, failure)
    // Readers of a deleted eventfd (streams, long-polls) learn it on their next look: now.
    for (const efd of fx.deletedEventfds) {
      this.readers.notify(efd.owner, efd.fd)
      this.waiters.wake(efd.owner, efd.fd)
    }
    this.batch.merge(fx)
    // Nothing changed and nothing pending: there is nothing to wait for.
    if (!this.batch.empty || this.batchWaiters.length > 0) await this.committed()
    for (const e of fx.traces) this.onTrace?.(e)
    if (failure !== undefined) throw failure
    return result as T
  }

  private committed (): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batchWaiters.push({ resolve, reject })
      if (!this.commitScheduled) {
        this.commitScheduled = true
        setImmediate(this.commitBound)
      }
    })
  }

  private commit (): void {
    this.commitScheduled = false
    const waiters = this.batchWaiters
    this.batchWaiters = []
    const writes = !this.batch.empty
    try {
      this.repo.save(this.world, this.batch)
      this.batch.clear()
      this.journal.clear()
      if (writes) this.storageOk()
    } catch (err) {
      for (const dev of this.batch.deletedDevices) this.undoDeleted.set(dev.id, dev)
      this.batch.clear()
      this.storageFailed(err)
      this.undoPending = true
      this.undo()
      for (const w of waiters) w.reject(err)
      return
    }
    for (const w of waiters) w.resolve()
  }

  /** The model may be half-changed: undo the pending batch; its operations fail. */
  private abandonBatch (err: Error): void {
    for (const dev of this.batch.deletedDevices) this.undoDeleted.set(dev.id, dev)
    this.batch.clear()
    this.undoPending = true
    this.undo()
    const waiters = this.batchWaiters
    this.batchWaiters = []
    for (const w of waiters) w.reject(err)
  }

  /**
   * A stream reader's read(2) of an eventfd (hot/readers.ts): takes the counter (1 for a
   * semaphore), queues the change for the flusher; DRAIN_GONE once the eventfd is deleted.
   */
  readonly drain = (owner: string, fd: number): number => {
    const efd = this.world.eventfds.get(fd, owner)
    return efd === undefined ? DRAIN_GONE : this.world.readEventfd(efd, this.hot)
  }

  /** Long-polls waiting for an eventfd to become readable. */
  get waiting (): number {
    return this.waiters.size
  }

  /** Resolves when the owner's eventfd may be readable, or after `ms`; returns a cancel function too. */
  waitReadable (owner: string, fd: number, ms: number): { promise: Promise<void>, cancel: () => void } {
    return this.waiters.wait(owner, fd, ms)
  }

  /** One tenant's external eventfds (a vfio-user client's; not in SQLite). */
  * vfioExternal (owner: string): IterableIterator<Eventfd> {
    for (const efd of this.world.eventfds.ownedBy(owner)) if (efd.external === true) yield efd
  }

  ping (): boolean {
    try {
      return this.db.prepare('SELECT 1').pluck().get() === 1
    } catch {
      return false
    }
  }

  /**
   * First step of shutdown: ends every open stream and wakes every long-poll, which then
   * answers at once (it sees `closing`) instead of holding the server open until it times out.
   */
  endStreams (): void {
    this.closing = true
    for (const stream of [...this.streams]) stream.close()
    this.waiters.wakeAll()
  }

  /** Ends every wait and closes the database; committed state is all there is to keep. */
  close (): void {
    this.endStreams()
    clearInterval(this.flushTimer)
    clearInterval(this.probeTimer)
    if (this.commitScheduled) this.commit()
    this.flush()
    if (this.db.open) this.db.close()
  }
}
