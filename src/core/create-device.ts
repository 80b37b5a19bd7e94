import { IrqCounters } from './counters.ts'
import type { Device, DeviceCaps, DeviceOrigin } from './device.ts'
import { driverOps } from './drivers/index.ts'
import { IMS_BACKING } from './ims.ts'
import { abiProfile, type Abi } from './profiles.ts'
import { NO_TRIGGER, VectorTable } from './vectors.ts'
import { DEFAULT_OWNER } from './owner.ts'

// A new device: its profile and driver resolved once, so that nothing on the request path
// looks either up by name again. Kept apart from device.ts, which the drivers themselves read.

export function createDevice (id: string, name: string, createdAt: string, abi: Abi, caps: DeviceCaps, owner = DEFAULT_OWNER, origin: DeviceOrigin = {}): Device {
  const profile = abiProfile(abi)
  const driver = origin.driver ?? 'vfio-pci'
  return {
    id,
    owner,
    name,
    createdAt,
    abi,
    profile,
    caps,
    driver,
    ops: driverOps(driver, profile),
    template: origin.template ?? null,
    pci: origin.pci ?? null,
    driverState: 0,
    version: 0, // the creation itself is the first change: version 1
    irqType: 'none',
    intx: { trigger: NO_TRIGGER, unmaskFd: NO_TRIGGER, masked: false, line: false },
    msi: new VectorTable(caps.msiVectors),
    msix: new VectorTable(caps.msixTableSize),
    msixBacking: caps.parent !== undefined ? IMS_BACKING : null,
    errTrigger: NO_TRIGGER,
    reqTrigger: NO_TRIGGER,
    counters: [
      new IrqCounters(caps.intx ? 1 : 0), new IrqCounters(caps.msiVectors), new IrqCounters(caps.msixTableSize),
      new IrqCounters(caps.pcie ? 1 : 0), new IrqCounters(1)
    ]
  }
}
