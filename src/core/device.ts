import {
  VFIO_IRQ_INFO_NORESIZE, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX, SIZEOF_VFIO_DEVICE_INFO, SIZEOF_VFIO_IRQ_INFO
} from './constants.ts'
import { fail } from './errno.ts'
import type { DriverName } from './drivers/ops.ts'
import type { Device, DeviceInfo, Effects, PciIds } from './model-types.ts'
import type { TemplateName } from './templates.ts'
import type { VectorTable } from './vectors.ts'

export { ABIS, DEFAULT_ABI, type Abi } from './profiles.ts'
// The Device and the plain types around it are declared with the other types they name, in
// model-types.ts; they are exported from here too, where the functions on a device are.
export type { DeviceCaps } from './device-caps.ts'
export type { Device, DeviceInfo, IntxState, IrqType, PciIds } from './model-types.ts'

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

/** Byte for byte, by the native memcmp of Buffer.equals (a table has up to 2,048 entries). */
const bytes = (a: Uint8Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
const sameArray = (a: Uint8Array | Int32Array, b: Uint8Array | Int32Array): boolean => a.length === b.length && bytes(a).equals(bytes(b))

export function unchangedSince (snap: DeviceSnapshot, dev: Device): boolean {
  return snap.scalars === scalars(dev) &&
    sameArray(snap.msiAllocated, dev.msi.allocated) && sameArray(snap.msiTrigger, dev.msi.trigger) &&
    sameArray(snap.msixAllocated, dev.msix.allocated) && sameArray(snap.msixTrigger, dev.msix.trigger) &&
    sameArray(snap.msixUserMask, dev.msix.userMask)
}
