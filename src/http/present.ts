import {
  DEVICE_FLAG_NAMES, flagNames, IRQ_INDEX_NAMES, IRQ_INFO_FLAG_NAMES, VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_REQ_IRQ_INDEX, SIZEOF_VFIO_IRQ_INFO
} from '../core/constants.ts'
import { deviceInfo, getIrqInfo, hasDynamicMsix, irqCount, vectorTable, type Device } from '../core/device.ts'
import { VfioError } from '../core/errno.ts'
import type { Eventfd } from '../core/eventfds.ts'
import { hasVectorMasks, isMasked, maskedBy } from '../core/masking.ts'
import { BACKING_EMULATED, BACKING_NAMES, NO_TRIGGER } from '../core/vectors.ts'
import type { Parent } from '../core/ims.ts'
import type { Binding } from '../core/world.ts'

// Model state -> JSON. Read-only views; no rule lives here.

const fdOrNull = (fd: number): number | null => (fd === NO_TRIGGER ? null : fd)

/**
 * Interrupt totals over vectors [0, size) of one index: what was fired, delivered and lost
 * (by reason), as the per-vector counters say, so that loss shows at a glance.
 */
function indexTotals (dev: Device, index: number) {
  const c = dev.counters[index]
  const t = { fired: 0, delivered: 0, lost: 0, lostBy: { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 0 }, pended: 0, coalesced: 0, deliveredFromPending: 0, pending: 0 }
  if (!c.materialized) return t // no vector of the index has fired: its columns are the shared zeros
  for (let v = 0; v < c.size; v++) {
    t.fired += c.fired[v]
    t.delivered += c.delivered[v]
    t.lostBy['index-disabled'] += c.lost[0][v]
    t.lostBy['not-allocated'] += c.lost[1][v]
    t.lostBy['no-trigger'] += c.lost[2][v]
    t.pended += c.pended[v]
    t.coalesced += c.coalesced[v]
    t.deliveredFromPending += c.deliveredFromPending[v]
    t.pending += c.pending[v]
  }
  t.lost = t.lostBy['index-disabled'] + t.lostBy['not-allocated'] + t.lostBy['no-trigger']
  return t
}

/** The same totals over every index of the device. */
function deviceTotals (dev: Device) {
  const sum = indexTotals(dev, 0)
  for (let index = 1; index < dev.counters.length; index++) {
    const t = indexTotals(dev, index)
    sum.fired += t.fired
    sum.delivered += t.delivered
    sum.lost += t.lost
    for (const k of Object.keys(sum.lostBy) as Array<keyof typeof sum.lostBy>) sum.lostBy[k] += t.lostBy[k]
    sum.pended += t.pended
    sum.coalesced += t.coalesced
    sum.deliveredFromPending += t.deliveredFromPending
    sum.pending += t.pending
  }
  return sum
}

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
    parent: dev.caps.parent ?? null,
    pcie: dev.caps.pcie,
    reset: dev.caps.reset,
    intx: dev.caps.intx,
    ...(dev.caps.msiVectors > 0 ? { msi: { vectors: dev.caps.msiVectors, perVectorMask: dev.caps.msiPerVectorMask === true } } : {}),
    ...(dev.caps.msixTableSize > 0
      ? {
          msix: {
            tableSize: dev.caps.msixTableSize,
            dynamic: hasDynamicMsix(dev),
            maskable: dev.caps.msixMaskable === true,
            ...(dev.caps.parent !== undefined ? { emulated: [...(dev.caps.msixEmulated ?? [])] } : {})
          }
        }
      : {}),
    info: { flags: flagNames(info.flags, DEVICE_FLAG_NAMES), flagsValue: info.flags, numRegions: info.numRegions, numIrqs: info.numIrqs },
    irqType: dev.irqType,
    totals: deviceTotals(dev),
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
    flagsValue: info.flags,
    totals: indexTotals(dev, index)
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
    hostVectors: table.hostHeld,
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
      // An emulated vector holds an eventfd but no host vector (docs/model.md 13).
      const allocated = table.allocated[v] !== 0 && table.backing[v] !== BACKING_EMULATED
      items.push({
        vector: v,
        allocated,
        trigger: fdOrNull(table.trigger[v]),
        ...counters(dev, index, v),
        ...maskState(dev, index, v),
        backing: BACKING_NAMES[table.backing[v]]
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

/** A parent with its slots and the use of each device under it (docs/model.md 13). */
export function presentParent (parent: Parent, devices: ReadonlyMap<string, Device>) {
  return {
    id: parent.id,
    name: parent.name,
    createdAt: parent.createdAt,
    imsSlots: parent.imsSlots,
    slots: { total: parent.imsSlots, used: parent.used, free: parent.free },
    devices: [...parent.devices].map((id) => ({ id, name: devices.get(id)?.name ?? id, slots: parent.usedBy.get(id) ?? 0 }))
  }
}

/** A parent's slots, for the host views and metrics. */
export function parentSlots (parent: Parent) {
  return { id: parent.id, name: parent.name, total: parent.imsSlots, used: parent.used, free: parent.free }
}
