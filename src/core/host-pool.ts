import { fail } from './errno.ts'
import { DEFAULT_OWNER } from './owner.ts'

/**
 * The host's interrupt vectors (docs/model.md 6). MSI/MSI-X enable takes `nvec` at once or
 * nothing; dynamic MSI-X takes one at a time; an index gives all of its vectors back at once.
 * A tenant may also have a quota: what it can take is the smaller of the pool's free vectors
 * and what its quota leaves, and the kernel's answers (partial count, ENOSPC) follow from that.
 */
export class HostPool {
  readonly capacity: number
  used = 0
  private readonly usedBy = new Map<string, number>()
  private readonly quotas = new Map<string, number>()

  constructor (capacity: number) {
    this.capacity = capacity
  }

  get free (): number {
    return Math.max(0, this.capacity - this.used)
  }

  setQuota (owner: string, quota: number | null): void {
    if (quota === null) this.quotas.delete(owner)
    else this.quotas.set(owner, quota)
  }

  usedByOwner (owner: string): number {
    return this.usedBy.get(owner) ?? 0
  }

  /** What `owner` can take now, and whether its quota (not the pool) is the limit. */
  private available (owner: string): { free: number, quotaBound: boolean } {
    const quota = this.quotas.get(owner)
    if (quota === undefined) return { free: this.free, quotaBound: false }
    const left = Math.max(0, quota - this.usedByOwner(owner))
    return left < this.free ? { free: left, quotaBound: true } : { free: this.free, quotaBound: false }
  }

  private exhausted (quotaBound: boolean): never {
    if (quotaBound) fail('ENOSPC', 'tenant-host-vectors-exhausted', 'this tenant has used its quota of host vectors')
    fail('ENOSPC', 'host-vectors-exhausted', 'the host vector pool has no free vector')
  }

  /**
   * pci_alloc_irq_vectors(pdev, 1, nvec): 0 when all were taken, the positive number that
   * could have been had when fewer are free (nothing is taken then), ENOSPC when none are.
   */
  allocate (nvec: number, owner = DEFAULT_OWNER): number {
    const { free, quotaBound } = this.available(owner)
    if (free === 0) this.exhausted(quotaBound)
    if (free < nvec) return free
    this.take(nvec, owner)
    return 0
  }

  /** One vector for dynamic MSI-X (pci_msix_alloc_irq_at). */
  allocateOne (owner = DEFAULT_OWNER): void {
    const { free, quotaBound } = this.available(owner)
    if (free === 0) this.exhausted(quotaBound)
    this.take(1, owner)
  }

  /** Vectors held by restored state (no limit applies: they were granted before). */
  take (n: number, owner = DEFAULT_OWNER): void {
    this.used += n
    this.usedBy.set(owner, this.usedByOwner(owner) + n)
  }

  release (n: number, owner = DEFAULT_OWNER): void {
    this.used -= n
    this.usedBy.set(owner, this.usedByOwner(owner) - n)
  }
}
