import { fail } from './errno.ts'
import { DEFAULT_OWNER } from './owner.ts'

/**
 * An eventfd (docs/model.md 8): a counter that signals add to and a read drains.
 * The kernel's counter is a u64; ours stops at 2^53 - 1 so that it stays an exact JS number.
 */
export interface Eventfd {
  /** Its number in its owner's table (each tenant numbers its own, as each process has its fd table). */
  readonly fd: number
  value: number
  readonly semaphore: boolean
  readonly label: string | null
  readonly createdAt: string
  /** The tenant that created it. */
  readonly owner: string
  /**
   * A client's eventfd received over vfio-user (docs/model.md 14): its counter lives in the
   * client's kernel, so a signal goes to `hostFd` (a descriptor in this process) and `value`
   * stays 0. Not persisted: it lives as long as the connection that brought it.
   */
  readonly external?: boolean
  readonly hostFd?: number
}

export const EVENTFD_MAX_VALUE = Number.MAX_SAFE_INTEGER

/** Called when an eventfd's counter goes from 0 to non-zero, so that waiting readers can run. */
export type ReadableListener = (efd: Eventfd) => void

/**
 * A map keyed by (owner, fd number): a number means something only in its owner's table.
 * Two levels of Map rather than a composite key, so that a lookup allocates nothing.
 */
export class OwnerFdMap<T> {
  private readonly byOwner = new Map<string, Map<number, T>>()

  get (owner: string, fd: number): T | undefined {
    return this.byOwner.get(owner)?.get(fd)
  }

  /** Whether there is no entry at all (the interrupt path then skips the lookup). */
  get empty (): boolean {
    return this.byOwner.size === 0
  }

  set (owner: string, fd: number, value: T): void {
    let m = this.byOwner.get(owner)
    if (m === undefined) {
      m = new Map()
      this.byOwner.set(owner, m)
    }
    m.set(fd, value)
  }

  delete (owner: string, fd: number): boolean {
    const m = this.byOwner.get(owner)
    if (m === undefined) return false
    const deleted = m.delete(fd)
    if (m.size === 0) this.byOwner.delete(owner)
    return deleted
  }

  clear (): void {
    this.byOwner.clear()
  }

  /** One owner's entries, in insertion order. */
  of (owner: string): ReadonlyMap<number, T> | undefined {
    return this.byOwner.get(owner)
  }

  * values (): IterableIterator<T> {
    for (const m of this.byOwner.values()) yield * m.values()
  }
}

/** One tenant's eventfd table: its numbers, in creation order, and the next number it gets. */
interface FdTable {
  readonly byFd: Map<number, Eventfd>
  /** Numbers are never reused, across restarts too: a stale number can reach no other eventfd. */
  nextFd: number
}

/** Every tenant's eventfd table. */
export class EventfdTable {
  private readonly tables = new Map<string, FdTable>()
  private count = 0
  onReadable: ReadableListener | null = null
  /**
   * Told just before an operation changes a counter (signal, write, read), so that the store
   * can undo exactly that operation if its commit fails. Null on the interrupt path.
   */
  beforeChange: ((efd: Eventfd) => void) | null = null
  /** Signals ever added since start (metrics). */
  signals = 0
  /** Signals an external eventfd (its counter is the client's); set by whoever holds the descriptors. */
  onExternalSignal: ((efd: Eventfd, n: number) => void) | null = null

  /** Open eventfds of every tenant. */
  get size (): number {
    return this.count
  }

  private table (owner: string): FdTable {
    let t = this.tables.get(owner)
    if (t === undefined) {
      t = { byFd: new Map(), nextFd: 1 }
      this.tables.set(owner, t)
    }
    return t
  }

  /** Open eventfds of one tenant. */
  countOf (owner: string): number {
    return this.tables.get(owner)?.byFd.size ?? 0
  }

  /** The number the owner's next eventfd gets (1 for a tenant that never had one). */
  nextFdOf (owner: string): number {
    return this.tables.get(owner)?.nextFd ?? 1
  }

  /** Each tenant's next number (what the store keeps so that numbers are never reused). */
  * numbering (): IterableIterator<[owner: string, nextFd: number]> {
    for (const [owner, t] of this.tables) yield [owner, t.nextFd]
  }

  create (opts: { semaphore: boolean, label: string | null, createdAt: string, owner?: string, hostFd?: number }): Eventfd {
    const owner = opts.owner ?? DEFAULT_OWNER
    const t = this.table(owner)
    const efd: Eventfd = { fd: t.nextFd++, value: 0, semaphore: opts.semaphore, label: opts.label, createdAt: opts.createdAt, owner }
    if (opts.hostFd !== undefined) Object.assign(efd, { external: true, hostFd: opts.hostFd })
    t.byFd.set(efd.fd, efd)
    this.count++
    return efd
  }

  /** Restores an eventfd as it was stored. */
  restore (stored: Omit<Eventfd, 'owner'> & { owner?: string }): void {
    const efd: Eventfd = { ...stored, owner: stored.owner ?? DEFAULT_OWNER }
    const t = this.table(efd.owner)
    if (!t.byFd.has(efd.fd)) this.count++
    t.byFd.set(efd.fd, efd)
    if (efd.fd >= t.nextFd) t.nextFd = efd.fd + 1
  }

  /** Restores a tenant's next number (it may be past every open eventfd: deleted ones stay used). */
  restoreNextFd (owner: string, nextFd: number): void {
    const t = this.table(owner)
    if (nextFd > t.nextFd) t.nextFd = nextFd
  }

  /**
   * The owner's eventfds by number, for a caller that looks up many (a vector list): one map
   * lookup each instead of two. Undefined when the owner never had one.
   */
  tableOf (owner: string): ReadonlyMap<number, Eventfd> | undefined {
    return this.tables.get(owner)?.byFd
  }

  /** The owner's eventfd with this number. Allocates nothing (the interrupt path uses it). */
  get (fd: number, owner: string): Eventfd | undefined {
    return this.tables.get(owner)?.byFd.get(fd)
  }

  /**
   * eventfd_ctx_fdget(): a number that is not open in the caller's table is EBADF, as for a
   * closed file descriptor; another tenant's eventfds are simply not in it.
   */
  lookup (fd: number, owner: string): Eventfd {
    const efd = this.get(fd, owner)
    if (efd === undefined) fail('EBADF', 'bad-fd', `fd ${fd} is not an open eventfd`)
    return efd
  }

  remove (efd: Eventfd): boolean {
    const t = this.tables.get(efd.owner)
    if (t === undefined || t.byFd.get(efd.fd) !== efd) return false
    t.byFd.delete(efd.fd)
    this.count--
    return true
  }

  /** One tenant's eventfds in number order (creation order is number order). */
  ownedBy (owner: string): IterableIterator<Eventfd> {
    return (this.tables.get(owner)?.byFd ?? new Map<number, Eventfd>()).values()
  }

  * values (): IterableIterator<Eventfd> {
    for (const t of this.tables.values()) yield * t.byFd.values()
  }

  /** eventfd_signal(): adds n, saturating like the kernel rather than failing. */
  signal (efd: Eventfd, n = 1): void {
    if (efd.external === true) {
      this.signals += n
      this.onExternalSignal?.(efd, n)
      return
    }
    if (this.beforeChange !== null) this.beforeChange(efd)
    this.signals += n
    const before = efd.value
    efd.value = Math.min(EVENTFD_MAX_VALUE, before + n)
    if (before === 0 && efd.value !== 0 && this.onReadable !== null) this.onReadable(efd)
  }

  /** write(2): adds `value`; a write that would overflow the counter would block, so EAGAIN. */
  write (efd: Eventfd, value: number): void {
    if (EVENTFD_MAX_VALUE - efd.value < value) {
      fail('EAGAIN', 'eventfd-overflow', `adding ${value} would overflow the counter of eventfd ${efd.fd}`)
    }
    this.signal(efd, value)
  }

  /**
   * Puts back a value a read took but could not hand over (its reader went away): as if that
   * read had not happened. Not a signal: counted nowhere, and no unmask watcher runs.
   */
  unread (efd: Eventfd, n: number): void {
    const before = efd.value
    efd.value = Math.min(EVENTFD_MAX_VALUE, before + n)
    if (before === 0 && efd.value !== 0 && this.onReadable !== null) this.onReadable(efd)
  }

  /** read(2) without blocking: the counter (semaphore mode: 1), or 0 when nothing is there (EAGAIN). */
  read (efd: Eventfd): number {
    if (efd.value === 0) return 0
    if (this.beforeChange !== null) this.beforeChange(efd)
    const taken = efd.semaphore ? 1 : efd.value
    efd.value -= taken
    return taken
  }
}
