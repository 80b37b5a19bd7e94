/**
 * The vectors of one MSI or MSI-X index, in compact typed arrays indexed by vector number:
 * a table of 2048 vectors costs 12 KiB, and the interrupt path reads it without allocating.
 */
export const NO_TRIGGER = -1

export class VectorTable {
  readonly size: number
  /** 1 where a host vector backs the vector (pci_irq_vector() > 0). */
  readonly allocated: Uint8Array
  /** The trigger eventfd's number, or NO_TRIGGER. */
  readonly trigger: Int32Array
  /** 1 where the user masked the vector with SET_IRQS MASK (MSI-X MASKABLE opt-in, docs/model.md 11.4). */
  readonly userMask: Uint8Array
  /** `nvec` of the enable call; linux-6.1 bounds every later block by it. 0 while disabled. */
  enabledNvec = 0
  allocatedCount = 0

  constructor (size: number) {
    this.size = size
    // One buffer for the three columns (an ArrayBuffer costs about as much as 20 vectors'
    // state); a table of size 0 (no MSI, say) has nothing to hold.
    const buf = new ArrayBuffer(size * 6)
    this.trigger = new Int32Array(buf, 0, size).fill(NO_TRIGGER)
    this.allocated = new Uint8Array(buf, size * 4, size)
    this.userMask = new Uint8Array(buf, size * 5, size)
  }

  allocate (v: number): void {
    if (this.allocated[v] === 0) {
      this.allocated[v] = 1
      this.allocatedCount++
    }
  }

  /**
   * Frees every vector, drops every trigger and user mask; returns how many host vectors were
   * held. Pending bits are the device's, not the index's: they live in the counters and stay.
   */
  clear (): number {
    const held = this.allocatedCount
    this.allocated.fill(0)
    this.trigger.fill(NO_TRIGGER)
    this.userMask.fill(0)
    this.allocatedCount = 0
    this.enabledNvec = 0
    return held
  }
}
