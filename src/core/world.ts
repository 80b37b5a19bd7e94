import { createDevice } from './create-device.ts'
import { snapshotDevice, unchangedSince, vectorTable, type Abi, type Device, type DeviceCaps, type DeviceOrigin, type IrqType } from './device.ts'
import { Effects } from './effects.ts'
import { fail } from './errno.ts'
import { EventfdTable, OwnerFdMap, type Eventfd } from './eventfds.ts'
import { HostPool } from './host-pool.ts'
import type * as ModelTypes from './model-types.ts'
import type { IrqSetRequest } from './set-irqs/request.ts'
import { VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './constants.ts'
import { NO_TRIGGER } from './vectors.ts'
import { InterruptTotals } from './totals.ts'
import { deassignImsVector, Parent } from './ims.ts'
import { InterruptPath } from './interrupts.ts'
import { DEFAULT_OWNER } from './owner.ts'

/** Where an eventfd is used: the answer to "what is it bound to". */
export interface Binding { deviceId: string, index: number, vector: number, role: 'trigger' | 'unmask' }

/** What one tenant holds, counted as it changes (limits are checked against these). */
export interface Usage { devices: number, tableEntries: number }

/** MSI and MSI-X table entries a device has: what its per-vector state costs in memory. */
export const tableEntries = (caps: DeviceCaps): number => caps.msiVectors + caps.msixTableSize

/**
 * Every device, eventfd and host vector of one virq instance, and the operations on them that
 * more than one handler needs. Pure: no clock, no I/O; every change is recorded in Effects.
 */
export class World implements ModelTypes.World {
  readonly devices = new Map<string, Device>()
  /** IMS parents (docs/model.md 13), by id. */
  readonly parents = new Map<string, Parent>()
  readonly eventfds: EventfdTable
  readonly pool: HostPool
  /** Interrupt counters summed over every device (metrics read these, never the devices). */
  readonly totals = new InterruptTotals()
  /** What happens when something signals: eventfds, INTx automask and unmask, the virqfds (interrupts.ts). */
  readonly irq: InterruptPath = new InterruptPath(this)
  /**
   * Told just before an operation changes a device's INTx state (mask, line) or its INTx
   * counters, so that the store can undo exactly that operation if its commit fails.
   */
  beforeIntxChange: ((dev: Device) => void) | null = null
  /**
   * The bindings index: (owner, eventfd number) -> the devices that use it in any role, and
   * per device the numbers it uses. Rebuilt for a device wherever its triggers may change
   * (SET_IRQS, delete, restore, eventfd close), so that "what is this eventfd bound to"
   * visits only those devices, never every device.
   */
  private readonly boundDevices = new OwnerFdMap<Set<Device>>()
  private readonly devicesFds = new Map<Device, Set<number>>()
  /** Creation order of the devices, so that bindings list in device order as before. */
  private readonly ordinals = new WeakMap<Device, number>()
  private nextOrdinal = 0
  private readonly usageByOwner = new Map<string, Usage>()
  /** Every tenant's devices and table entries together. */
  readonly usageTotal: Usage = { devices: 0, tableEntries: 0 }

  constructor (poolCapacity: number) {
    this.pool = new HostPool(poolCapacity)
    this.eventfds = new EventfdTable()
  }

  /** Every tenant that holds devices now, with what it holds. */
  usages (): IterableIterator<[owner: string, usage: Usage]> {
    return this.usageByOwner.entries()
  }

  /** What `owner` holds now. */
  usageOf (owner: string): Usage {
    return this.usageByOwner.get(owner) ?? { devices: 0, tableEntries: 0 }
  }

  private countDevice (dev: Device, sign: 1 | -1): void {
    let u = this.usageByOwner.get(dev.owner)
    if (u === undefined) {
      u = { devices: 0, tableEntries: 0 }
      this.usageByOwner.set(dev.owner, u)
    }
    const entries = tableEntries(dev.caps)
    if (sign > 0) this.ordinals.set(dev, this.nextOrdinal++)
    u.devices += sign
    u.tableEntries += sign * entries
    if (u.devices === 0) this.usageByOwner.delete(dev.owner)
    this.usageTotal.devices += sign
    this.usageTotal.tableEntries += sign * entries
  }

  // ---- IMS parents (docs/model.md 13) ----

  addParent (id: string, name: string, owner: string, createdAt: string, imsSlots: number, fx: Effects): Parent {
    const parent = new Parent(id, name, owner, createdAt, imsSlots)
    this.parents.set(id, parent)
    fx.parents.add(parent)
    return parent
  }

  restoreParent (parent: Parent): void {
    this.parents.set(parent.id, parent)
  }

  /** A parent goes only once no device is created under it (EBUSY, like removing a busy PF's driver). */
  deleteParent (parent: Parent, fx: Effects): void {
    if (parent.devices.size > 0) {
      fail('EBUSY', 'parent-has-devices', `parent ${parent.name} still has ${parent.devices.size} device(s); delete them first`)
    }
    this.parents.delete(parent.id)
    fx.parents.delete(parent)
    fx.deletedParents.add(parent)
  }

  private parentOf (dev: Device): Parent {
    const parent = dev.caps.parent === undefined ? undefined : this.parents.get(dev.caps.parent)
    if (parent === undefined) throw new Error(`device ${dev.id}: parent ${String(dev.caps.parent)} does not exist`)
    return parent
  }

  // ---- devices ----

  addDevice (id: string, name: string, createdAt: string, abi: Abi, caps: DeviceCaps, fx: Effects, owner = DEFAULT_OWNER, origin: DeviceOrigin = {}): Device {
    if (caps.parent !== undefined) {
      const parent = this.parents.get(caps.parent)
      if (parent === undefined || parent.owner !== owner) fail('EINVAL', 'unknown-parent', `no parent ${caps.parent}`)
      parent.devices.add(id)
    }
    const dev = createDevice(id, name, createdAt, abi, caps, owner, origin)
    this.devices.set(id, dev)
    this.countDevice(dev, 1)
    fx.device(dev)
    return dev
  }

  /** Restores a stored device (with its vectors already in place) and rebuilds derived state. */
  restoreDevice (dev: Device): void {
    this.devices.set(dev.id, dev)
    this.countDevice(dev, 1)
    this.totals.addRestored(dev.counters)
    if (dev.ops.hostVectors) this.pool.take(dev.msi.hostHeld + dev.msix.hostHeld, dev.owner)
    if (dev.caps.parent !== undefined) this.parentOf(dev).devices.add(dev.id)
    dev.msixBacking?.restored(this, dev)
    if (dev.intx.unmaskFd !== NO_TRIGGER) this.irq.watchUnmask(dev, dev.intx.unmaskFd)
    this.reindex(dev)
  }

  /** Close (docs/model.md 9): disable through the count-0 path, release ERR/REQ, return host vectors. */
  deleteDevice (dev: Device, fx: Effects): void {
    this.closeDevice(dev, fx)
    this.devices.delete(dev.id)
    if (dev.caps.parent !== undefined) this.parentOf(dev).devices.delete(dev.id)
    this.totals.dropPending(dev.counters)
    this.countDevice(dev, -1)
    this.reindex(dev)
    fx.devices.delete(dev)
    fx.vectors.delete(dev)
    fx.deletedDevices.add(dev)
  }

  /**
   * The interrupt half of close (docs/model.md 9), for a device that stays: what a VMM's
   * disconnect does (docs/model.md 14). Disable the enabled index through the count-0 path,
   * release ERR/REQ, return the host vectors.
   */
  closeDevice (dev: Device, fx: Effects): void {
    if (dev.irqType === 'intx') this.disableIntx(dev, fx)
    else if (dev.irqType === 'msi' || dev.irqType === 'msix') this.disableMsi(dev, dev.irqType, fx)
    if (dev.errTrigger !== NO_TRIGGER || dev.reqTrigger !== NO_TRIGGER) {
      dev.errTrigger = NO_TRIGGER
      dev.reqTrigger = NO_TRIGGER
      fx.device(dev)
    }
    if (this.devices.get(dev.id) === dev) this.reindex(dev)
  }

  /** VFIO_DEVICE_RESET, as the device's driver answers it. */
  resetDevice (dev: Device, fx: Effects): void {
    dev.ops.reset(this, dev, fx)
  }

  /** vfio-pci's reset: VFIO-level state stays; the device stops driving its INTx line. */
  resetPciDevice (dev: Device, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    if (!dev.caps.reset) fail('EINVAL', 'reset-unsupported', 'this device does not support reset')
    this.lowerIntxLine(dev, fx)
  }

  /** A reset device stops driving its INTx line. */
  lowerIntxLine (dev: Device, fx: Effects): void {
    if (dev.intx.line) {
      dev.intx.line = false
      fx.device(dev)
    }
  }

  /**
   * VFIO_DEVICE_SET_IRQS. A call can touch a device and still leave it as it was (an enable
   * whose block fails is disabled again): then it is not a change, and its version stays.
   */
  setIrqs (dev: Device, req: IrqSetRequest, fx: Effects): number {
    const before = snapshotDevice(dev)
    try {
      return dev.ops.setIrqs(this, dev, req, fx)
    } finally {
      if (unchangedSince(before, dev)) fx.devices.delete(dev)
      else this.reindex(dev)
    }
  }

  // ---- signals ----

  /** write(2). Like the kernel, even a write of 0 wakes the virqfd, which then unmasks. */
  writeEventfd (efd: Eventfd, value: number, fx: Effects): void {
    this.eventfds.write(efd, value)
    fx.eventfd(efd)
    this.irq.wakeUnmaskWatchers(efd, fx)
  }

  readEventfd (efd: Eventfd, fx: Effects): number {
    const value = this.eventfds.read(efd)
    if (value !== 0) fx.eventfd(efd)
    return value
  }

  /** Gives back what readEventfd took when it could not be handed to a reader. */
  unreadEventfd (efd: Eventfd, value: number, fx: Effects): void {
    if (this.eventfds.get(efd.fd, efd.owner) !== efd) return // closed meanwhile: the value went with it
    this.eventfds.unread(efd, value)
    fx.eventfd(efd)
  }

  // ---- INTx ----

  enableIntx (dev: Device, trigger: number, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    dev.irqType = 'intx'
    dev.intx.trigger = trigger
    dev.intx.masked = false
    fx.device(dev)
    if (dev.intx.line) this.irq.raiseIntx(dev, fx)
  }

  setIntxTrigger (dev: Device, trigger: number, fx: Effects): void {
    if (dev.intx.trigger === trigger) return
    dev.intx.trigger = trigger
    fx.device(dev)
  }

  disableIntx (dev: Device, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    this.removeUnmaskEventfd(dev, fx)
    dev.irqType = 'none'
    dev.intx.trigger = NO_TRIGGER
    dev.intx.masked = false
    fx.device(dev)
  }

  installUnmaskEventfd (dev: Device, efd: Eventfd, fx: Effects): void {
    dev.intx.unmaskFd = efd.fd
    fx.device(dev)
    this.irq.watchUnmask(dev, efd.fd)
    // A value already waiting unmasks at once but stays in the counter (vfs_poll at enable).
    if (efd.value !== 0) this.irq.unmaskIntx(dev, fx)
  }

  removeUnmaskEventfd (dev: Device, fx: Effects): void {
    const fd = dev.intx.unmaskFd
    if (fd === NO_TRIGGER) return
    dev.intx.unmaskFd = NO_TRIGGER
    fx.device(dev)
    this.irq.unwatchUnmask(dev, fd)
  }

  // ---- MSI / MSI-X ----

  /** vfio_msi_enable(): 0, or the positive "only this many" answer with nothing enabled. */
  enableMsi (dev: Device, type: IrqType, nvec: number, fx: Effects): number {
    if (nvec === 0) fail('ERANGE', 'no-vectors', 'enabling needs at least one vector (start + count is 0)')
    if (type === 'msix' && dev.msixBacking !== null) return dev.msixBacking.enable(this, dev, nvec, fx) // docs/model.md 13
    const partial = this.pool.allocate(nvec, dev.owner)
    if (partial > 0) return partial
    const table = type === 'msix' ? dev.msix : dev.msi
    for (let v = 0; v < nvec; v++) {
      table.allocate(v)
      fx.vector(dev, type === 'msix', v)
    }
    table.enabledNvec = nvec
    dev.irqType = type
    fx.device(dev)
    return 0
  }

  /** vfio_msi_disable(): drop every trigger and give every host vector back at once. */
  disableMsi (dev: Device, type: IrqType, fx: Effects): void {
    const msix = type === 'msix'
    const table = vectorTable(dev, msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX)
    for (let v = 0; v < table.size; v++) {
      if (table.allocated[v] !== 0 || table.trigger[v] !== NO_TRIGGER) fx.vector(dev, msix, v)
    }
    const held = table.clear()
    if (dev.ops.hostVectors) this.pool.release(held, dev.owner)
    if (msix) dev.msixBacking?.released(this, dev, held)
    dev.irqType = 'none'
    fx.device(dev)
  }

  // ---- eventfds ----

  /** The eventfd numbers a device uses now, in any role. */
  private fdsOf (dev: Device): Set<number> {
    const fds = new Set<number>()
    for (const fd of [dev.intx.trigger, dev.intx.unmaskFd, dev.errTrigger, dev.reqTrigger]) if (fd !== NO_TRIGGER) fds.add(fd)
    for (const table of [dev.msi, dev.msix]) {
      for (let v = 0; v < table.size; v++) if (table.trigger[v] !== NO_TRIGGER) fds.add(table.trigger[v])
    }
    return fds
  }

  /** Brings the bindings index up to date for one device (a deleted one leaves it). */
  private reindex (dev: Device): void {
    const before = this.devicesFds.get(dev)
    const now = this.devices.get(dev.id) === dev ? this.fdsOf(dev) : new Set<number>()
    if (before !== undefined) {
      for (const fd of before) {
        if (now.has(fd)) continue
        const set = this.boundDevices.get(dev.owner, fd)
        set?.delete(dev)
        if (set?.size === 0) this.boundDevices.delete(dev.owner, fd)
      }
    }
    for (const fd of now) {
      if (before?.has(fd) === true) continue
      let set = this.boundDevices.get(dev.owner, fd)
      if (set === undefined) {
        set = new Set()
        this.boundDevices.set(dev.owner, fd, set)
      }
      set.add(dev)
    }
    if (now.size === 0) this.devicesFds.delete(dev)
    else this.devicesFds.set(dev, now)
  }

  /** Everything that uses an eventfd, in device order; visits only the devices that use it. */
  bindingsOf (efd: Eventfd): Binding[] {
    const out: Binding[] = []
    const users = this.boundDevices.get(efd.owner, efd.fd)
    if (users === undefined) return out
    const fd = efd.fd
    const order = (dev: Device): number => this.ordinals.get(dev) ?? 0
    for (const dev of [...users].sort((a, b) => order(a) - order(b))) {
      if (dev.intx.trigger === fd) out.push({ deviceId: dev.id, index: 0, vector: 0, role: 'trigger' })
      if (dev.intx.unmaskFd === fd) out.push({ deviceId: dev.id, index: 0, vector: 0, role: 'unmask' })
      for (const [index, table] of [[1, dev.msi], [2, dev.msix]] as const) {
        for (let v = 0; v < table.size; v++) {
          if (table.trigger[v] === fd) out.push({ deviceId: dev.id, index, vector: v, role: 'trigger' })
        }
      }
      if (dev.errTrigger === fd) out.push({ deviceId: dev.id, index: 3, vector: 0, role: 'trigger' })
      if (dev.reqTrigger === fd) out.push({ deviceId: dev.id, index: 4, vector: 0, role: 'trigger' })
    }
    return out
  }

  /** close(): refused while bound unless `force`, which first de-assigns it everywhere. */
  deleteEventfd (efd: Eventfd, force: boolean, fx: Effects): void {
    const bindings = this.bindingsOf(efd)
    if (bindings.length > 0 && !force) {
      fail('EBUSY', 'eventfd-bound', `eventfd ${efd.fd} is bound to ${bindings.length} interrupt(s); de-assign it or pass force=true`)
    }
    for (const b of bindings) {
      const dev = this.devices.get(b.deviceId)
      if (dev === undefined) continue
      if (b.role === 'unmask') this.removeUnmaskEventfd(dev, fx)
      else if (b.index === 0) this.setIntxTrigger(dev, NO_TRIGGER, fx)
      else if (b.index === 3) { dev.errTrigger = NO_TRIGGER; fx.device(dev) } else if (b.index === 4) { dev.reqTrigger = NO_TRIGGER; fx.device(dev) } else if (b.index === VFIO_PCI_MSIX_IRQ_INDEX && dev.msixBacking !== null) deassignImsVector(this, dev, b.vector, fx)
      else {
        vectorTable(dev, b.index).trigger[b.vector] = NO_TRIGGER
        fx.vector(dev, b.index === VFIO_PCI_MSIX_IRQ_INDEX, b.vector)
      }
    }
    for (const b of bindings) {
      const dev = this.devices.get(b.deviceId)
      if (dev !== undefined) this.reindex(dev)
    }
    this.eventfds.remove(efd)
    fx.eventfds.delete(efd)
    fx.deletedEventfds.add(efd)
  }
}

export { Effects }
