import type { Device, DeviceInfo } from '../device.ts'
import type { Effects } from '../effects.ts'
import type { AbiProfile } from '../profiles.ts'
import type { IrqSetRequest } from '../set-irqs/request.ts'
import type { World } from '../world.ts'
import { KVMGT } from './kvmgt.ts'
import { mttyOps } from './mtty.ts'
import { VFIO_PCI } from './vfio-pci.ts'

// The three drivers of the seed's patch (docs/model.md 12), as data: one entry per driver and
// era, holding its GET_INFO / GET_IRQ_INFO / SET_IRQS / RESET answers and its traits. The
// model calls through a device's `ops`; nothing compares driver names.

/** What one driver does, in one kernel era. */
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

export const DRIVER_NAMES = ['vfio-pci', 'mtty', 'kvmgt'] as const
export type DriverName = (typeof DRIVER_NAMES)[number]
export const DEFAULT_DRIVER: DriverName = 'vfio-pci'

/** A driver's answers for the era a profile names (mtty changed in 6.7; the others did not). */
export function driverOps (driver: DriverName, profile: AbiProfile): DriverOps {
  switch (driver) {
    case 'vfio-pci': return VFIO_PCI
    case 'mtty': return mttyOps(profile.mttyEra)
    case 'kvmgt': return KVMGT
  }
}
