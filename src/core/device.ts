import {
  VFIO_IRQ_INFO_NORESIZE, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX, SIZEOF_VFIO_DEVICE_INFO, SIZEOF_VFIO_IRQ_INFO
} from './constants.ts'
import { fail } from './errno.ts'
import type { DriverName, DriverOps } from './drivers/ops.ts'
import type { Effects } from './effects.ts'
import type { TemplateName } from './templates.ts'
import type { IrqCounters } from './counters.ts'
import type { VectorTable } from './vectors.ts'
import type { Abi, AbiProfile } from './profiles.ts'
import type { MsixBacking } from './ims.ts'

export { ABIS, DEFAULT_ABI, type Abi } from './profiles.ts'

/** vdev->irq_type: at most one of INTx, MSI, MSI-X is enabled. */
export type IrqType = 'none' | 'intx' | 'msi' | 'msix'

export interface DeviceCaps {
  pcie: boolean
  reset: boolean
  /** An interrupt pin. */
  intx: boolean
  /** MSI capability's vector count, 0 without MSI. */
  msiVectors: number
  /** MSI-X table size, 0 without MSI-X. */
  msixTableSize: number
  /** Dynamic MSI-X allocation (only where the abi's profile has dynamicMsix). */
  msixDynamic: boolean
  /** MSI with per-vector masking: its vectors get mask and pending bits (docs/model.md 11.1). Default false. */
  msiPerVectorMask?: boolean
  /** MSI-X MASKABLE, a virq extension: MASK/UNMASK on MSI-X (docs/model.md 11.4). Default false. */
  msixMaskable?: boolean
  /** The parent whose IMS store backs the MSI-X vectors (docs/model.md 13); absent: host vectors. */
  parent?: string
  /** IMS-backed devices: MSI-X vectors signalled in software, holding no slot (docs/model.md 13). */
  msixEmulated?: readonly number[]
}

export interface IntxState {
  trigger: number
  /** The unmask eventfd (virqfd) or NO_TRIGGER. */
  unmaskFd: number
  masked: boolean
  /** The level the device drives on its pin (docs/model.md 7). */
  line: boolean
}

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
  /** The driver's handlers and traits for this device's era (drivers/ops.ts; the table is drivers/index.ts). */
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

/** A PCI identity given on create (vendor, device, 24-bit class code); what a vfio-user client reads (docs/model.md 14). */
export interface PciIds { vendor: number, device: number, class: number }

export interface DeviceOrigin { driver?: DriverName, template?: TemplateName | null, pci?: PciIds | null }

/** vfio_pci_get_irq_count(). */
export function irqCount (dev: Device, index: number): number {
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX: return dev.caps.intx ? 1 : 0
    case VFIO_PCI_MSI_IRQ_INDEX: return dev.caps.msiVectors
    case VFIO_PCI_MSIX_IRQ_INDEX: return dev.caps.msixTableSize
    case VFIO_PCI_ERR_IRQ_INDEX: return dev.caps.pcie ? 1 : 0
    case VFIO_PCI_REQ_IRQ_INDEX: return 1
    default: return 0
  }
}

/**
 * vdev->has_dyn_msix: needs a kernel with dynamic MSI-X and an MSI-X capability. IMS-backed
 * MSI-X is dynamic under every abi (docs/model.md 13).
 */
export function hasDynamicMsix (dev: Device): boolean {
  const dynamic = dev.msixBacking?.alwaysDynamic === true || (dev.profile.dynamicMsix && dev.caps.msixDynamic)
  return dynamic && dev.caps.msixTableSize > 0
}

export function vectorTable (dev: Device, index: number): VectorTable {
  return index === VFIO_PCI_MSIX_IRQ_INDEX ? dev.msix : dev.msi
}

export interface DeviceInfo { argsz: number, flags: number, numRegions: number, numIrqs: number }

/** GET_INFO's answer without its side effects: what the device resource shows. */
export function deviceInfo (dev: Device): Omit<DeviceInfo, 'argsz'> {
  return dev.ops.info(dev)
}

/** VFIO_DEVICE_GET_INFO: the driver answers; mtty also remembers it (`fx` records that). */
export function getDeviceInfo (dev: Device, argsz: number, fx?: Effects): DeviceInfo {
  if (argsz < SIZEOF_VFIO_DEVICE_INFO) {
    fail('EINVAL', 'argsz-too-small', `argsz ${argsz} is below ${SIZEOF_VFIO_DEVICE_INFO}, the size of struct vfio_device_info`)
  }
  const info = dev.ops.info(dev)
  if (fx !== undefined) dev.ops.onGetInfo(dev, fx)
  return { argsz, ...info }
}

export interface IrqInfo { argsz: number, flags: number, index: number, count: number }

/**
 * VFIO_DEVICE_GET_IRQ_INFO: argsz first (every driver), then the driver's own answer. Under
 * the seed's patch (a profile without reportsNoresize) no driver reports NORESIZE (docs/model.md 12).
 */
export function getIrqInfo (dev: Device, argsz: number, index: number): IrqInfo {
  if (argsz < SIZEOF_VFIO_IRQ_INFO) {
    fail('EINVAL', 'argsz-too-small', `argsz ${argsz} is below ${SIZEOF_VFIO_IRQ_INFO}, the size of struct vfio_irq_info`)
  }
  const { flags, count } = dev.ops.irqInfo(dev, index)
  return { argsz, flags: dev.profile.reportsNoresize ? flags : flags & ~VFIO_IRQ_INFO_NORESIZE, index, count }
}

/** A copy of a device's VFIO state, to tell whether an operation changed it at all. */
export interface DeviceSnapshot {
  scalars: string
  msiAllocated: Uint8Array
  msiTrigger: Int32Array
  msixAllocated: Uint8Array
  msixTrigger: Int32Array
  msixUserMask: Uint8Array
}

function scalars (dev: Device): string {
  const { intx } = dev
  return `${dev.driverState}|${dev.irqType}|${intx.trigger}|${intx.unmaskFd}|${+intx.masked}|${+intx.line}|${dev.errTrigger}|${dev.reqTrigger}|${dev.msi.enabledNvec}|${dev.msix.enabledNvec}`
}

export function snapshotDevice (dev: Device): DeviceSnapshot {
  return {
    scalars: scalars(dev),
    msiAllocated: dev.msi.allocated.slice(),
    msiTrigger: dev.msi.trigger.slice(),
    msixAllocated: dev.msix.allocated.slice(),
    msixTrigger: dev.msix.trigger.slice(),
    msixUserMask: dev.msix.userMask.slice()
  }
}

const sameArray = (a: Uint8Array | Int32Array, b: Uint8Array | Int32Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function unchangedSince (snap: DeviceSnapshot, dev: Device): boolean {
  return snap.scalars === scalars(dev) &&
    sameArray(snap.msiAllocated, dev.msi.allocated) && sameArray(snap.msiTrigger, dev.msi.trigger) &&
    sameArray(snap.msixAllocated, dev.msix.allocated) && sameArray(snap.msixTrigger, dev.msix.trigger) &&
    sameArray(snap.msixUserMask, dev.msix.userMask)
}
