import { fail } from './errno.ts'

// An IMS parent (docs/model.md 13). Its own module, apart from the IMS rules in ims.ts, because
// the World names its parents (model-types.ts) and Effects records them, while ims.ts reaches
// both: with the class there, the model's types and the IMS rules would import each other.

/** A physical function (an Intel DSA, say) with an IMS store of `imsSlots` entries. */
export class Parent {
  readonly id: string
  readonly name: string
  /** The tenant that created it; only its devices can be created under it. */
  readonly owner: string
  readonly createdAt: string
  readonly imsSlots: number
  /** Slots in use now: the IMS-backed vectors with an eventfd, across its devices. */
  used = 0
  /** Per device id: slots that device holds (a device holding none is absent). */
  readonly usedBy = new Map<string, number>()
  /** Ids of the devices created under it, in creation order. */
  readonly devices = new Set<string>()

  constructor (id: string, name: string, owner: string, createdAt: string, imsSlots: number) {
    this.id = id
    this.name = name
    this.owner = owner
    this.createdAt = createdAt
    this.imsSlots = imsSlots
  }

  get free (): number {
    return this.imsSlots - this.used
  }

  /** msi_insert_desc() in the parent's IMS domain: EBUSY when every index is taken. */
  takeSlot (deviceId: string): void {
    if (this.used >= this.imsSlots) {
      fail('EBUSY', 'ims-slots-exhausted', `parent ${this.name} has used all ${this.imsSlots} IMS slots`)
    }
    this.add(deviceId, 1)
  }

  /** Slots held by restored state, or given back (n < 0). No limit: they were granted before. */
  add (deviceId: string, n: number): void {
    if (n === 0) return
    this.used += n
    const mine = (this.usedBy.get(deviceId) ?? 0) + n
    if (mine === 0) this.usedBy.delete(deviceId)
    else this.usedBy.set(deviceId, mine)
  }
}
