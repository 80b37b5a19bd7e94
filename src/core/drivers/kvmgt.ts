import {
  VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE, VFIO_IRQ_INFO_NORESIZE, VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS
} from '../constants.ts'
import { fail } from '../errno.ts'
import type { Device, DriverOps, Effects, World } from '../model-types.ts'
import type { IrqSetRequest } from '../set-irqs/request.ts'
import { validateSetIrqs } from '../set-irqs/validate.ts'
import { NO_TRIGGER } from '../vectors.ts'
import { HOST_VECTORS } from './ops.ts'

// i915 GVT-g's kvmgt (drivers/gpu/drm/i915/gvt/kvmgt.c), a virtual GPU (docs/model.md 12). Its
// interrupt code is the same in every era virq models. The vGPU signals one MSI eventfd
// (vgpu->msi_trigger, MSI vector 0's trigger here; armed = allocated, no host vector).

/**
 * The vGPU's own regions beyond VFIO_PCI_NUM_REGIONS (vgpu->num_regions): the OpRegion and the
 * EDID region that an opened, KVM-attached vGPU registers.
 */
const KVMGT_VGPU_REGIONS = 2

/** intel_vgpu_get_irq_count(): 1 for INTx and MSI, else 0. */
function irqCount (index: number): number {
  return index === VFIO_PCI_INTX_IRQ_INDEX || index === VFIO_PCI_MSI_IRQ_INDEX ? 1 : 0
}

/** intel_vgpu_ioctl() VFIO_DEVICE_GET_INFO: PCI + RESET, 9 + the vGPU's regions, 5 irqs. */
function info (): { flags: number, numRegions: number, numIrqs: number } {
  return { flags: VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, numRegions: VFIO_PCI_NUM_REGIONS + KVMGT_VGPU_REGIONS, numIrqs: VFIO_PCI_NUM_IRQS }
}

/** intel_vgpu_ioctl() VFIO_DEVICE_GET_IRQ_INFO: index >= 5 EINVAL; INTx 0x7 and MSI 0x9, count 1; others EINVAL. */
function irqInfo (_dev: Device, index: number): { flags: number, count: number } {
  if (index >= VFIO_PCI_NUM_IRQS) fail('EINVAL', 'index-out-of-range', `index ${index} is not below ${VFIO_PCI_NUM_IRQS}`)
  if (index !== VFIO_PCI_INTX_IRQ_INDEX && index !== VFIO_PCI_MSI_IRQ_INDEX) {
    fail('EINVAL', 'index-unsupported', `kvmgt answers GET_IRQ_INFO for INTx and MSI only, not index ${index}`)
  }
  const flags = VFIO_IRQ_INFO_EVENTFD | (index === VFIO_PCI_INTX_IRQ_INDEX ? VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED : VFIO_IRQ_INFO_NORESIZE)
  return { flags, count: irqCount(index) }
}

/**
 * intel_vgpu_ioctl() VFIO_DEVICE_SET_IRQS, then intel_vgpu_set_irqs(). Validation (against
 * intel_vgpu_get_irq_count) runs only when the DATA_NONE bit is clear; with it set nothing is
 * checked, not even argsz or the index, and no data is copied.
 */
function setIrqs (world: World, dev: Device, req: IrqSetRequest, fx: Effects): number {
  const { flags, index, count } = req
  const none = (flags & VFIO_IRQ_SET_DATA_NONE) !== 0
  if (!none) validateSetIrqs(dev, req, irqCount)
  const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK
  if (index === VFIO_PCI_INTX_IRQ_INDEX && (action === VFIO_IRQ_SET_ACTION_MASK || action === VFIO_IRQ_SET_ACTION_UNMASK || action === VFIO_IRQ_SET_ACTION_TRIGGER)) {
    return 0 // intel_vgpu_set_intx_mask / _unmask / _trigger: stubs that store nothing
  }
  if (index !== VFIO_PCI_MSI_IRQ_INDEX || action !== VFIO_IRQ_SET_ACTION_TRIGGER) {
    fail('ENOTTY', 'no-handler', `kvmgt has no handler for index ${index}, action 0x${action.toString(16)}`) // func == NULL
  }
  // intel_vgpu_set_msi_trigger()
  if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    if (none || count === 0 || req.data.length === 0) {
      fail('EINVAL', 'count-zero-eventfd', 'no fd was copied (count 0, or DATA_NONE skipped the copy): kvmgt would dereference NULL')
    }
    const efd = world.eventfds.lookup(req.data[0], dev.owner) // eventfd_ctx_fdget: -1 is EBADF too
    if (dev.msi.trigger[0] !== efd.fd || dev.irqType !== 'msi') {
      dev.msi.trigger[0] = efd.fd
      dev.msi.allocate(0)
      dev.msi.enabledNvec = 1
      dev.irqType = 'msi'
      fx.vector(dev, false, 0)
    }
  } else if (none && count === 0 && dev.msi.trigger[0] !== NO_TRIGGER) {
    fx.vector(dev, false, 0) // intel_vgpu_release_msi_eventfd_ctx()
    dev.msi.clear()
    dev.irqType = 'none'
    fx.device(dev)
  }
  return 0
}

/** VFIO_DEVICE_RESET: intel_gvt_reset_vgpu(), then 0; the MSI eventfd stays. */
function reset (world: World, dev: Device, fx: Effects): void {
  world.lowerIntxLine(dev, fx)
}

export const KVMGT: DriverOps = {
  driver: 'kvmgt',
  source: 'drivers/gpu/drm/i915/gvt/kvmgt.c: intel_vgpu_ioctl, intel_vgpu_get_irq_count, intel_vgpu_set_irqs',
  hostVectors: HOST_VECTORS.kvmgt,
  intxAutomask: true,
  info,
  onGetInfo: () => {},
  irqInfo,
  setIrqs,
  reset
}
