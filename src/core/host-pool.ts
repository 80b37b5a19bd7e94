import { fail } from './errno.ts'

/**
 * The host's interrupt vectors (model section 6). MSI/MSI-X enable takes `nvec` at once or
 * nothing; dynamic MSI-X takes one at a time; an index gives all of its vectors back at once.
 */
export class HostPool {
  readonly capacity: number
  used = 0

  constructor (capacity: number) {
    this.capacity = capacity
  }

  get free (): number {
    return Math.max(0, this.capacity - this.used)
  }

  /**
   * pci_alloc_irq_vectors(pdev, 1, nvec): 0 when all were taken, the positive number that
   * could have been had when fewer are free (nothing is taken then), ENOSPC when none are.
   */
  allocate (nvec: number): number {
    const free = this.free
    if (free === 0) fail('ENOSPC', 'host-vectors-exhausted', 'the host vector pool has no free vector')
    if (free < nvec) return free
    this.used += nvec
    return 0
  }

  /** One vector for dynamic MSI-X (pci_msix_alloc_irq_at). */
  allocateOne (): void {
    if (this.free === 0) fail('ENOSPC', 'host-vectors-exhausted', 'the host vector pool has no free vector')
    this.used += 1
  }

  release (n: number): void {
    this.used -= n
  }
}
