import {
  VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE, VFIO_IRQ_INFO_NORESIZE, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS
} from '../constants.ts'
import { hasDynamicMsix, irqCount } from '../device.ts'
import { fail } from '../errno.ts'
import { setIrqs } from '../set-irqs/dispatch.ts'
import type { Device, DeviceInfo, DriverOps } from '../model-types.ts'
import { HOST_VECTORS } from './ops.ts'

/** vfio_pci_core's GET_INFO: PCI, RESET when the device can reset, 9 regions, 5 irqs. */
function vfioPciInfo (dev: Device): Omit<DeviceInfo, 'argsz'> {
  const flags = VFIO_DEVICE_FLAGS_PCI | (dev.caps.reset ? VFIO_DEVICE_FLAGS_RESET : 0)
  return { flags, numRegions: VFIO_PCI_NUM_REGIONS, numIrqs: VFIO_PCI_NUM_IRQS }
}

/** vfio_pci_ioctl_get_irq_info() after its argsz check. */
function vfioPciIrqInfo (dev: Device, index: number): { flags: number, count: number } {
  if (index >= VFIO_PCI_NUM_IRQS) fail('EINVAL', 'index-out-of-range', `index ${index} is not below ${VFIO_PCI_NUM_IRQS}`)
  if (index === VFIO_PCI_ERR_IRQ_INDEX && !dev.caps.pcie) {
    fail('EINVAL', 'not-pcie', 'the ERR index exists only on PCI Express devices')
  }
  let flags = VFIO_IRQ_INFO_EVENTFD
  if (index === VFIO_PCI_INTX_IRQ_INDEX) flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED
  else if (index !== VFIO_PCI_MSIX_IRQ_INDEX || !hasDynamicMsix(dev)) flags |= VFIO_IRQ_INFO_NORESIZE
  if (index === VFIO_PCI_MSIX_IRQ_INDEX && dev.caps.msixMaskable === true) flags |= VFIO_IRQ_INFO_MASKABLE // docs/model.md 11.4
  return { flags, count: irqCount(dev, index) }
}

/** vfio-pci (drivers/vfio/pci): docs/model.md 3-9. */
export const VFIO_PCI: DriverOps = {
  driver: 'vfio-pci',
  source: 'drivers/vfio/pci/vfio_pci_core.c, vfio_pci_intrs.c',
  hostVectors: HOST_VECTORS['vfio-pci'],
  intxAutomask: true,
  info: vfioPciInfo,
  onGetInfo: () => {},
  irqInfo: vfioPciIrqInfo,
  setIrqs,
  reset: (world, dev, fx) => world.resetPciDevice(dev, fx)
}
