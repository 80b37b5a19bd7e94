import { createDevice, snapshotDevice, unchangedSince, vectorTable, type Abi, type Device, type DeviceCaps, type DeviceOrigin, type IrqType } from './device.ts'
import { Effects } from './effects.ts'
import { fail } from './errno.ts'
import { EventfdTable, type Eventfd } from './eventfds.ts'
import { HostPool } from './host-pool.ts'
import type { IrqSetRequest } from './set-irqs/request.ts'
import { VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './constants.ts'
import { NO_TRIGGER } from './vectors.ts'
import { LOST_NO_TRIGGER } from './counters.ts'

/** Where an eventfd is used: the answer to "what is it bound to". */
export interface Binding { deviceId: string, index: number, vector: number, role: 'trigger' | 'unmask' }

/**
 * Every device, eventfd and host vector of one virq instance, and the operations on them that
 * more than one handler needs. Pure: no clock, no I/O; every change is recorded in Effects.
 */
export class World {
  readonly devices = new Map<string, Device>()
  readonly eventfds: EventfdTable
  readonly pool: HostPool
  /** eventfd number -> devices whose INTx it unmasks (the virqfds). */
  private readonly unmaskWatchers = new Map<number, Set<Device>>()
  private inUnmaskWakeup = false
  /**
   * Told just before an operation changes a device's INTx state (mask, line) or its INTx
   * counters, so that the store can undo exactly that operation if its commit fails.
   */
  beforeIntxChange: ((dev: Device) => void) | null = null

  constructor (poolCapacity: number, nextFd = 1) {
    this.pool = new HostPool(poolCapacity)
    this.eventfds = new EventfdTable(nextFd)
  }

  // ---- devices ----

  addDevice (id: string, name: string, createdAt: string, abi: Abi, caps: DeviceCaps, fx: Effects, owner = 'default', origin: DeviceOrigin = {}): Device {
    const dev = createDevice(id, name, createdAt, abi, caps, owner, origin)
    this.devices.set(id, dev)
    fx.device(dev)
    return dev
  }

  /** Restores a stored device (with its vectors already in place) and rebuilds derived state. */
  restoreDevice (dev: Device): void {
    this.devices.set(dev.id, dev)
    if (dev.ops.hostVectors) this.pool.take(dev.msi.allocatedCount + dev.msix.allocatedCount, dev.owner)
    if (dev.intx.unmaskFd !== NO_TRIGGER) this.watchUnmask(dev.intx.unmaskFd, dev)
  }

  /** Close (docs/model.md 9): disable through the count-0 path, release ERR/REQ, return host vectors. */
  deleteDevice (dev: Device, fx: Effects): void {
    if (dev.irqType === 'intx') this.disableIntx(dev, fx)
    else if (dev.irqType === 'msi' || dev.irqType === 'msix') this.disableMsi(dev, dev.irqType, fx)
    dev.errTrigger = NO_TRIGGER
    dev.reqTrigger = NO_TRIGGER
    this.devices.delete(dev.id)
    fx.devices.delete(dev)
    fx.vectors.delete(dev)
    fx.deletedDevices.add(dev)
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
    }
  }

  // ---- signals ----

  /** Signal a trigger if there is one. Returns whether anything was signalled. */
  signalTrigger (fd: number, fx: Effects): boolean {
    if (fd === NO_TRIGGER) return false
    const efd = this.eventfds.get(fd)
    if (efd === undefined) return false
    this.signal(efd, 1, fx)
    return true
  }

  /** eventfd_signal(); an unmask eventfd (virqfd) then unmasks its INTx (and consumes the value). */
  signal (efd: Eventfd, n: number, fx: Effects): void {
    this.eventfds.signal(efd, n)
    fx.eventfd(efd)
    this.runUnmaskWatchers(efd, fx)
  }

  /** write(2). Like the kernel, even a write of 0 wakes the virqfd, which then unmasks. */
  writeEventfd (efd: Eventfd, value: number, fx: Effects): void {
    this.eventfds.write(efd, value)
    fx.eventfd(efd)
    this.runUnmaskWatchers(efd, fx)
  }

  /**
   * The virqfd wakeup. An eventfd that is both a line's trigger and its unmask eventfd would
   * loop (raise, signal, unmask, raise...): like the kernel, which refuses an eventfd signal
   * from inside an eventfd wakeup, a signal made while the watchers run adds to the counter
   * but does not run them again.
   */
  private runUnmaskWatchers (efd: Eventfd, fx: Effects): void {
    const watchers = this.unmaskWatchers.get(efd.fd)
    if (watchers === undefined || this.inUnmaskWakeup) return
    this.inUnmaskWakeup = true
    try {
      // The virqfd consumes the value (5.10's left it in the counter: model 5.1).
      let consume = false
      for (const dev of watchers) consume ||= dev.profile.unmaskEventfdConsumesValue
      if (consume) this.eventfds.read(efd)
      for (const dev of watchers) this.unmaskIntx(dev, fx)
    } finally {
      this.inUnmaskWakeup = false
    }
  }

  readEventfd (efd: Eventfd, fx: Effects): number {
    const value = this.eventfds.read(efd)
    if (value !== 0) fx.eventfd(efd)
    return value
  }

  // ---- INTx ----

  enableIntx (dev: Device, trigger: number, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    dev.irqType = 'intx'
    dev.intx.trigger = trigger
    dev.intx.masked = false
    fx.device(dev)
    if (dev.intx.line) this.raiseIntx(dev, fx)
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

  maskIntx (dev: Device, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    if (dev.intx.masked) return
    dev.intx.masked = true
    fx.device(dev)
  }

  /** Unmask; a line the device still drives masks again at once and is delivered again. */
  unmaskIntx (dev: Device, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    if (dev.irqType !== 'intx' || !dev.intx.masked) return
    dev.intx.masked = false
    fx.device(dev)
    if (dev.intx.line) this.raiseIntx(dev, fx)
  }

  /**
   * The INTx handler (vfio_intx_handler): automask, then signal the trigger. Every raise is an
   * interrupt at the host, so it is counted here whether an assert, an enable or an unmask
   * caused it.
   */
  raiseIntx (dev: Device, fx: Effects): void {
    this.beforeIntxChange?.(dev)
    if (dev.ops.intxAutomask) {
      dev.intx.masked = true
      fx.device(dev)
    }
    const c = dev.counters[0]
    fx.countersOf(dev)
    c.touch(0)
    c.fired[0] += 1
    if (this.signalTrigger(dev.intx.trigger, fx)) c.delivered[0] += 1
    else c.lost[LOST_NO_TRIGGER][0] += 1
  }

  installUnmaskEventfd (dev: Device, efd: Eventfd, fx: Effects): void {
    dev.intx.unmaskFd = efd.fd
    fx.device(dev)
    this.watchUnmask(efd.fd, dev)
    // A value already waiting unmasks at once but stays in the counter (vfs_poll at enable).
    if (efd.value !== 0) this.unmaskIntx(dev, fx)
  }

  removeUnmaskEventfd (dev: Device, fx: Effects): void {
    const fd = dev.intx.unmaskFd
    if (fd === NO_TRIGGER) return
    dev.intx.unmaskFd = NO_TRIGGER
    fx.device(dev)
    const watchers = this.unmaskWatchers.get(fd)
    watchers?.delete(dev)
    if (watchers?.size === 0) this.unmaskWatchers.delete(fd)
  }

  private watchUnmask (fd: number, dev: Device): void {
    let watchers = this.unmaskWatchers.get(fd)
    if (watchers === undefined) {
      watchers = new Set()
      this.unmaskWatchers.set(fd, watchers)
    }
    watchers.add(dev)
  }

  // ---- MSI / MSI-X ----

  /** vfio_msi_enable(): 0, or the positive "only this many" answer with nothing enabled. */
  enableMsi (dev: Device, type: IrqType, nvec: number, fx: Effects): number {
    if (nvec === 0) fail('ERANGE', 'no-vectors', 'enabling needs at least one vector (start + count is 0)')
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
    dev.irqType = 'none'
    fx.device(dev)
  }

  // ---- eventfds ----

  /** Everything that uses an eventfd, in device order. */
  bindingsOf (fd: number): Binding[] {
    const out: Binding[] = []
    for (const dev of this.devices.values()) {
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
    const bindings = this.bindingsOf(efd.fd)
    if (bindings.length > 0 && !force) {
      fail('EBUSY', 'eventfd-bound', `eventfd ${efd.fd} is bound to ${bindings.length} interrupt(s); de-assign it or pass force=true`)
    }
    for (const b of bindings) {
      const dev = this.devices.get(b.deviceId)
      if (dev === undefined) continue
      if (b.role === 'unmask') this.removeUnmaskEventfd(dev, fx)
      else if (b.index === 0) this.setIntxTrigger(dev, NO_TRIGGER, fx)
      else if (b.index === 3) { dev.errTrigger = NO_TRIGGER; fx.device(dev) }
      else if (b.index === 4) { dev.reqTrigger = NO_TRIGGER; fx.device(dev) }
      else {
        vectorTable(dev, b.index).trigger[b.vector] = NO_TRIGGER
        fx.vector(dev, b.index === VFIO_PCI_MSIX_IRQ_INDEX, b.vector)
      }
    }
    this.eventfds.remove(efd.fd)
    fx.eventfds.delete(efd)
    fx.deletedEventfds.add(efd.fd)
  }
}

export { Effects }
