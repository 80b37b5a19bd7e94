import type { AbiProfile } from '../profiles.ts'
import type { DriverOps } from '../model-types.ts'
import type { DriverName } from './ops.ts'
import { KVMGT } from './kvmgt.ts'
import { mttyOps } from './mtty.ts'
import { VFIO_PCI } from './vfio-pci.ts'

// The three drivers of the seed's patch (docs/model.md 12), as data: one entry per driver and
// era, holding its GET_INFO / GET_IRQ_INFO / SET_IRQS / RESET answers and its traits. The
// model calls through a device's `ops`; nothing compares driver names.

export { DEFAULT_DRIVER, DRIVER_NAMES, type DriverName } from './ops.ts'
export type { DriverOps } from '../model-types.ts'

/** A driver's answers for the era a profile names (mtty changed in 6.7; the others did not). */
export function driverOps (driver: DriverName, profile: AbiProfile): DriverOps {
  switch (driver) {
    case 'vfio-pci': return VFIO_PCI
    case 'mtty': return mttyOps(profile.mttyEra)
    case 'kvmgt': return KVMGT
  }
}
