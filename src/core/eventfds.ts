import { fail } from './errno.ts'

/**
 * An eventfd (docs/model.md 8): a counter that signals add to and a read drains.
 * The kernel's counter is a u64; ours stops at 2^53 - 1 so that it stays an exact JS number.
 */
export interface Eventfd {
  readonly fd: number
  value: number
  readonly semaphore: boolean
  readonly label: string | null
  readonly createdAt: string
  /** The tenant that created it. */
  readonly owner: string
}

export const EVENTFD_MAX_VALUE = Number.MAX_SAFE_INTEGER

/** Called when an eventfd's counter goes from 0 to non-zero, so that waiting readers can run. */
export type ReadableListener = (efd: Eventfd) => void

export class EventfdTable {
  private readonly byFd = new Map<number, Eventfd>()
  /** Numbers are never reused, across restarts too: a stale number can reach no other eventfd. */
  nextFd: number
  onReadable: ReadableListener | null = null
  /**
   * Told just before an operation changes a counter (signal, write, read), so that the store
   * can undo exactly that operation if its commit fails. Null on the interrupt path.
   */
  beforeChange: ((efd: Eventfd) => void) | null = null
  /** Signals ever added since start (metrics). */
  signals = 0

  constructor (nextFd = 1) {
    this.nextFd = nextFd
  }

  get size (): number {
    return this.byFd.size
  }

  create (opts: { semaphore: boolean, label: string | null, createdAt: string, owner?: string }): Eventfd {
    const efd: Eventfd = { fd: this.nextFd++, value: 0, semaphore: opts.semaphore, label: opts.label, createdAt: opts.createdAt, owner: opts.owner ?? 'default' }
    this.byFd.set(efd.fd, efd)
    return efd
  }

  /** Restores an eventfd as it was stored. */
  restore (stored: Omit<Eventfd, 'owner'> & { owner?: string }): void {
    const efd: Eventfd = { ...stored, owner: stored.owner ?? 'default' }
    this.byFd.set(efd.fd, efd)
    if (efd.fd >= this.nextFd) this.nextFd = efd.fd + 1
  }

  get (fd: number): Eventfd | undefined {
    return this.byFd.get(fd)
  }

  /**
   * eventfd_ctx_fdget(): an unknown number is EBADF, as for a closed file descriptor. So is
   * another tenant's eventfd: a process cannot use a descriptor it does not hold.
   */
  lookup (fd: number, owner = 'default'): Eventfd {
    const efd = this.byFd.get(fd)
    if (efd === undefined || efd.owner !== owner) fail('EBADF', 'bad-fd', `fd ${fd} is not an open eventfd`)
    return efd
  }

  remove (fd: number): boolean {
    return this.byFd.delete(fd)
  }

  values (): IterableIterator<Eventfd> {
    return this.byFd.values()
  }

  /** eventfd_signal(): adds n, saturating like the kernel rather than failing. */
  signal (efd: Eventfd, n = 1): void {
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

  /** read(2) without blocking: the counter (semaphore mode: 1), or 0 when nothing is there (EAGAIN). */
  read (efd: Eventfd): number {
    if (efd.value === 0) return 0
    if (this.beforeChange !== null) this.beforeChange(efd)
    const taken = efd.semaphore ? 1 : efd.value
    efd.value -= taken
    return taken
  }
}
