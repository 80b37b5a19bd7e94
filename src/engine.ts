import { Effects } from './core/effects.ts'
import { VfioError } from './core/errno.ts'
import type { World } from './core/world.ts'
import type { Db } from './store/db.ts'
import { ReaderRegistry } from './hot/readers.ts'
import { Repository } from './store/repository.ts'
import type { TraceEntry } from './core/trace.ts'
import { traceEnd, traceStart, type TraceCall } from './trace.ts'

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
  /** Readers waiting for an eventfd to become readable (long-poll). */
  private readonly waiters = new Map<number, Set<() => void>>()
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
  /** Called after each flush with its duration in seconds (metrics). */
  onFlush: ((seconds: number) => void) | null = null
  flushError: Error | null = null
  /** Changes of operations applied but not yet committed (group commit). */
  private readonly batch = new Effects()
  private batchWaiters: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []
  private commitScheduled = false
  private readonly commitBound = (): void => this.commit()

  constructor (db: Db, hostVectors: number) {
    this.db = db
    this.repo = new Repository(db)
    this.hostVectors = hostVectors
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
    if (this.hot.empty || !this.db.open) return
    const t0 = process.hrtime.bigint()
    const sync = this.db.pragma('synchronous', { simple: true }) as number
    try {
      this.db.pragma('synchronous = NORMAL')
      this.repo.save(this.world, this.hot)
      this.hot.clear()
      this.flushError = null
    } catch (err) {
      this.flushError = err as Error // kept pending: the next flush tries again
    } finally {
      this.db.pragma(`synchronous = ${sync}`)
    }
    this.onFlush?.(Number(process.hrtime.bigint() - t0) / 1e9)
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
      this.wake(efd.fd)
      this.readers.notify(efd.fd)
    }
    return world
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
    const fx = new Effects()
    const traced = trace === undefined ? undefined : traceStart(this.world, trace)
    let result: T | undefined
    let failure: VfioError | undefined
    try {
      result = op(this.world, fx)
    } catch (err) {
      if (!(err instanceof VfioError)) {
        this.abandonBatch(err as Error)
        throw err
      }
      failure = err
    }
    for (const dev of fx.devices) dev.version++
    // A configuration call's trace entry commits with its change (and with its errno's partial effects).
    if (traced !== undefined) traceEnd(traced, this.world, this.repo.trace, fx, result as number | undefined, failure)
    // Readers of a deleted eventfd (streams, long-polls) learn it on their next look: now.
    for (const fd of fx.deletedEventfds) {
      this.readers.notify(fd)
      this.wake(fd)
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
    try {
      this.repo.save(this.world, this.batch)
      this.batch.clear()
    } catch (err) {
      this.batch.clear()
      this.world = this.load()
      for (const w of waiters) w.reject(err)
      return
    }
    for (const w of waiters) w.resolve()
  }

  /** The model may be half-changed: go back to the last commit; pending operations fail. */
  private abandonBatch (err: Error): void {
    this.batch.clear()
    this.world = this.load()
    const waiters = this.batchWaiters
    this.batchWaiters = []
    for (const w of waiters) w.reject(err)
  }

  /** Resolves when the eventfd may be readable, or after `ms`; returns a cancel function too. */
  waitReadable (fd: number, ms: number): { promise: Promise<void>, cancel: () => void } {
    let set = this.waiters.get(fd)
    if (set === undefined) {
      set = new Set()
      this.waiters.set(fd, set)
    }
    const waiters = set
    let done!: () => void
    const promise = new Promise<void>((resolve) => { done = resolve })
    const finish = (): void => {
      clearTimeout(timer)
      waiters.delete(finish)
      if (waiters.size === 0 && this.waiters.get(fd) === waiters) this.waiters.delete(fd)
      done()
    }
    const timer = setTimeout(finish, ms)
    waiters.add(finish)
    return { promise, cancel: finish }
  }

  private wake (fd: number): void {
    const set = this.waiters.get(fd)
    if (set === undefined) return
    for (const finish of [...set]) finish()
  }

  ping (): boolean {
    try {
      return this.db.prepare('SELECT 1').pluck().get() === 1
    } catch {
      return false
    }
  }

  /** Ends every wait and closes the database; committed state is all there is to keep. */
  /** Ends every open stream (first step of shutdown). */
  endStreams (): void {
    this.closing = true
    for (const stream of [...this.streams]) stream.close()
  }

  close (): void {
    this.endStreams()
    clearInterval(this.flushTimer)
    if (this.commitScheduled) this.commit()
    for (const set of [...this.waiters.values()]) for (const finish of [...set]) finish()
    this.flush()
    if (this.db.open) this.db.close()
  }
}
