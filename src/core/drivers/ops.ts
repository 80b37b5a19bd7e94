import type { Device, DeviceInfo } from '../device.ts'
import type { Effects } from '../effects.ts'
import type { IrqSetRequest } from '../set-irqs/request.ts'
import type { World } from '../world.ts'

// What a driver is, apart from the drivers themselves (index.ts holds the table of them), so
// that a device and each driver can name the shape without importing one another.

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
