import type { Eventfd } from './eventfds.ts'
import type * as ModelTypes from './model-types.ts'
import type { Device } from './model-types.ts'
import type { Parent } from './parent.ts'
import type { TraceEntry } from './trace.ts'

/**
 * What one operation changed, so that the store can write exactly that in one transaction.
 * The model records; it never writes anything itself.
 */
export class Effects implements ModelTypes.Effects {
  /** Devices whose VFIO state changed: their version grows and their row is written. */
  readonly devices = new Set<Device>()
  /** Per device, the MSI (index 1) and MSI-X (index 2) vectors whose row must be rewritten. */
  readonly vectors = new Map<Device, { msi: Set<number>, msix: Set<number> }>()
  readonly eventfds = new Set<Eventfd>()
  /** Devices whose interrupt counters moved. */
  readonly counters = new Set<Device>()
  readonly deletedDevices = new Set<Device>()
  readonly deletedEventfds = new Set<Eventfd>()
  /** IMS parents created (their slots in use are not stored: they are the vectors' backing). */
  readonly parents = new Set<Parent>()
  readonly deletedParents = new Set<Parent>()
  /** Configuration calls to append to their device's trace, in the same transaction. */
  readonly traces: TraceEntry[] = []

  device (dev: Device): void {
    this.devices.add(dev)
  }

  vector (dev: Device, msix: boolean, v: number): void {
    let sets = this.vectors.get(dev)
    if (sets === undefined) {
      sets = { msi: new Set(), msix: new Set() }
      this.vectors.set(dev, sets)
    }
    ;(msix ? sets.msix : sets.msi).add(v)
    this.devices.add(dev)
  }

  eventfd (efd: Eventfd): void {
    this.eventfds.add(efd)
  }

  countersOf (dev: Device): void {
    this.counters.add(dev)
  }

  /** Adds another operation's changes to these (group commit). */
  merge (other: Effects): void {
    for (const dev of other.devices) this.devices.add(dev)
    for (const [dev, sets] of other.vectors) {
      for (const v of sets.msi) this.vector(dev, false, v)
      for (const v of sets.msix) this.vector(dev, true, v)
    }
    for (const efd of other.eventfds) this.eventfds.add(efd)
    for (const dev of other.counters) this.counters.add(dev)
    for (const dev of other.deletedDevices) this.deletedDevices.add(dev)
    for (const efd of other.deletedEventfds) this.deletedEventfds.add(efd)
    for (const e of other.traces) this.traces.push(e)
    for (const p of other.parents) this.parents.add(p)
    for (const p of other.deletedParents) {
      this.parents.delete(p)
      this.deletedParents.add(p)
    }
  }

  clear (): void {
    this.devices.clear()
    this.vectors.clear()
    this.eventfds.clear()
    this.counters.clear()
    this.deletedDevices.clear()
    this.deletedEventfds.clear()
    this.traces.length = 0
    this.parents.clear()
    this.deletedParents.clear()
  }

  get empty (): boolean {
    return this.devices.size === 0 && this.eventfds.size === 0 && this.counters.size === 0 &&
      this.deletedDevices.size === 0 && this.deletedEventfds.size === 0 && this.traces.length === 0 &&
      this.parents.size === 0 && this.deletedParents.size === 0
  }
}
