import { vfioPciInfo, vfioPciIrqInfo } from '../device.ts'
import { setIrqs } from '../set-irqs/dispatch.ts'
import type { DriverOps } from './index.ts'

/** vfio-pci (drivers/vfio/pci): docs/model.md 3-9. */
export const VFIO_PCI: DriverOps = {
  driver: 'vfio-pci',
  source: 'drivers/vfio/pci/vfio_pci_core.c, vfio_pci_intrs.c',
  hostVectors: true,
  intxAutomask: true,
  info: vfioPciInfo,
  onGetInfo: () => {},
  irqInfo: vfioPciIrqInfo,
  setIrqs,
  reset: (world, dev, fx) => world.resetPciDevice(dev, fx)
}
