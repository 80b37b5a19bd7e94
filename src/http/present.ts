import {
  DEVICE_FLAG_NAMES, flagNames, IRQ_INDEX_NAMES, IRQ_INFO_FLAG_NAMES, VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_REQ_IRQ_INDEX, SIZEOF_VFIO_IRQ_INFO
} from '../core/constants.ts'
import { deviceInfo, getIrqInfo, hasDynamicMsix, irqCount, vectorTable, type Device } from '../core/device.ts'
import { VfioError } from '../core/errno.ts'
import type { Eventfd } from '../core/eventfds.ts'
import { hasVectorMasks, isMasked, maskedBy } from '../core/masking.ts'
import { NO_TRIGGER } from '../core/vectors.ts'
import type { Binding } from '../core/world.ts'

// Model state -> JSON. Read-only views; no rule lives here.

const fdOrNull = (fd: number): number | null => (fd === NO_TRIGGER ? null : fd)

export function presentDevice (dev: Device) {
  const info = deviceInfo(dev)
  return {
    id: dev.id,
    name: dev.name,
    createdAt: dev.createdAt,
    abi: dev.abi,
    driver: dev.driver,
    template: dev.template,
    ...(dev.pci !== null ? { pci: { ...dev.pci } } : {}),
    parent: null,
    pcie: dev.caps.pcie,
    reset: dev.caps.reset,
    intx: dev.caps.intx,
    ...(dev.caps.msiVectors > 0 ? { msi: { vectors: dev.caps.msiVectors, perVectorMask: dev.caps.msiPerVectorMask === true } } : {}),
    ...(dev.caps.msixTableSize > 0 ? { msix: { tableSize: dev.caps.msixTableSize, dynamic: hasDynamicMsix(dev), maskable: dev.caps.msixMaskable === true } } : {}),
    info: { flags: flagNames(info.flags, DEVICE_FLAG_NAMES), flagsValue: info.flags, numRegions: info.numRegions, numIrqs: info.numIrqs },
    irqType: dev.irqType,
    version: dev.version
  }
}

/** One index as GET_IRQ_INFO reports it, plus its current configuration. Throws as GET_IRQ_INFO does. */
export function presentIrq (dev: Device, index: number) {
  const info = getIrqInfo(dev, SIZEOF_VFIO_IRQ_INFO, index)
  const base = {
    index,
    name: IRQ_INDEX_NAMES[index],
    count: info.count,
    flags: flagNames(info.flags, IRQ_INFO_FLAG_NAMES),
    flagsValue: info.flags
  }
  if (index === VFIO_PCI_INTX_IRQ_INDEX) {
    return {
      ...base,
      enabled: dev.irqType === 'intx',
      trigger: fdOrNull(dev.intx.trigger),
      masked: dev.intx.masked,
      line: dev.intx.line,
      unmaskEventfd: fdOrNull(dev.intx.unmaskFd)
    }
  }
  if (index === VFIO_PCI_ERR_IRQ_INDEX || index === VFIO_PCI_REQ_IRQ_INDEX) {
    const trigger = index === VFIO_PCI_ERR_IRQ_INDEX ? dev.errTrigger : dev.reqTrigger
    return { ...base, enabled: trigger !== NO_TRIGGER, trigger: fdOrNull(trigger) }
  }
  const table = vectorTable(dev, index)
  let triggers = 0
  let userMasked = 0
  for (let v = 0; v < table.size; v++) {
    if (table.trigger[v] !== NO_TRIGGER) triggers++
    if (table.userMask[v] !== 0) userMasked++
  }
  return {
    ...base,
    enabled: dev.irqType === IRQ_INDEX_NAMES[index],
    ...(index === 2 ? { dynamic: hasDynamicMsix(dev) } : {}),
    enabledVectors: table.enabledNvec,
    hostVectors: table.allocatedCount,
    triggers,
    ...(index === 2 && dev.caps.msixMaskable === true ? { userMasked } : {})
  }
}

/**
 * Every index that GET_IRQ_INFO answers: vfio-pci leaves out ERR on conventional PCI, the
 * mdev drivers answer fewer (mtty none at all before its first GET_INFO).
 */
export function presentIrqs (dev: Device) {
  const out = []
  for (let index = 0; index < VFIO_PCI_NUM_IRQS; index++) {
    try {
      out.push(presentIrq(dev, index))
    } catch (err) {
      if (!(err instanceof VfioError)) throw err
    }
  }
  return out
}

/** Device-originated interrupt counters of one vector (docs/model.md 7). */
function counters (dev: Device, index: number, v: number) {
  const c = dev.counters[index]
  return {
    fired: c.fired[v],
    delivered: c.delivered[v],
    lost: c.lostTotal(v),
    lostBy: { 'index-disabled': c.lost[0][v], 'not-allocated': c.lost[1][v], 'no-trigger': c.lost[2][v] },
    pended: c.pended[v],
    coalesced: c.coalesced[v],
    deliveredFromPending: c.deliveredFromPending[v]
  }
}

/** Mask and pending bits of one vector (docs/model.md 11.5); only MSI-X and per-vector-mask MSI have them. */
function maskState (dev: Device, index: number, v: number) {
  if (!hasVectorMasks(dev, index)) return { masked: false, maskedBy: [], pending: false }
  return { masked: isMasked(dev, index, v), maskedBy: maskedBy(dev, index, v), pending: dev.counters[index].pending[v] !== 0 }
}

export function presentVectors (dev: Device, index: number) {
  const count = irqCount(dev, index)
  const items = []
  if (index === 1 || index === 2) {
    const table = vectorTable(dev, index)
    for (let v = 0; v < count; v++) {
      const allocated = table.allocated[v] !== 0
      items.push({
        vector: v,
        allocated,
        trigger: fdOrNull(table.trigger[v]),
        ...counters(dev, index, v),
        ...maskState(dev, index, v),
        backing: allocated ? 'host' as const : null
      })
    }
  } else if (count > 0) {
    const trigger = index === 0 ? dev.intx.trigger : index === 3 ? dev.errTrigger : dev.reqTrigger
    const inUse = index === 0 ? dev.irqType === 'intx' : trigger !== NO_TRIGGER
    const intxMasked = index === 0 && dev.intx.masked
    items.push({
      vector: 0,
      allocated: inUse,
      trigger: fdOrNull(trigger),
      ...counters(dev, index, 0),
      masked: intxMasked,
      maskedBy: intxMasked ? ['host' as const] : [],
      pending: false,
      backing: null
    })
  }
  return { index, name: IRQ_INDEX_NAMES[index], count, items }
}

export function presentEventfd (efd: Eventfd, bindings?: Binding[]) {
  return {
    fd: efd.fd,
    value: efd.value,
    semaphore: efd.semaphore,
    label: efd.label,
    createdAt: efd.createdAt,
    ...(efd.external === true ? { external: true } : {}),
    ...(bindings !== undefined ? { bindings: bindings.map((b) => ({ ...b, name: IRQ_INDEX_NAMES[b.index] })) } : {})
  }
}
