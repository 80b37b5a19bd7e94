import type { Device } from './device.ts'
import type { Effects } from './effects.ts'
import { fail } from './errno.ts'
import { sendIfPending } from './masking.ts'
import { BACKING_EMULATED, BACKING_IMS, NO_TRIGGER } from './vectors.ts'
import type { World } from './world.ts'

// IMS-backed MSI-X (docs/model.md 13): a parent's Interrupt Message Store backs the MSI-X
// vectors of the virtual devices created under it, one slot per vector that has an eventfd.
// A device whose caps name a parent gets IMS_BACKING as its `msixBacking` (device.ts); the
// MSI-X handlers call through it, so no rule here is reached by comparing names.

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

/** Whether MSI-X vector `v` of the device is emulated: signalled by its driver in software, no slot. */
export function isEmulated (dev: Device, v: number): boolean {
  return dev.caps.msixEmulated?.includes(v) === true
}

function parentOf (world: World, dev: Device): Parent {
  const parent = dev.caps.parent === undefined ? undefined : world.parents.get(dev.caps.parent)
  if (parent === undefined) throw new Error(`device ${dev.id} names parent ${String(dev.caps.parent)}, which does not exist`)
  return parent
}

/** How an MSI-X index's vectors get their backing: the IMS RFC's vfio_pci_intr_ops, as data. */
export interface MsixBacking {
  /** GET_IRQ_INFO never reports NORESIZE, whatever the abi; blocks are never range-checked up front. */
  readonly alwaysDynamic: true
  /** vfio_msi_enable(): the index is enabled with `nvec` vectors and nothing is taken yet. */
  enable: (world: World, dev: Device, nvec: number, fx: Effects) => number
  /** vfio_msi_set_vector_signal() for one vector (docs/model.md 5.4 steps 1-4, with IMS slots). */
  setVector: (world: World, dev: Device, v: number, fd: number, fx: Effects) => void
  /** Disable or delete: every slot and host vector the index held goes back (`held` of them). */
  released: (world: World, dev: Device, held: number) => void
  /** Restore: the slots the stored vectors hold are the parent's again. */
  restored: (world: World, dev: Device) => void
}

/** Frees vector `v`'s trigger and backing: an IMS slot and its host vector go back together. */
function freeVector (world: World, dev: Device, v: number, fx: Effects): void {
  const table = dev.msix
  if (table.trigger[v] === NO_TRIGGER && table.allocated[v] === 0) return
  if (table.backing[v] === BACKING_IMS) {
    parentOf(world, dev).add(dev.id, -1)
    world.pool.release(1, dev.owner)
  }
  table.trigger[v] = NO_TRIGGER
  table.free(v)
  fx.vector(dev, true, v)
}

export const IMS_BACKING: MsixBacking = {
  alwaysDynamic: true,

  enable (_world, dev, nvec, fx) {
    dev.msix.enabledNvec = nvec
    dev.irqType = 'msix'
    fx.device(dev)
    return 0
  },

  setVector (world, dev, v, fd, fx) {
    // Step 1: an old trigger goes, and with it the slot (the RFC frees the IMS interrupt
    // with the eventfd; dynamic MSI-X would keep the host vector until disable).
    freeVector(world, dev, v, fx)
    if (fd < 0) return
    const table = dev.msix
    if (isEmulated(dev, v)) {
      table.trigger[v] = world.eventfds.lookup(fd, dev.owner).fd // EBADF: nothing taken
      table.allocate(v, BACKING_EMULATED)
    } else {
      // A slot first (EBUSY), then its host vector (ENOSPC), then the eventfd (EBADF): a
      // failure gives back what was taken, so the vector ends as it was, without a trigger.
      const parent = parentOf(world, dev)
      parent.takeSlot(dev.id)
      try {
        world.pool.allocateOne(dev.owner)
      } catch (err) {
        parent.add(dev.id, -1)
        throw err
      }
      let trigger: number
      try {
        trigger = world.eventfds.lookup(fd, dev.owner).fd
      } catch (err) {
        parent.add(dev.id, -1)
        world.pool.release(1, dev.owner)
        throw err
      }
      table.trigger[v] = trigger
      table.allocate(v, BACKING_IMS)
    }
    fx.vector(dev, true, v)
    sendIfPending(world, dev, 2, v, fx) // a handler is installed: unmasked (docs/model.md 11.3)
  },

  released (world, dev, held) {
    parentOf(world, dev).add(dev.id, -held)
  },

  restored (world, dev) {
    parentOf(world, dev).add(dev.id, dev.msix.hostHeld)
  }
}

/** An eventfd closed with force: an IMS-backed or emulated vector loses its backing with it. */
export function deassignImsVector (world: World, dev: Device, v: number, fx: Effects): void {
  freeVector(world, dev, v, fx)
}
