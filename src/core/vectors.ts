/**
 * The vectors of one MSI or MSI-X index, in compact typed arrays indexed by vector number:
 * a table of 2048 vectors costs 12 KiB, and the interrupt path reads it without allocating.
 */
export const NO_TRIGGER = -1

/** What backs a vector (docs/model.md 13): nothing, a host vector, an IMS slot (and its host vector), or software. */
export const BACKING_NONE = 0
export const BACKING_HOST = 1
export const BACKING_IMS = 2
export const BACKING_EMULATED = 3
export type Backing = typeof BACKING_HOST | typeof BACKING_IMS | typeof BACKING_EMULATED
/** The names the API shows, by backing code (BACKING_NONE shows as null). */
export const BACKING_NAMES = [null, 'host', 'ims', 'emulated'] as const

export class VectorTable {
  readonly size: number
  /** 1 where a host vector backs the vector (pci_irq_vector() > 0). */
  readonly allocated: Uint8Array
  /** The trigger eventfd's number, or NO_TRIGGER. */
  readonly trigger: Int32Array
  /** What backs each allocated vector (BACKING_*); BACKING_NONE where nothing is allocated. */
  readonly backing: Uint8Array
  /** 1 where the user masked the vector with SET_IRQS MASK (MSI-X MASKABLE opt-in, docs/model.md 11.4). */
  readonly userMask: Uint8Array
  /** `nvec` of the enable call; linux-6.1 bounds every later block by it. 0 while disabled. */
  enabledNvec = 0
  allocatedCount = 0
  /** Allocated vectors signalled in software (BACKING_EMULATED): they hold no host vector. */
  emulatedCount = 0

  constructor (size: number) {
    this.size = size
    // One buffer for the four columns (an ArrayBuffer costs about as much as 20 vectors'
    // state); a table of size 0 (no MSI, say) has nothing to hold.
    const buf = new ArrayBuffer(size * 7)
    this.trigger = new Int32Array(buf, 0, size).fill(NO_TRIGGER)
    this.allocated = new Uint8Array(buf, size * 4, size)
    this.userMask = new Uint8Array(buf, size * 5, size)
    this.backing = new Uint8Array(buf, size * 6, size)
  }

  /** Host vectors the table holds: every allocated vector but the emulated ones. */
  get hostHeld (): number {
    return this.allocatedCount - this.emulatedCount
  }

  allocate (v: number, backing: Backing = BACKING_HOST): void {
    if (this.allocated[v] === 0) {
      this.allocated[v] = 1
      this.allocatedCount++
      this.backing[v] = backing
      if (backing === BACKING_EMULATED) this.emulatedCount++
    }
  }

  /** Gives one vector's backing back (IMS frees a vector on fd -1; docs/model.md 13). */
  free (v: number): void {
    if (this.allocated[v] === 0) return
    if (this.backing[v] === BACKING_EMULATED) this.emulatedCount--
    this.allocated[v] = 0
    this.backing[v] = BACKING_NONE
    this.allocatedCount--
  }

  /**
   * Frees every vector, drops every trigger and user mask; returns how many host vectors were
   * held (for an IMS-backed table, also its IMS slots). Pending bits are the device's, not the index's: they live in the counters and stay.
   */
  clear (): number {
    const held = this.hostHeld
    this.allocated.fill(0)
    this.backing.fill(BACKING_NONE)
    this.trigger.fill(NO_TRIGGER)
    this.userMask.fill(0)
    this.allocatedCount = 0
    this.emulatedCount = 0
    this.enabledNvec = 0
    return held
  }
}
