import { OwnerFdMap } from '../core/eventfds.ts'

/**
 * Long-poll reads waiting for an eventfd (owner, number) to become readable. A waiter is woken
 * when the eventfd may be readable (its counter left 0, it was deleted, a failed batch was
 * undone), after its timeout, or at shutdown; it then looks again itself.
 */
export class Waiters {
  private readonly byEventfd = new OwnerFdMap<Set<() => void>>()

  /** Long-polls waiting now. */
  get size (): number {
    let n = 0
    for (const set of this.byEventfd.values()) n += set.size
    return n
  }

  /** Resolves when the owner's eventfd may be readable, or after `ms`; returns a cancel function too. */
  wait (owner: string, fd: number, ms: number): { promise: Promise<void>, cancel: () => void } {
    let set = this.byEventfd.get(owner, fd)
    if (set === undefined) {
      set = new Set()
      this.byEventfd.set(owner, fd, set)
    }
    const waiters = set
    let done!: () => void
    const promise = new Promise<void>((resolve) => { done = resolve })
    const finish = (): void => {
      clearTimeout(timer)
      waiters.delete(finish)
      if (waiters.size === 0 && this.byEventfd.get(owner, fd) === waiters) this.byEventfd.delete(owner, fd)
      done()
    }
    const timer = setTimeout(finish, ms)
    waiters.add(finish)
    return { promise, cancel: finish }
  }

  wake (owner: string, fd: number): void {
    const set = this.byEventfd.get(owner, fd)
    if (set === undefined) return
    for (const finish of [...set]) finish()
  }

  wakeAll (): void {
    for (const set of [...this.byEventfd.values()]) for (const finish of [...set]) finish()
  }
}
