import fc from 'fast-check'
import t from 'tap'
import { hasDynamicMsix, snapshotDevice, unchangedSince, type Device, type DeviceSnapshot } from '../../src/core/device.ts'
import { Effects } from '../../src/core/effects.ts'
import { VfioError } from '../../src/core/errno.ts'
import { driveIntx, fireErrReq, fireVector, FireTally } from '../../src/core/interrupts.ts'
import type { IrqSetRequest } from '../../src/core/set-irqs/request.ts'
import { hasVectorMasks, isMasked } from '../../src/core/masking.ts'
import { BACKING_EMULATED, BACKING_HOST, BACKING_IMS, BACKING_NONE, NO_TRIGGER, type VectorTable } from '../../src/core/vectors.ts'
import { isEmulated } from '../../src/core/ims.ts'
import { tableEntries, World } from '../../src/core/world.ts'
import { build, deviceModel } from '../helper.ts'
import { deviceCapsArb, FUZZ_SEED, resolveStep, runs, setIrqsStepArb, type DeviceSpec, type SetIrqsStep } from './model-lib.ts'

// Model-level fuzzing: random SET_IRQS sequences, around the
// interesting boundaries, on the pure model with a small host pool (so ENOSPC and the partial
// "only this many" answer happen), checking the model's invariants after every step:
// - at most one of INTx/MSI/MSI-X is enabled; the others hold nothing (no host vector, nvec 0,
//   no trigger; INTx: no trigger, no unmask eventfd, not masked);
// - triggers only on allocated vectors, and only to open eventfds;
// - pool.used is the sum of allocatedCount over every device's MSI and MSI-X;
// - a rejected request changes nothing, except the partial rollback of docs/model.md 5.4;
// - Effects name everything that changed (else it would not be written to SQLite), and a
//   device is named only if it changed (its version grows on each change and only then);
// - model 11: per vector and in total fired = delivered + lost + coalesced + pendingNow, and
//   pended = deliveredFromPending + pendingNow; a pending bit only where the vector has a mask
//   bit and only while it is masked; user masks only on a MASKABLE device's enabled MSI-X;
//   a rejected SET_IRQS signals nothing but the pending messages its partial block sent.
// - model 13: a parent's slots in use = its devices' IMS-backed vectors with a trigger, never
//   above the store, per device too; on an IMS-backed MSI-X a vector holds a slot (or, when
//   emulated, its eventfd) exactly while it has a trigger; the pool holds one host vector per
//   slot and none for emulated vectors.
// A second property runs the same kind of sequences through app.inject and checks versions.

const SEED = FUZZ_SEED
const MODEL_RUNS = runs(8000)
const HTTP_RUNS = runs(100)

type Step =
  | { kind: 'set', s: SetIrqsStep }
  | { kind: 'fire', dev: number, index: number, vector: number, level: 'assert' | 'deassert' | 'pulse' }
  | { kind: 'efd', op: 'create' | 'write' | 'read' | 'delete', efd: number, value: number, force: boolean }
  | { kind: 'device', op: 'reset' | 'delete' | 'create', dev: number, spec: DeviceSpec }

/** A quarter of the devices are IMS-backed under the scenario's parent `p` (docs/model.md 13), some vectors emulated. */
const PARENT = 'p'
const modelDeviceArb: fc.Arbitrary<DeviceSpec> = fc.tuple(deviceCapsArb, fc.nat(3), fc.array(fc.nat(9), { maxLength: 3 })).map(([spec, ims, emulated]) => {
  if (ims !== 0 || spec.caps.msixTableSize === 0) return spec
  const inTable = [...new Set(emulated.filter((v) => v < spec.caps.msixTableSize))].sort((a, b) => a - b)
  return { abi: spec.abi, caps: { ...spec.caps, msixDynamic: true, parent: PARENT, msixEmulated: inTable } }
})

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 14, arbitrary: setIrqsStepArb.map((s) => ({ kind: 'set' as const, s })) },
  {
    weight: 2,
    arbitrary: fc.record({ dev: fc.nat(3), index: fc.constantFrom(0, 1, 2, 3, 4), vector: fc.constantFrom(0, 1, 2, 7, 63), level: fc.constantFrom('assert' as const, 'deassert' as const, 'pulse' as const) })
      .map((x) => ({ kind: 'fire' as const, ...x }))
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('create' as const, 'write' as const, 'write' as const, 'read' as const, 'delete' as const), efd: fc.nat(7), value: fc.nat(3), force: fc.boolean() })
      .map((x) => ({ kind: 'efd' as const, ...x }))
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('reset' as const, 'delete' as const, 'create' as const), dev: fc.nat(3), spec: modelDeviceArb })
      .map((x) => ({ kind: 'device' as const, ...x }))
  }
)

const scenarioArb = fc.record({
  pool: fc.integer({ min: 0, max: 12 }),
  slots: fc.integer({ min: 1, max: 6 }),
  devices: fc.array(modelDeviceArb, { minLength: 1, maxLength: 3 }),
  eventfds: fc.integer({ min: 0, max: 4 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40, size: 'large' })
})

// ---------------------------------------------------------------- invariants

function tableProblems (name: string, table: VectorTable, enabled: boolean, world: World, ims?: Device): string[] {
  const out: string[] = []
  let allocated = 0
  for (let v = 0; v < table.size; v++) {
    if (table.allocated[v] !== 0) allocated++
    const trig = table.trigger[v]
    if (trig !== NO_TRIGGER && table.allocated[v] === 0) out.push(`${name}: vector ${v} has trigger ${trig} but no host vector`)
    if (ims !== undefined) {
      // Model 13: a slot (or an emulated vector's eventfd) exactly while there is a trigger.
      if (trig === NO_TRIGGER && table.allocated[v] !== 0) out.push(`${name}: IMS vector ${v} holds a backing without a trigger`)
      const want = table.allocated[v] === 0 ? BACKING_NONE : isEmulated(ims, v) ? BACKING_EMULATED : BACKING_IMS
      if (table.backing[v] !== want) out.push(`${name}: vector ${v} backing ${table.backing[v]}, expected ${want}`)
    } else if (table.allocated[v] !== 0 && table.backing[v] !== BACKING_HOST) out.push(`${name}: vector ${v} backing ${table.backing[v]} on host vectors`)
    if (trig !== NO_TRIGGER && world.eventfds.get(trig, 'default') === undefined) out.push(`${name}: vector ${v} triggers closed eventfd ${trig}`)
  }
  if (allocated !== table.allocatedCount) out.push(`${name}: allocatedCount ${table.allocatedCount} but ${allocated} allocated`)
  if (!enabled) {
    if (allocated !== 0) out.push(`${name}: disabled but holds ${allocated} host vectors`)
    if (table.enabledNvec !== 0) out.push(`${name}: disabled but enabledNvec ${table.enabledNvec}`)
  } else {
    if (table.enabledNvec < 1) out.push(`${name}: enabled with enabledNvec ${table.enabledNvec}`)
    // IMS takes nothing at enable (model 13); host vectors are all taken then.
    if (ims === undefined) for (let v = 0; v < Math.min(table.enabledNvec, table.size); v++) if (table.allocated[v] === 0) out.push(`${name}: vector ${v} < nvec not allocated`)
    if (table.enabledNvec > table.size) out.push(`${name}: enabledNvec ${table.enabledNvec} > size ${table.size}`)
  }
  return out
}

function deviceProblems (dev: Device, world: World): string[] {
  const out: string[] = []
  const tag = `${dev.name}(${dev.abi})`
  if (!['none', 'intx', 'msi', 'msix'].includes(dev.irqType)) out.push(`${tag}: irqType ${dev.irqType}`)
  out.push(...tableProblems(`${tag} msi`, dev.msi, dev.irqType === 'msi', world))
  out.push(...tableProblems(`${tag} msix`, dev.msix, dev.irqType === 'msix', world, dev.msixBacking !== null ? dev : undefined))
  // Static MSI-X (linux-6.1 or not dynamic) and MSI hold exactly [0, nvec).
  for (const [name, table, fixed] of [['msi', dev.msi, true], ['msix', dev.msix, !hasDynamicMsix(dev)]] as const) {
    if (fixed && table.allocatedCount !== table.enabledNvec) out.push(`${tag} ${name}: cannot grow, yet holds ${table.allocatedCount} with nvec ${table.enabledNvec}`)
  }
  if (dev.irqType === 'intx' && !dev.caps.intx) out.push(`${tag}: INTx enabled without a pin`)
  if (dev.irqType !== 'intx') {
    if (dev.intx.trigger !== NO_TRIGGER) out.push(`${tag}: INTx disabled but trigger ${dev.intx.trigger}`)
    if (dev.intx.unmaskFd !== NO_TRIGGER) out.push(`${tag}: INTx disabled but unmask eventfd ${dev.intx.unmaskFd}`)
    if (dev.intx.masked) out.push(`${tag}: INTx disabled but masked`)
  }
  for (const [what, fd] of [['intx trigger', dev.intx.trigger], ['unmask', dev.intx.unmaskFd], ['err', dev.errTrigger], ['req', dev.reqTrigger]] as const) {
    if (fd !== NO_TRIGGER && world.eventfds.get(fd, 'default') === undefined) out.push(`${tag}: ${what} is closed eventfd ${fd}`)
  }
  if (!dev.caps.pcie && dev.errTrigger !== NO_TRIGGER) out.push(`${tag}: ERR trigger on a device that is not PCI Express`)
  out.push(...maskingProblems(dev, tag))
  return out
}

/** Model 11: the counting identity, and where pending bits and user masks may be. */
function maskingProblems (dev: Device, tag: string): string[] {
  const out: string[] = []
  dev.counters.forEach((c, index) => {
    let fired = 0
    let rest = 0
    for (let v = 0; v < c.size; v++) {
      const r = c.delivered[v] + c.lostTotal(v) + c.coalesced[v] + c.pending[v]
      if (c.fired[v] !== r) out.push(`${tag} index ${index} vector ${v}: fired ${c.fired[v]} != delivered + lost + coalesced + pending ${r}`)
      if (c.pended[v] !== c.deliveredFromPending[v] + c.pending[v]) out.push(`${tag} index ${index} vector ${v}: pended != deliveredFromPending + pending`)
      if (c.pending[v] !== 0 && !hasVectorMasks(dev, index)) out.push(`${tag} index ${index} vector ${v}: pending without a mask bit`)
      if (c.pending[v] !== 0 && hasVectorMasks(dev, index) && !isMasked(dev, index, v) && dev.irqType === (index === 2 ? 'msix' : 'msi')) {
        out.push(`${tag} index ${index} vector ${v}: pending yet unmasked (it should have been sent)`)
      }
      fired += c.fired[v]
      rest += r
    }
    if (fired !== rest) out.push(`${tag} index ${index}: total fired ${fired} != ${rest}`)
  })
  const userMasked = dev.msix.userMask.reduce((n, x) => n + x, 0) + dev.msi.userMask.reduce((n, x) => n + x, 0)
  if (userMasked > 0 && (dev.caps.msixMaskable !== true || dev.irqType !== 'msix' || dev.msi.userMask.some((x) => x !== 0))) {
    out.push(`${tag}: ${userMasked} user masks, maskable ${String(dev.caps.msixMaskable)}, irqType ${dev.irqType}`)
  }
  return out
}

function worldProblems (world: World): string[] {
  const out: string[] = []
  let held = 0
  for (const dev of world.devices.values()) {
    out.push(...deviceProblems(dev, world))
    held += dev.msi.hostHeld + dev.msix.hostHeld
  }
  if (world.pool.used !== held) out.push(`pool.used ${world.pool.used} but devices hold ${held}`)
  // Model 13: slots in use = IMS-backed vectors with a trigger across the parent's devices, never above the store.
  for (const parent of world.parents.values()) {
    let used = 0
    const members: string[] = []
    for (const dev of world.devices.values()) {
      if (dev.caps.parent !== parent.id) continue
      members.push(dev.id)
      let mine = 0
      for (let v = 0; v < dev.msix.size; v++) if (dev.msix.trigger[v] !== NO_TRIGGER && !isEmulated(dev, v)) mine++
      if ((parent.usedBy.get(dev.id) ?? 0) !== mine) out.push(`parent ${parent.id}: says ${dev.name} holds ${parent.usedBy.get(dev.id) ?? 0} slots, it has ${mine} IMS vectors with a trigger`)
      used += mine
    }
    if (parent.used !== used) out.push(`parent ${parent.id}: ${parent.used} slots used but ${used} IMS-backed vectors have a trigger`)
    if (parent.used > parent.imsSlots || parent.used < 0) out.push(`parent ${parent.id}: ${parent.used} slots used of ${parent.imsSlots}`)
    if ([...parent.devices].join() !== members.join()) out.push(`parent ${parent.id}: devices ${[...parent.devices].join()} but ${members.join()} name it`)
    for (const id of parent.usedBy.keys()) if (!members.includes(id)) out.push(`parent ${parent.id}: slots held by ${id}, not one of its devices`)
  }
  if (world.pool.used < 0 || world.pool.used > world.pool.capacity) out.push(`pool.used ${world.pool.used} outside [0, ${world.pool.capacity}]`)
  // The bindings index says what a scan of every device says.
  for (const efd of world.eventfds.values()) {
    const indexed = JSON.stringify(world.bindingsOf(efd))
    const scanned = JSON.stringify(scanBindings(world, efd.fd))
    if (indexed !== scanned) out.push(`eventfd ${efd.fd}: index says ${indexed}, a scan ${scanned}`)
  }
  // Usage counts (limits) and interrupt totals (metrics) are kept as things change.
  let entries = 0
  for (const dev of world.devices.values()) entries += tableEntries(dev.caps)
  const { devices, tableEntries: counted } = world.usageTotal
  if (devices !== world.devices.size || counted !== entries) out.push(`usage ${devices} devices, ${counted} entries; really ${world.devices.size}, ${entries}`)
  // The running totals obey the counting identity of docs/model.md 11.3 too; a deleted device's
  // pending bits are dropped with it (docs/model.md 11.3), so they count apart.
  const { fired, delivered, lost, coalesced, pending, pended, deliveredFromPending, droppedPending: dropped } = world.totals
  for (let i = 0; i < 5; i++) {
    const accounted = delivered[i] + lost[0][i] + lost[1][i] + lost[2][i] + coalesced[i] + pending[i] + dropped[i]
    if (fired[i] !== accounted) out.push(`index ${i}: ${fired[i]} fired but ${delivered[i]} delivered + lost ${lost.map((l) => l[i])} + coalesced ${coalesced[i]} + pending ${pending[i]} + dropped ${dropped[i]}`)
    if (pended[i] !== deliveredFromPending[i] + pending[i] + dropped[i]) out.push(`index ${i}: totals pended ${pended[i]} != deliveredFromPending ${deliveredFromPending[i]} + pending ${pending[i]} + dropped ${dropped[i]}`)
  }
  let pendingBits = 0
  for (const dev of world.devices.values()) for (const c of dev.counters) for (let v = 0; v < c.size; v++) pendingBits += c.pending[v]
  if (pendingBits !== pending.reduce((a, b) => a + b, 0)) out.push(`totals pending ${pending.join()} but ${pendingBits} pending bits are set`)
  return out
}

/** The bindings of eventfd `fd`, by visiting every device: what the index must agree with. */
function scanBindings (world: World, fd: number) {
  const out: Array<{ deviceId: string, index: number, vector: number, role: string }> = []
  for (const dev of world.devices.values()) {
    if (dev.intx.trigger === fd) out.push({ deviceId: dev.id, index: 0, vector: 0, role: 'trigger' })
    if (dev.intx.unmaskFd === fd) out.push({ deviceId: dev.id, index: 0, vector: 0, role: 'unmask' })
    for (const [index, table] of [[1, dev.msi], [2, dev.msix]] as const) {
      for (let v = 0; v < table.size; v++) if (table.trigger[v] === fd) out.push({ deviceId: dev.id, index, vector: v, role: 'trigger' })
    }
    if (dev.errTrigger === fd) out.push({ deviceId: dev.id, index: 3, vector: 0, role: 'trigger' })
    if (dev.reqTrigger === fd) out.push({ deviceId: dev.id, index: 4, vector: 0, role: 'trigger' })
  }
  return out
}

/** Everything a step could change, to compare after it. */
interface Before {
  devices: Map<Device, DeviceSnapshot>
  poolUsed: number
  values: Map<number, number>
  /** Per device: every counter and pending bit, joined (to tell whether any moved). */
  counters: Map<Device, string>
  /** Per device: pending messages sent so far. */
  sentFromPending: Map<Device, number>
}
const countersKey = (dev: Device): string => dev.counters.map((c) =>
  [c.fired, c.delivered, ...c.lost, c.pended, c.coalesced, c.deliveredFromPending, c.pending].map((a) => a.join()).join('|')).join('/')
const sentFromPending = (dev: Device): number => dev.counters.reduce((n, c) => n + c.deliveredFromPending.reduce((a, b) => a + b, 0), 0)
const capture = (world: World): Before => ({
  devices: new Map([...world.devices.values()].map((d) => [d, snapshotDevice(d)])),
  poolUsed: world.pool.used,
  values: new Map([...world.eventfds.values()].map((e) => [e.fd, e.value])),
  counters: new Map([...world.devices.values()].map((d) => [d, countersKey(d)])),
  sentFromPending: new Map([...world.devices.values()].map((d) => [d, sentFromPending(d)]))
})

/** Effects must name every changed device, vector and eventfd (or SQLite would miss them). */
function effectsProblems (world: World, before: Before, fx: Effects, versioned: boolean): string[] {
  const out: string[] = []
  for (const [dev, snap] of before.devices) {
    if (world.devices.get(dev.id) !== dev) {
      if (!fx.deletedDevices.has(dev)) out.push(`${dev.name}: gone but not in deletedDevices`)
      continue
    }
    if (before.counters.get(dev) !== countersKey(dev) && !fx.counters.has(dev)) out.push(`${dev.name}: counters moved but not in Effects.counters`)
    const changed = !unchangedSince(snap, dev)
    if (changed && !fx.devices.has(dev)) out.push(`${dev.name}: changed but not in Effects.devices (not written, version kept)`)
    if (versioned && !changed && fx.devices.has(dev)) out.push(`${dev.name}: unchanged but in Effects.devices (version would grow)`)
    for (const [name, table, allocated, trigger] of [
      ['msi', dev.msi, snap.msiAllocated, snap.msiTrigger], ['msix', dev.msix, snap.msixAllocated, snap.msixTrigger]] as const) {
      for (let v = 0; v < table.size; v++) {
        if (table.allocated[v] !== allocated[v] || table.trigger[v] !== trigger[v]) {
          if (fx.vectors.get(dev)?.[name].has(v) !== true) out.push(`${dev.name} ${name}: vector ${v} changed but is not in Effects.vectors`)
        }
      }
    }
  }
  for (const [fd, value] of before.values) {
    const efd = world.eventfds.get(fd, 'default')
    if (efd === undefined) {
      if (![...fx.deletedEventfds].some((e) => e.fd === fd)) out.push(`eventfd ${fd}: gone but not in deletedEventfds`)
    } else if (efd.value !== value && !fx.eventfds.has(efd)) out.push(`eventfd ${fd}: value ${value} -> ${efd.value} but not in Effects.eventfds`)
  }
  return out
}

/**
 * A rejected SET_IRQS changes nothing, except a block on an enabled MSI/MSI-X index (docs/model.md 5.4):
 * in [start, end) a prefix up to the failing vector loses its triggers and the rest is
 * untouched; outside the range nothing changes; a dynamic MSI-X vector may have been allocated.
 */
function rejectedProblems (world: World, before: Before, dev: Device, req: IrqSetRequest, enabledBefore: boolean, err: VfioError): string[] {
  const out: string[] = []
  const snap = before.devices.get(dev)!
  // The only signals a rejected call may leave are pending messages its block sent before the
  // failure (a handler was installed, the message went out, then the block was undone).
  let signalled = 0
  for (const [fd, v] of before.values) signalled += (world.eventfds.get(fd, 'default')?.value ?? v) - v
  const sent = sentFromPending(dev) - before.sentFromPending.get(dev)!
  if (signalled !== sent) out.push(`rejected (${err.errno} ${err.reason}) but eventfds gained ${signalled}, pending messages sent ${sent}`)
  const block = (req.index === 1 || req.index === 2) && (req.flags & 7) === 4 && enabledBefore
  if (!block) {
    if (!unchangedSince(snap, dev)) out.push(`rejected (${err.errno} ${err.reason}) but the device changed`)
    if (world.pool.used !== before.poolUsed) out.push(`rejected (${err.errno} ${err.reason}) but pool.used ${before.poolUsed} -> ${world.pool.used}`)
    return out
  }
  const msix = req.index === 2
  const table = msix ? dev.msix : dev.msi
  const [allocated, trigger] = msix ? [snap.msixAllocated, snap.msixTrigger] : [snap.msiAllocated, snap.msiTrigger]
  const other = msix ? { a: snap.msiAllocated, t: snap.msiTrigger, now: dev.msi } : { a: snap.msixAllocated, t: snap.msixTrigger, now: dev.msix }
  const end = req.start + req.count
  const ims = msix && dev.msixBacking !== null
  let grown = 0
  let suffix = false // once a vector in range kept its old trigger (and had one), all after must too
  for (let v = 0; v < table.size; v++) {
    const inRange = v >= req.start && v < end
    if (!inRange) {
      if (table.trigger[v] !== trigger[v] || table.allocated[v] !== allocated[v]) out.push(`partial rollback touched vector ${v} outside [${req.start}, ${end})`)
      continue
    }
    if (table.allocated[v] !== allocated[v]) {
      if (ims) {
        // Model 13: a slot goes with its trigger, and comes only with a new one.
        if (!isEmulated(dev, v)) grown += table.allocated[v] !== 0 ? 1 : -1
      } else {
        if (allocated[v] !== 0 || !msix) out.push(`partial rollback changed allocation of vector ${v}`)
        grown++
      }
    }
    if (table.trigger[v] === trigger[v] && trigger[v] !== NO_TRIGGER) suffix = true
    else if (table.trigger[v] !== NO_TRIGGER) out.push(`partial rollback: vector ${v} has trigger ${table.trigger[v]}, neither its old ${trigger[v]} nor none`)
    else if (suffix && trigger[v] !== NO_TRIGGER) out.push(`partial rollback: vector ${v} lost its trigger after an untouched vector`)
  }
  if (world.pool.used !== before.poolUsed + grown) out.push(`partial rollback: pool.used ${before.poolUsed} -> ${world.pool.used}, ${grown} allocated`)
  for (let v = 0; v < other.now.size; v++) {
    if (other.now.trigger[v] !== other.t[v] || other.now.allocated[v] !== other.a[v]) out.push('partial rollback touched the other MSI index')
  }
  if (snap.scalars !== snapshotDevice(dev).scalars) out.push(`partial rollback changed device scalars ${snap.scalars} -> ${snapshotDevice(dev).scalars}`)
  return out
}

// ---------------------------------------------------------------- the model property

interface Stats {
  steps: number
  setIrqs: number
  errors: Record<string, number>
  reasons: Record<string, number>
  partial: number
  enospc: number
  ok: number
  pended: number
  coalesced: number
  sentFromPending: number
  userMaskChanges: number
  ebusySlots: number
  slotsHeld: number
}

function runScenario (sc: any, stats: Stats): void {
  const world = new World(sc.pool)
  world.addParent(PARENT, 'dsa0', 'default', '', sc.slots, new Effects())
  const fds: number[] = []
  let stale = 1_000_000
  const devices: Device[] = []
  let nDev = 0
  const addDevice = (spec: DeviceSpec): void => {
    devices.push(world.addDevice(`d${nDev}`, `d${nDev++}`, '', spec.abi, spec.caps, new Effects()))
  }
  for (const spec of sc.devices as DeviceSpec[]) addDevice(spec)
  for (let i = 0; i < sc.eventfds; i++) fds.push(world.eventfds.create({ semaphore: i === 3, label: null, createdAt: '' }).fd)
  const live = (): Device[] => devices.filter((d) => world.devices.get(d.id) === d)
  const liveFds = (): number[] => fds.filter((fd) => world.eventfds.get(fd, 'default') !== undefined)

  for (const [i, step] of (sc.steps as Step[]).entries()) {
    stats.steps++
    const before = capture(world)
    const fx = new Effects()
    const problems: string[] = []
    let what = step.kind as string
    let versioned = true
    try {
      if (step.kind === 'set') {
        const ds = live()
        if (ds.length === 0) continue
        const dev = ds[step.s.dev % ds.length]
        const req = resolveStep(step.s, dev, liveFds(), stale)
        what = `setIrqs ${dev.name} ${JSON.stringify({ ...req, data: req.data.length > 8 ? `[${req.data.length} elements]` : req.data })}`
        const enabledBefore = dev.irqType === (req.index === 1 ? 'msi' : req.index === 2 ? 'msix' : '?')
        const freeBefore = world.pool.free
        const slotsFreeBefore = world.parents.get(PARENT)!.free
        const userMaskBefore = dev.msix.userMask.join()
        stats.setIrqs++
        try {
          const result = world.setIrqs(dev, req, fx)
          stats.ok++
          if (result !== 0) {
            stats.partial++
            if (!(result > 0 && result === freeBefore && result < req.start + req.count)) problems.push(`result ${result} with ${freeBefore} free`)
            if (!unchangedSince(before.devices.get(dev)!, dev) || world.pool.used !== before.poolUsed) problems.push('a partial answer changed state')
          }
        } catch (err) {
          if (!(err instanceof VfioError)) throw err
          stats.errors[err.errno] = (stats.errors[err.errno] ?? 0) + 1
          stats.reasons[err.reason] = (stats.reasons[err.reason] ?? 0) + 1
          if (err.errno === 'ENOSPC') {
            stats.enospc++
            // IMS takes a host vector per vector of the block, enabled or not (model 13).
            if (freeBefore !== 0 && !(req.index === 2 && (enabledBefore || dev.msixBacking !== null))) problems.push(`ENOSPC with ${freeBefore} free`)
          }
          if (err.errno === 'EBUSY' && err.reason === 'ims-slots-exhausted') {
            // Only a vector that needs a slot when none is free runs out: replay the block's
            // slot accounting in order (a vector gives its slot back before it asks again).
            stats.ebusySlots++
            let free = slotsFreeBefore
            let ranOut = false
            const snap = before.devices.get(dev)!
            for (let v = req.start; v < req.start + req.count && v < dev.msix.size && !ranOut; v++) {
              if (isEmulated(dev, v)) continue
              if (snap.msixTrigger[v] !== NO_TRIGGER) free++
              if (req.data[v - req.start] < 0) continue
              if (free === 0) ranOut = true
              else free--
            }
            if (!ranOut) problems.push(`EBUSY, but the block never needed a slot with none free (${slotsFreeBefore} free before)`)
          }
          problems.push(...rejectedProblems(world, before, dev, req, enabledBefore, err))
        }
        stats.sentFromPending += sentFromPending(dev) - before.sentFromPending.get(dev)!
        if (dev.msix.userMask.join() !== userMaskBefore) stats.userMaskChanges++
      } else if (step.kind === 'fire') {
        const ds = live()
        if (ds.length === 0) continue
        const dev = ds[step.dev % ds.length]
        versioned = false // the interrupt path: written by the flusher, no version change
        const tally = new FireTally()
        const size = [dev.caps.intx ? 1 : 0, dev.caps.msiVectors, dev.caps.msixTableSize, dev.caps.pcie ? 1 : 0, 1][step.index]
        what = `fire ${dev.name} ${step.index} ${step.vector} ${step.level}`
        if (size === 0) continue
        if (step.index === 0) driveIntx(world, dev, step.level, fx, tally)
        else if (step.index === 1 || step.index === 2) fireVector(world, dev, step.index, step.vector % size, 1, fx, tally)
        else fireErrReq(world, dev, step.index, 1, fx, tally)
        stats.pended += tally.pended
        stats.coalesced += tally.coalesced
        if (tally.fired !== tally.delivered + tally.lost + tally.pended + tally.coalesced) {
          problems.push(`fired ${tally.fired} != delivered ${tally.delivered} + lost ${tally.lost} + pended ${tally.pended} + coalesced ${tally.coalesced}`)
        }
      } else if (step.kind === 'efd') {
        const lf = liveFds()
        what = `eventfd ${step.op}`
        if (step.op === 'create') {
          const efd = world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
          fx.eventfd(efd)
          fds.push(efd.fd)
        } else if (lf.length > 0) {
          const efd = world.eventfds.get(lf[step.efd % lf.length], 'default')!
          what = `eventfd ${step.op} ${efd.fd}${step.op === 'delete' ? ` force=${step.force}` : ''}`
          try {
            if (step.op === 'write') world.writeEventfd(efd, step.value, fx)
            else if (step.op === 'read') world.readEventfd(efd, fx)
            else {
              world.deleteEventfd(efd, step.force, fx)
              stale = efd.fd
            }
          } catch (err) {
            if (!(err instanceof VfioError)) throw err
            stats.errors[err.errno] = (stats.errors[err.errno] ?? 0) + 1
            if (step.op !== 'delete' || err.errno !== 'EBUSY' || step.force) problems.push(`eventfd ${step.op} failed with ${err.errno}`)
            if (world.eventfds.get(efd.fd, 'default') !== efd) problems.push('a refused delete closed the eventfd')
            for (const [dev, snap] of before.devices) if (!unchangedSince(snap, dev)) problems.push(`a refused delete changed ${dev.name}`)
          }
        }
      } else {
        const ds = live()
        what = `device ${step.op}`
        if (step.op === 'create') {
          if (ds.length >= 4) continue
          addDevice(step.spec)
          fx.device(devices[devices.length - 1])
        } else if (ds.length > 0) {
          const dev = ds[step.dev % ds.length]
          what = `device ${step.op} ${dev.name}`
          if (step.op === 'delete') world.deleteDevice(dev, fx)
          else {
            try {
              world.resetDevice(dev, fx)
            } catch (err) {
              if (!(err instanceof VfioError) || dev.caps.reset) throw err
            }
          }
        }
      }
    } catch (err) {
      problems.push(`threw ${(err as Error).stack ?? String(err)}`)
    }
    problems.push(...effectsProblems(world, before, fx, versioned), ...worldProblems(world))
    stats.slotsHeld += world.parents.get(PARENT)!.used
    if (problems.length > 0) {
      throw new Error(`step ${i} (${what}), pool ${world.pool.used}/${world.pool.capacity}:\n  ${problems.join('\n  ')}`)
    }
  }
}

t.test(`model invariants under random SET_IRQS sequences (seed ${SEED}, ${MODEL_RUNS} runs)`, async (t) => {
  const stats: Stats = { steps: 0, setIrqs: 0, errors: {}, reasons: {}, partial: 0, enospc: 0, ok: 0, pended: 0, coalesced: 0, sentFromPending: 0, userMaskChanges: 0, ebusySlots: 0, slotsHeld: 0 }
  const t0 = Date.now()
  const details = await fc.check(fc.property(scenarioArb, (sc) => { runScenario(sc, stats) }), { seed: SEED, numRuns: MODEL_RUNS })
  t.comment(`seed ${SEED}: ${details.numRuns} runs, ${stats.steps} steps in ${Date.now() - t0} ms; SET_IRQS ${stats.setIrqs}: ok ${stats.ok} (partial ${stats.partial}), errors ${JSON.stringify(stats.errors)}`)
  t.comment(`rejections by reason: ${JSON.stringify(stats.reasons)}`)
  t.notOk(details.failed, 'every invariant holds after every step', {
    counterexample: details.failed ? fc.stringify(details.counterexample) : undefined,
    error: details.failed ? String(details.errorInstance) : undefined,
    seed: details.seed,
    path: details.counterexamplePath
  })
  // The generator must reach the interesting outcomes, or the property proves little.
  t.ok(stats.partial > 0, `partial allocations happened (${stats.partial})`)
  t.ok(stats.enospc > 0, `ENOSPC happened (${stats.enospc})`)
  t.ok((stats.errors.EBADF ?? 0) > 0, 'EBADF happened')
  t.ok((stats.errors.EINVAL ?? 0) > 0 && (stats.errors.ENOTTY ?? 0) > 0 && (stats.errors.ERANGE ?? 0) > 0, 'EINVAL, ENOTTY and ERANGE happened')
  t.ok(stats.ok > stats.setIrqs / 5, `a good share of SET_IRQS succeeded (${stats.ok}/${stats.setIrqs})`)
  t.ok(stats.pended > 0 && stats.coalesced > 0, `fires pended (${stats.pended}) and coalesced (${stats.coalesced})`)
  t.ok(stats.sentFromPending > 0, `SET_IRQS sent pending messages (${stats.sentFromPending})`)
  t.ok(stats.userMaskChanges > 0, `MSI-X user masks changed (${stats.userMaskChanges})`)
  t.ok(stats.ebusySlots > 0, `a full IMS store answered EBUSY (${stats.ebusySlots})`)
  t.ok(stats.slotsHeld > 0, `IMS slots were held (${stats.slotsHeld} slot-steps)`)
})

// ---------------------------------------------------------------- versions through HTTP

t.test(`versions through app.inject grow on each change and only then (seed ${SEED}, ${HTTP_RUNS} runs)`, async (t) => {
  const app = await build(t, { hostVectors: 10 })
  const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => await app.inject({ method, url, ...(payload !== undefined ? { payload } : {}) })
  /** What the API shows of a device's configuration (counters left out: they are not versioned). */
  const state = async (id: string) => {
    const dev = (await inject('GET', `/v1/devices/${id}`)).json()
    const irqs = (await inject('GET', `/v1/devices/${id}/irqs`)).json().items
    const vectors: any[] = []
    for (const irq of irqs) {
      if (irq.name !== 'msi' && irq.name !== 'msix') continue
      const items = (await inject('GET', `/v1/devices/${id}/irqs/${irq.name}/vectors`)).json().items
      vectors.push(items.filter((v: any) => v.allocated || v.trigger !== null).map((v: any) => [v.vector, v.allocated, v.trigger]))
    }
    return { version: dev.version as number, config: JSON.stringify({ irqType: dev.irqType, irqs, vectors }) }
  }
  let steps = 0
  let changes = 0
  const statuses: Record<number, number> = {}
  const arb = fc.record({
    devices: fc.array(deviceCapsArb, { minLength: 1, maxLength: 2 }),
    steps: fc.array(setIrqsStepArb, { minLength: 1, maxLength: 15, size: 'large' })
  })
  const t0 = Date.now()
  const details = await fc.check(fc.asyncProperty(arb, async (sc) => {
    const fds: number[] = []
    for (let i = 0; i < 3; i++) fds.push((await inject('POST', '/v1/eventfds', {})).json().fd)
    const stale = (await inject('POST', '/v1/eventfds', {})).json().fd
    await inject('DELETE', `/v1/eventfds/${stale}`)
    const ids: string[] = []
    const shadow: Device[] = []
    const world = new World(1 << 20)
    for (const d of sc.devices) {
      const body: any = { abi: d.abi, pcie: d.caps.pcie, reset: d.caps.reset, intx: d.caps.intx }
      if (d.caps.msiVectors > 0) body.msi = { vectors: d.caps.msiVectors, perVectorMask: d.caps.msiPerVectorMask }
      if (d.caps.msixTableSize > 0) body.msix = { tableSize: d.caps.msixTableSize, dynamic: d.caps.msixDynamic, maskable: d.caps.msixMaskable }
      const res = await inject('POST', '/v1/devices', body)
      if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`)
      ids.push(res.json().id)
      shadow.push(world.addDevice('x', 'x', '', d.abi, d.caps, new Effects())) // only for resolving symbolic numbers
    }
    try {
      for (const s of sc.steps) {
        const k = s.dev % ids.length
        const live = deviceModel(app, ids[k])!
        const req = resolveStep(s, live, fds, stale)
        const befores = await Promise.all(ids.map(state))
        const res = await inject('POST', `/v1/devices/${ids[k]}/ioctl/set-irqs`, req)
        steps++
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
        if (res.statusCode >= 500 && !(res.statusCode === 507 && res.json().errno === 'ENOSPC')) throw new Error(`${res.statusCode} ${res.body}`)
        const afters = await Promise.all(ids.map(state))
        for (let j = 0; j < ids.length; j++) {
          const changed = befores[j].config !== afters[j].config
          if (changed) changes++
          const want = befores[j].version + (changed ? 1 : 0)
          if (afters[j].version !== want) {
            throw new Error(`device ${j}: version ${befores[j].version} -> ${afters[j].version} but config ${changed ? 'changed' : 'did not change'}; request ${JSON.stringify(req).slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 300)}`)
          }
          if (j === k && res.statusCode === 200 && res.headers.etag !== `"${afters[j].version}"`) throw new Error(`ETag ${res.headers.etag}, version ${afters[j].version}`)
        }
      }
    } finally {
      for (const id of ids) await inject('DELETE', `/v1/devices/${id}`)
      for (const fd of fds) await inject('DELETE', `/v1/eventfds/${fd}?force=true`)
    }
    const host = (await inject('GET', '/v1/host')).json()
    if (host.hostVectors.used !== 0) throw new Error(`host vectors used ${host.hostVectors.used} after every device was deleted`)
  }), { seed: SEED, numRuns: HTTP_RUNS })
  t.comment(`seed ${SEED}: ${details.numRuns} runs, ${steps} requests (${changes} changed a device) in ${Date.now() - t0} ms; statuses ${JSON.stringify(statuses)}`)
  t.notOk(details.failed, 'version grows by one exactly when the configuration changed', {
    counterexample: details.failed ? fc.stringify(details.counterexample) : undefined,
    error: details.failed ? String(details.errorInstance) : undefined,
    seed: details.seed,
    path: details.counterexamplePath
  })
  t.ok(changes > 0, 'some requests changed a device')
})
