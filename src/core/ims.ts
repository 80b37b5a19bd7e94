import { sendIfPending } from './masking.ts'
import type { Device, Effects, MsixBacking, World } from './model-types.ts'
import type { Parent } from './parent.ts'
import { BACKING_EMULATED, BACKING_IMS, NO_TRIGGER } from './vectors.ts'

// The parent itself is declared in parent.ts (which says why); it is named from here too.
export { Parent } from './parent.ts'

// IMS-backed MSI-X (docs/model.md 13): a parent's Interrupt Message Store backs the MSI-X
// vectors of the virtual devices created under it, one slot per vector that has an eventfd.
// A device whose caps name a parent gets IMS_BACKING as its `msixBacking` (create-device.ts);
// the MSI-X handlers call through it, so no rule here is reached by comparing names.

/** Whether MSI-X vector `v` of the device is emulated: signalled by its driver in software, no slot. */
export function isEmulated (dev: Device, v: number): boolean {
  return dev.caps.msixEmulated?.includes(v) === true
}

function parentOf (world: World, dev: Device): Parent {
  const parent = dev.caps.parent === undefined ? undefined : world.parents.get(dev.caps.parent)
  if (parent === undefined) throw new Error(`device ${dev.id} names parent ${String(dev.caps.parent)}, which does not exist`)
  return parent
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
