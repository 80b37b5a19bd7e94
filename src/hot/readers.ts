import { OwnerFdMap } from '../core/eventfds.ts'

/**
 * Reads an eventfd (owner, number) as read(2) does: the value taken (a semaphore eventfd
 * yields 1), 0 when it is not readable, DRAIN_GONE when the eventfd no longer exists. The
 * reader owns no model: whoever holds the eventfd table passes this in.
 */
export type Drain = (owner: string, fd: number) => number
export const DRAIN_GONE = -1

/**
 * A stream consumer that acts as an eventfd's reader (SSE, WebSocket). Like read(2) on a real
 * eventfd it takes the whole counter, so a slow consumer costs one counter, never a queue:
 * while its socket is backed up it is paused, and signals meanwhile just add up.
 */
export class EventfdReader {
  /** The tenant whose eventfd table `fd` is a number in. */
  readonly owner: string
  readonly fd: number
  private readonly drain: Drain
  /** Sends one value; returns false when the transport is backed up (then call resume()). */
  private readonly send: (value: number) => boolean
  private readonly onGone: () => void
  private scheduled = false
  private paused = false
  private closed = false
  private readonly pumpBound = (): void => this.pump()

  constructor (drain: Drain, owner: string, fd: number, send: (value: number) => boolean, onGone: () => void) {
    this.drain = drain
    this.owner = owner
    this.fd = fd
    this.send = send
    this.onGone = onGone
  }

  /** Called when the counter may have become non-zero; reads on the next turn, so signals coalesce. */
  schedule (): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    setImmediate(this.pumpBound)
  }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    this.schedule()
  }

  close (): void {
    this.closed = true
  }

  private pump (): void {
    this.scheduled = false
    if (this.paused || this.closed) return
    // A semaphore eventfd yields 1 per read: bound the burst, then let others run.
    for (let i = 0; i < 256; i++) {
      const value = this.drain(this.owner, this.fd)
      if (value === DRAIN_GONE) {
        this.closed = true
        this.onGone()
        return
      }
      if (value === 0) return
      if (!this.send(value)) {
        this.paused = true
        return
      }
    }
    this.schedule() // more may be left: the next turn reads on
  }
}

/** Stream readers by eventfd (owner, number). */
export class ReaderRegistry {
  private readonly byFd = new OwnerFdMap<Set<EventfdReader>>()
  private count = 0

  get size (): number {
    return this.count
  }

  add (reader: EventfdReader): void {
    let set = this.byFd.get(reader.owner, reader.fd)
    if (set === undefined) {
      set = new Set()
      this.byFd.set(reader.owner, reader.fd, set)
    }
    if (!set.has(reader)) this.count++
    set.add(reader)
    reader.schedule() // a value already waiting is delivered at once
  }

  remove (reader: EventfdReader): void {
    reader.close()
    const set = this.byFd.get(reader.owner, reader.fd)
    if (set?.delete(reader) === true) this.count--
    if (set?.size === 0) this.byFd.delete(reader.owner, reader.fd)
  }

  notify (owner: string, fd: number): void {
    const set = this.byFd.get(owner, fd)
    if (set === undefined) return
    for (const reader of set) reader.schedule()
  }
}
