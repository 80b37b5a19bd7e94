import type { IrqCounters } from './counters.ts'
import type { DeviceCaps } from './device-caps.ts'
import type { DriverName } from './drivers/ops.ts'
import type { Eventfd, EventfdTable } from './eventfds.ts'
import type { HostPool } from './host-pool.ts'
import type { Parent } from './parent.ts'
import type { Abi, AbiProfile } from './profiles.ts'
import type { IrqSetRequest } from './set-irqs/request.ts'
import type { TemplateName } from './templates.ts'
import type { InterruptTotals } from './totals.ts'
import type { VectorTable } from './vectors.ts'

// The model's types that name one another, declared once, here, as a C header declares the
// structs its .c files share. A device holds its driver's ops; the ops, the IMS backing, the
// SET_IRQS handlers and the interrupt path take the world and the effects; the world holds
// devices. Declared in their own modules those would import one another, so they are declared
// here and every module of core imports them from here.
//
// The rule that keeps this a leaf: this module holds types only (nothing in it runs) and
// imports only modules that import nothing back from core's rules: the plain data and tables
// (counters, vectors, eventfds, host-pool, totals, profiles, parent), the request struct,
// and the names of drivers and templates. `World`, `Effects` and `InterruptPath` below are
// the parts of the classes in world.ts, effects.ts and interrupts.ts that the modules beneath
// the World use; those classes implement them, so the two cannot drift apart.

/** vdev->irq_type: at most one of INTx, MSI, MSI-X is enabled. */
export type IrqType = 'none' | 'intx' | 'msi' | 'msix'

export interface IntxState {
  trigger: number
  /** The unmask eventfd (virqfd) or NO_TRIGGER. */
  unmaskFd: number
  masked: boolean
  /** The level the device drives on its pin (docs/model.md 7). */
  line: boolean
}

/** A PCI identity given on create (vendor, device, 24-bit class code); what a vfio-user client reads (docs/model.md 14). */
export interface PciIds { vendor: number, device: number, class: number }

export interface Device {
  readonly id: string
  /** The tenant that created it; eventfds of another tenant cannot be bound to it (EBADF). */
  readonly owner: string
  readonly name: string
  readonly createdAt: string
  readonly abi: Abi
  /** What the abi does differently, as data (profiles.ts). */
  readonly profile: AbiProfile
  readonly caps: DeviceCaps
  /** Whose answers the device gives (docs/model.md 12): vfio-pci, or an mdev driver. */
  readonly driver: DriverName
  /** The driver's handlers and traits for this device's era (DriverOps below; the table is drivers/index.ts). */
  readonly ops: DriverOps
  /** The template the capabilities came from, or null. */
  readonly template: TemplateName | null
  /** The PCI identity given on create, or null (then the template's, or a default). */
  readonly pci: PciIds | null
  /** Driver-private state beyond the VFIO state below (a bit set; mtty's, see drivers/mtty.ts). */
  driverState: number
  /** Grows with every state change; also the ETag. */
  version: number
  irqType: IrqType
  readonly intx: IntxState
  readonly msi: VectorTable
  readonly msix: VectorTable
  /** How MSI-X vectors get their backing: null for host vectors (docs/model.md 5-6), IMS_BACKING under a parent (13). */
  readonly msixBacking: MsixBacking | null
  errTrigger: number
  reqTrigger: number
  /** Device-originated interrupts per index and vector (docs/model.md 7). */
  readonly counters: readonly IrqCounters[]
}

export interface DeviceInfo { argsz: number, flags: number, numRegions: number, numIrqs: number }

/** What one driver does, in one kernel era (the drivers are drivers/*.ts, their table drivers/index.ts). */
export interface DriverOps {
  readonly driver: DriverName
  /** The kernel source the answers follow. */
  readonly source: string
  /**
   * MSI/MSI-X vectors are host interrupts from the pool (vfio-pci). An mdev driver signals its
   * eventfd in software: no host vector, nothing "not allocated".
   */
  readonly hostVectors: boolean
  /** The INTx handler masks the line when it signals (AUTOMASKED); the pre-6.7 mtty did not. */
  readonly intxAutomask: boolean
  /** GET_INFO's flags, regions and irqs (after the argsz check). */
  info: (dev: Device) => Omit<DeviceInfo, 'argsz'>
  /** What a GET_INFO changes in the driver (mtty keeps dev_info, which GET_IRQ_INFO reads). */
  onGetInfo: (dev: Device, fx: Effects) => void
  /** GET_IRQ_INFO after the argsz check: flags and count, or EINVAL (thrown). */
  irqInfo: (dev: Device, index: number) => { flags: number, count: number }
  /** SET_IRQS: validation and handlers. */
  setIrqs: (world: World, dev: Device, req: IrqSetRequest, fx: Effects) => number
  /** VFIO_DEVICE_RESET. */
  reset: (world: World, dev: Device, fx: Effects) => void
}

/** How an MSI-X index's vectors get their backing: the IMS RFC's vfio_pci_intr_ops, as data (ims.ts). */
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

// World, Effects and InterruptPath are written with method signatures, not function-typed
// properties: the classes' methods take the whole Effects class, and TypeScript checks method
// parameters both ways, so the classes implement these without each method restating them.
// There is one Effects class; every Effects a rule receives is one of them.

/** Where an operation records what it changed: the part of Effects (effects.ts) the rules call. */
export interface Effects {
  /** Devices whose VFIO state changed (the interrupt path takes one out again when nothing did). */
  readonly devices: Set<Device>
  device (dev: Device): void
  /** MSI (msix false) or MSI-X vector `v` of the device must be rewritten. */
  vector (dev: Device, msix: boolean, v: number): void
  eventfd (efd: Eventfd): void
  countersOf (dev: Device): void
}

/** eventfd_signal(), the INTx handler, mask and unmask: the part of InterruptPath (interrupts.ts) the rules call. */
export interface InterruptPath {
  /** Signal a device's trigger (a number in its owner's table) if there is one. Returns whether anything was signalled. */
  signalTrigger (dev: Device, fd: number, fx: Effects): boolean
  signal (efd: Eventfd, n: number, fx: Effects): void
  /** Whether some eventfd unmasks an INTx when signalled (a virqfd): then every signal must run it. */
  readonly watchesUnmask: boolean
  raiseIntx (dev: Device, fx: Effects): void
  maskIntx (dev: Device, fx: Effects): void
  unmaskIntx (dev: Device, fx: Effects): void
}

/**
 * The part of World (world.ts) that the drivers, the SET_IRQS handlers, the IMS backing, the
 * masking rules and the interrupt path use: the host's tables, and the state changes more than
 * one handler makes.
 */
export interface World {
  readonly eventfds: EventfdTable
  readonly pool: HostPool
  readonly parents: ReadonlyMap<string, Parent>
  readonly totals: InterruptTotals
  readonly irq: InterruptPath
  /** Told before an operation changes a device's INTx state, so that the store can undo it. */
  readonly beforeIntxChange: ((dev: Device) => void) | null
  lowerIntxLine (dev: Device, fx: Effects): void
  resetPciDevice (dev: Device, fx: Effects): void
  enableIntx (dev: Device, trigger: number, fx: Effects): void
  setIntxTrigger (dev: Device, trigger: number, fx: Effects): void
  disableIntx (dev: Device, fx: Effects): void
  installUnmaskEventfd (dev: Device, efd: Eventfd, fx: Effects): void
  removeUnmaskEventfd (dev: Device, fx: Effects): void
  enableMsi (dev: Device, type: IrqType, nvec: number, fx: Effects): number
  disableMsi (dev: Device, type: IrqType, fx: Effects): void
}
