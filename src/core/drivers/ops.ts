// The drivers' names, apart from the drivers themselves (index.ts holds the table of them).
// What a driver does, DriverOps, is declared beside the Device in model-types.ts: a device
// holds its driver's ops and the ops take the device, so the two are declared together, and
// this module stays a leaf that the device, the templates and the HTTP schemas can all name.

export const DRIVER_NAMES = ['vfio-pci', 'mtty', 'kvmgt'] as const
export type DriverName = (typeof DRIVER_NAMES)[number]
export const DEFAULT_DRIVER: DriverName = 'vfio-pci'

/**
 * Whether a driver's MSI/MSI-X vectors are host interrupts from the pool (vfio-pci), which an
 * IMS store can back instead (docs/model.md 13). An mdev driver (mtty, kvmgt) signals its
 * eventfds in software. Each driver's `DriverOps.hostVectors` is its entry here.
 */
export const HOST_VECTORS: Readonly<Record<DriverName, boolean>> = { 'vfio-pci': true, mtty: false, kvmgt: false }
