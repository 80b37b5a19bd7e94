import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { createDevice } from '../../src/core/create-device.ts'
import { hasDynamicMsix, type Device } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects } from '../../src/core/effects.ts'
import { VfioError } from '../../src/core/errno.ts'
import { World } from '../../src/core/world.ts'
import { BACKING_NAMES, NO_TRIGGER, type Backing } from '../../src/core/vectors.ts'
import { Parent } from '../../src/core/ims.ts'
import { toIrqSet } from '../../src/http/routes/irqs.ts'
import type { IrqSetRequest } from '../../src/core/set-irqs/request.ts'

// Crash safety: the real server as a child process, several
// concurrent clients changing state, SIGKILL at random moments, restart on the same file, and
// a check that every acknowledged change survived.
//
// How the check stays simple and sound: every client owns its devices (named c<i>-d<n>) and
// eventfds (labelled c<i>-e<n>) and never touches anyone else's, and it runs one request at a
// time. It keeps a shadow of what it owns in the pure model (src/core World), and applies each
// operation to the shadow once the server answered (checking that the answer is the predicted
// one). So the client knows the exact state of everything it owns after its last answered
// request. At a kill it has at most one request in flight: after the restart its objects must
// be exactly as before that request (B) or exactly as after it (A), nothing else. The host
// vector pool is sized so that it never runs out (at most 3 devices of at most 16 vectors per
// client), so the shadow's answers never depend on other clients. Each client also owns an IMS
// parent (docs/model.md 13) of a few slots, and some of its devices are IMS-backed under it: its
// slots in use, per device, and every vector's backing are part of what must survive.

export interface CrashOptions {
  seed: number
  kills: number
  clients?: number
  /** Traffic runs this long (ms, uniform in [min, max]) before each SIGKILL. */
  minRunMs?: number
  maxRunMs?: number
  hostVectors?: number
  /** Progress lines (one per kill) go here. */
  log?: (line: string) => void
  /** Runs between each kill and the restart, on the database file: to check that the checker notices damage. */
  afterKill?: (db: string, kill: number) => void
}

export interface CrashReport {
  seed: number
  kills: number
  acknowledged: number
  /** Acknowledged state not found after a restart. */
  lost: number
  /** Anything else wrong: half-applied request, pool accounting, eventfd numbers, wrong answers. */
  violations: number
  /** Requests in flight at a kill, and how many of them turned out applied. */
  inFlight: number
  inFlightApplied: number
  /** What each restart's check found (lost, violations), in kill order. */
  perKill: Array<{ lost: number, violations: number }>
  details: string[]
  figures: string
}

const ROOT = resolve(import.meta.dirname, '..', '..')
const MAX_DEVICES = 3
const MAX_EVENTFDS = 8
/** Never an eventfd: eventfd numbers would have to reach 2^31 - 1 first. */
const NEVER_FD = 2147483647
/** Shadow numbers of eventfds created by a request that got no answer (never referenced). */
const PLACEHOLDER_FD = 2_000_000_000

// ---------------------------------------------------------------- seeded randomness

export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Rng {
  constructor (readonly next: () => number) {}
  int (lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)) }
  bool (p = 0.5): boolean { return this.next() < p }
  pick<T> (xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)] }
  weighted<T> (options: Array<[number, T]>): T {
    const total = options.reduce((s, [w]) => s + w, 0)
    let x = this.next() * total
    for (const [w, v] of options) {
      if ((x -= w) < 0) return v
    }
    return options[options.length - 1][1]
  }
}

// ---------------------------------------------------------------- the server as a child

interface Server { child: ChildProcess, base: string, exited: Promise<number | null>, stderr: string[] }

async function startServer (db: string, hostVectors: number): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--port', '0', '--db', db,
    '--host-vectors', String(hostVectors), '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 200) stderr.push(s) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const lines = createInterface({ input: child.stdout! })
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${stderr.join('')}`)), 30_000)
    lines.on('line', (line) => {
      const m = /^virq listening on (http:\/\/\S+)$/.exec(line)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    })
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening: ${stderr.join('')}`)) })
  })
  return { child, base, exited, stderr }
}

// ---------------------------------------------------------------- HTTP

interface Answer { status: number, body: any }

async function http (base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(base + path, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(20_000)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

async function getOk (base: string, path: string): Promise<any> {
  let a = await http(base, 'GET', path)
  // A fresh server on a busy machine may refuse with 503 (its overload guard) until its event
  // loop settles: a refusal changes nothing, so ask again.
  for (let i = 0; i < 100 && a.status === 503 && a.body?.reason === 'overloaded'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    a = await http(base, 'GET', path)
  }
  if (a.status !== 200) throw new Error(`GET ${path} answered ${a.status}: ${JSON.stringify(a.body)}`)
  return a.body
}

async function listAll (base: string, path: string): Promise<any[]> {
  const out: any[] = []
  let cursor: string | undefined
  for (;;) {
    const page = await getOk(base, `${path}?limit=1000${cursor !== undefined ? `&cursor=${cursor}` : ''}`)
    out.push(...page.items)
    if (page.nextCursor === undefined) return out
    cursor = page.nextCursor
  }
}

// ---------------------------------------------------------------- observing the server

interface ObservedDevice { device: any, irqs: any[], vectors: Record<string, any> }
interface Observed { devices: ObservedDevice[], eventfds: any[], host: any, parents: any[] }

async function observe (base: string): Promise<Observed> {
  const devices: ObservedDevice[] = []
  for (const d of await listAll(base, '/v1/devices')) {
    const irqs = (await getOk(base, `/v1/devices/${d.id}/irqs`)).items
    const vectors: Record<string, any> = {}
    for (const irq of irqs) {
      if ((irq.name === 'msi' || irq.name === 'msix') && irq.count > 0) {
        vectors[irq.name] = await getOk(base, `/v1/devices/${d.id}/irqs/${irq.name}/vectors`)
      }
    }
    devices.push({ device: d, irqs, vectors })
  }
  return { devices, eventfds: await listAll(base, '/v1/eventfds'), host: await getOk(base, '/v1/host'), parents: (await getOk(base, '/v1/parents')).items }
}

const fdOf = (x: number | null | undefined): number => (x === null || x === undefined ? NO_TRIGGER : x)

/**
 * The part of the observed state one client owns, as a World (the way the repository loads
 * one). Consistency problems of the observation itself are pushed to `problems`.
 */
function worldFromObserved (obs: Observed, prefix: string, problems: string[]): World {
  const world = new World(1 << 24)
  const observedSlots = new Map<string, any>()
  for (const p of obs.parents) {
    if (!String(p.name).startsWith(prefix)) continue
    world.restoreParent(new Parent(p.id, p.name, 'default', p.createdAt, p.imsSlots))
    observedSlots.set(p.id, p)
  }
  for (const e of obs.eventfds) {
    if (typeof e.label === 'string' && e.label.startsWith(prefix)) {
      world.eventfds.restore({ fd: e.fd, value: e.value, semaphore: e.semaphore, label: e.label, createdAt: e.createdAt })
    }
  }
  for (const o of obs.devices) {
    const d = o.device
    if (!String(d.name).startsWith(prefix)) continue
    const dev = createDevice(d.id, d.name, d.createdAt, d.abi as Abi, {
      pcie: d.pcie,
      reset: d.reset,
      intx: d.intx,
      msiVectors: d.msi?.vectors ?? 0,
      msixTableSize: d.msix?.tableSize ?? 0,
      msixDynamic: d.msix?.dynamic ?? false,
      ...(d.parent !== null ? { parent: d.parent, msixEmulated: d.msix?.emulated ?? [] } : {})
    })
    dev.version = d.version
    dev.irqType = d.irqType
    for (const irq of o.irqs) {
      if (irq.name === 'intx') Object.assign(dev.intx, { trigger: fdOf(irq.trigger), unmaskFd: fdOf(irq.unmaskEventfd), masked: irq.masked, line: irq.line })
      else if (irq.name === 'err') dev.errTrigger = fdOf(irq.trigger)
      else if (irq.name === 'req') dev.reqTrigger = fdOf(irq.trigger)
      else if (irq.name === 'msi' || irq.name === 'msix') {
        const table = irq.name === 'msi' ? dev.msi : dev.msix
        table.enabledNvec = irq.enabledVectors
        for (const v of o.vectors[irq.name]?.items ?? []) {
          if (v.backing !== null) table.allocate(v.vector, BACKING_NAMES.indexOf(v.backing) as Backing)
          if (v.allocated !== (v.backing === 'host' || v.backing === 'ims')) problems.push(`${d.name} ${irq.name} vector ${v.vector}: allocated ${v.allocated} with backing ${v.backing}`)
          table.trigger[v.vector] = fdOf(v.trigger)
        }
        if (table.hostHeld !== irq.hostVectors) {
          problems.push(`${d.name} ${irq.name}: hostVectors ${irq.hostVectors} but ${table.hostHeld} vectors hold one`)
        }
        if ((irq.enabled === true) !== (d.irqType === irq.name)) problems.push(`${d.name} ${irq.name}: enabled ${irq.enabled} but irqType ${d.irqType}`)
      }
    }
    world.restoreDevice(dev)
  }
  // The parents' own figures must be what their devices' vectors add up to.
  for (const [id, p] of observedSlots) {
    const parent = world.parents.get(id)!
    if (p.slots.used !== parent.used || p.slots.free !== parent.free) problems.push(`${p.name}: slots ${JSON.stringify(p.slots)}, its devices' vectors hold ${parent.used}`)
    for (const d of p.devices) {
      if ((parent.usedBy.get(d.id) ?? 0) !== d.slots) problems.push(`${p.name}: says ${d.name} holds ${d.slots} slots, its vectors hold ${parent.usedBy.get(d.id) ?? 0}`)
    }
  }
  return world
}

// ---------------------------------------------------------------- canonical state

/** What a client expects of everything it owns, keyed by object (d:name, e:label), ids left out. */
function canon (world: World): Map<string, string> {
  const label = (fd: number): string | null => (fd === NO_TRIGGER ? null : world.eventfds.get(fd, 'default')?.label ?? `#${fd}`)
  const vectors = (t: Device['msi']) => {
    const out: Array<[number, string | null, string | null]> = []
    for (let v = 0; v < t.size; v++) if (t.allocated[v] !== 0 || t.trigger[v] !== NO_TRIGGER) out.push([v, BACKING_NAMES[t.backing[v]], label(t.trigger[v])])
    return { nvec: t.enabledNvec, held: t.hostHeld, vectors: out }
  }
  const m = new Map<string, string>()
  for (const dev of world.devices.values()) {
    m.set(`d:${dev.name}`, JSON.stringify({
      abi: dev.abi,
      pcie: dev.caps.pcie,
      reset: dev.caps.reset,
      intx: dev.caps.intx,
      msi: dev.caps.msiVectors,
      msix: dev.caps.msixTableSize,
      dynamic: hasDynamicMsix(dev),
      version: dev.version,
      irqType: dev.irqType,
      intxState: { trigger: label(dev.intx.trigger), unmask: label(dev.intx.unmaskFd), masked: dev.intx.masked, line: dev.intx.line },
      err: label(dev.errTrigger),
      req: label(dev.reqTrigger),
      msiState: vectors(dev.msi),
      msixState: vectors(dev.msix),
      parent: dev.caps.parent === undefined ? null : world.parents.get(dev.caps.parent)?.name ?? '?',
      emulated: dev.caps.msixEmulated ?? []
    }))
  }
  for (const p of world.parents.values()) {
    const byName = [...p.devices].map((id) => [world.devices.get(id)?.name ?? id, p.usedBy.get(id) ?? 0])
    m.set(`p:${p.name}`, JSON.stringify({ slots: p.imsSlots, used: p.used, devices: byName }))
  }
  for (const e of world.eventfds.values()) m.set(`e:${e.label ?? '?'}`, JSON.stringify({ value: e.value, semaphore: e.semaphore }))
  return m
}

// ---------------------------------------------------------------- operations

type Op =
  | { kind: 'createEventfd', label: string, semaphore: boolean }
  | { kind: 'deleteEventfd', fd: number, force: boolean }
  | { kind: 'writeEventfd', fd: number, value: number }
  | { kind: 'readEventfd', fd: number }
  | { kind: 'createDevice', name: string, body: any }
  | { kind: 'createParent', name: string, slots: number }
  | { kind: 'deleteDevice', name: string }
  | { kind: 'resetDevice', name: string }
  | { kind: 'setIrqs', name: string, index: number, friendly?: any, raw?: any }

const INDEX_NAMES = ['intx', 'msi', 'msix', 'err', 'req']
/** What the server's routes would build for a raw body (ioctl.ts): argsz defaults to header + data. */
function rawRequest (raw: any): IrqSetRequest {
  const data: number[] = raw.data ?? []
  const size = (raw.flags & 7) === 2 ? 1 : (raw.flags & 7) === 4 ? 4 : 0
  return { argsz: raw.argsz ?? 20 + data.length * size, flags: raw.flags, index: raw.index, start: raw.start, count: raw.count, data }
}

interface Outcome { ok: boolean, errno?: string, result?: number, value?: number, version?: number }

/** Runs one operation on the shadow as Engine.apply would (versions of changed devices grow). */
function shadowApply<T> (op: (fx: Effects) => T): { ok: boolean, value?: T, errno?: string } {
  const fx = new Effects()
  let out: { ok: boolean, value?: T, errno?: string }
  try {
    out = { ok: true, value: op(fx) }
  } catch (err) {
    if (!(err instanceof VfioError)) throw err
    out = { ok: false, errno: err.errno }
  }
  for (const dev of fx.devices) dev.version++
  return out
}

const status = (out: { ok: boolean, errno?: string }): Outcome => ({ ok: out.ok, errno: out.errno })

const STATUS_OF: Record<string, number> = { EBUSY: 409, EAGAIN: 409, ENOSPC: 507 }

class Client {
  readonly prefix: string
  readonly rng: Rng
  world = new World(1 << 24)
  private nDevices = 0
  private nEventfds = 0
  /** Eventfd numbers this client created and then closed: never valid again. */
  readonly closedFds: number[] = []
  acknowledged = 0
  /** Set when the server answered something the shadow did not predict; the epoch ends for it. */
  divergent = false
  /** The request in flight when the server died: states before (B) and after (A) it. */
  pending: { op: Op, before: Map<string, string>, after: Map<string, string> } | null = null

  constructor (readonly id: number, seed: number, private readonly report: (kind: 'violation', msg: string) => void,
    private readonly onFd: (fd: number) => void) {
    this.prefix = `c${id}-`
    this.rng = new Rng(mulberry32(seed))
  }

  private devices (): Device[] { return [...this.world.devices.values()] }
  private fds (): number[] { return [...this.world.eventfds.values()].map((e) => e.fd).filter((fd) => fd < PLACEHOLDER_FD) }
  private byName (name: string): Device { return this.devices().find((d) => d.name === name)! }
  /** The client's IMS parent (one, created first), if the shadow has it. */
  private parent (): Parent | undefined { return [...this.world.parents.values()][0] }

  /** An fd for a data element: mostly an own eventfd, sometimes -1, rarely a closed/never number or < -1. */
  private fdPick (): number {
    const fds = this.fds()
    return this.rng.weighted<() => number>([
      [fds.length > 0 ? 14 : 0, () => this.rng.pick(fds)],
      [5, () => -1],
      [1, () => (this.closedFds.length > 0 && this.rng.bool() ? this.rng.pick(this.closedFds) : NEVER_FD)],
      [0.5, () => -2]
    ])()
  }

  nextOp (): Op {
    const r = this.rng
    const devs = this.devices()
    const fds = this.fds()
    const kind = this.parent() === undefined
      ? 'createParent'
      : r.weighted<string>([
        [fds.length < 2 ? 6 : fds.length < MAX_EVENTFDS ? 1 : 0, 'createEventfd'],
        [fds.length > 0 ? 0.4 : 0, 'deleteEventfd'],
        [fds.length > 0 ? 1 : 0, 'writeEventfd'],
        [fds.length > 0 ? 0.7 : 0, 'readEventfd'],
        [devs.length === 0 ? 6 : devs.length < MAX_DEVICES ? 0.8 : 0, 'createDevice'],
        [devs.length > 0 ? 0.25 : 0, 'deleteDevice'],
        [devs.length > 0 ? 0.2 : 0, 'resetDevice'],
        [devs.length > 0 ? 8 : 0, 'setIrqs']
      ])
    switch (kind) {
      case 'createParent': return { kind, name: `${this.prefix}p`, slots: r.int(1, 4) }
      case 'createEventfd': return { kind, label: `${this.prefix}e${this.nEventfds++}`, semaphore: r.bool(0.3) }
      case 'deleteEventfd': return { kind, fd: r.pick(fds), force: r.bool(0.6) }
      case 'writeEventfd': return { kind, fd: r.pick(fds), value: r.int(0, 5) }
      case 'readEventfd': return { kind, fd: r.pick(fds) }
      case 'createDevice': {
        const abi = r.pick(ABIS)
        const body: any = { name: `${this.prefix}d${this.nDevices++}`, abi, pcie: r.bool(), reset: r.bool(), intx: r.bool(0.7) }
        if (r.bool(0.7)) body.msi = { vectors: r.pick([1, 2, 4, 8]) }
        if (r.bool(0.8)) {
          body.msix = { tableSize: r.int(1, 16) }
          if (ABI_PROFILES[abi].dynamicMsix && r.bool(0.3)) body.msix.dynamic = r.bool()
          if (!ABI_PROFILES[abi].dynamicMsix && r.bool(0.3)) body.msix.dynamic = false
          if (r.bool(0.4)) { // IMS-backed under the client's parent, vector 0 emulated or not
            delete body.msix.dynamic
            body.parent = this.parent()!.id
            if (r.bool(0.6)) body.msix.emulated = [0]
          }
        }
        return { kind, name: body.name, body }
      }
      case 'deleteDevice': return { kind, name: r.pick(devs).name }
      case 'resetDevice': return { kind, name: r.pick(devs).name }
      default: return this.setIrqsOp(r.pick(devs))
    }
  }

  private setIrqsOp (dev: Device): Op {
    const r = this.rng
    const counts = [dev.caps.intx ? 1 : 0, dev.caps.msiVectors, dev.caps.msixTableSize, dev.caps.pcie ? 1 : 0, 1]
    const indexes = [0, 1, 2, 3, 4].filter((i) => counts[i] > 0)
    const index = r.weighted(indexes.map((i) => [i === 1 || i === 2 ? 4 : 1.5, i] as [number, number]))
    const n = counts[index]
    const ev = (start: number, fds: number[]) => ({ action: 'trigger', start, count: fds.length, data: { type: 'eventfd', fds } })
    const none = (action: string, start: number, count: number) => ({ action, start, count, data: { type: 'none' } })
    const bool = (action: string, start: number, values: boolean[]) => ({ action, start, count: values.length, data: { type: 'bool', values } })
    let body: any
    if (index === 1 || index === 2) {
      const table = index === 1 ? dev.msi : dev.msix
      body = r.weighted<() => any>([
        [4, () => { // enable, or assign a block
          const start = r.int(0, Math.min(3, n - 1))
          const count = r.int(0, Math.min(4, n - start))
          return ev(start, Array.from({ length: count }, () => this.fdPick()))
        }],
        [4, () => ev(r.int(0, n - 1), [this.fdPick()])], // one vector (dynamic add, swap, de-assign)
        [1, () => ev(r.int(0, n - 1), [-1])],
        [2, () => none('trigger', 0, 0)], // disable
        [1.5, () => { // loopback
          const start = r.int(0, n - 1)
          const count = r.int(0, n - start)
          return r.bool() ? none('trigger', start, count) : bool('trigger', start, Array.from({ length: count }, () => r.bool()))
        }],
        [0.5, () => ev(table.enabledNvec > 0 ? r.int(0, n) : n, [this.fdPick()])], // may be past the table
        [0.3, () => none('mask', 0, 1)] // ENOTTY
      ])()
    } else if (index === 0) {
      body = r.weighted<() => any>([
        [3, () => ev(0, [this.fdPick()])], // enable or swap
        [1.5, () => none('trigger', 0, 0)], // disable
        [2, () => (r.bool() ? none('mask', 0, 1) : bool('mask', 0, [r.bool(0.8)]))],
        [2, () => (r.bool() ? none('unmask', 0, 1) : bool('unmask', 0, [r.bool(0.8)]))],
        [1.5, () => ({ ...ev(0, [this.fdPick()]), action: 'unmask' })], // install (EBUSY if one) / remove
        [1, () => (r.bool() ? none('trigger', 0, 1) : bool('trigger', 0, [r.bool()]))] // loopback
      ])()
    } else {
      body = r.weighted<() => any>([
        [3, () => ev(0, [this.fdPick()])],
        [1, () => ev(0, [-1])],
        [1, () => none('trigger', 0, r.int(0, 1))],
        [1, () => bool('trigger', 0, [r.bool()])]
      ])()
    }
    if (r.bool(0.3)) {
      // The raw struct. Bool values become bytes, names become numbers.
      const dataFlag = { none: 1, bool: 2, eventfd: 4 }[body.data.type as 'none' | 'bool' | 'eventfd']
      const actionFlag = { mask: 8, unmask: 16, trigger: 32 }[body.action as 'mask' | 'unmask' | 'trigger']
      const data = body.data.type === 'eventfd' ? body.data.fds : body.data.type === 'bool' ? body.data.values.map((v: boolean) => (v ? 1 : 0)) : undefined
      const raw: any = { flags: dataFlag | actionFlag, index, start: body.start, count: body.count }
      if (data !== undefined) raw.data = data
      return { kind: 'setIrqs', name: dev.name, index, raw }
    }
    return { kind: 'setIrqs', name: dev.name, index, friendly: body }
  }

  /** The HTTP request of an op, against the shadow's ids. */
  private request (op: Op): { method: string, path: string, body?: unknown } {
    switch (op.kind) {
      case 'createEventfd': return { method: 'POST', path: '/v1/eventfds', body: { label: op.label, semaphore: op.semaphore } }
      case 'deleteEventfd': return { method: 'DELETE', path: `/v1/eventfds/${op.fd}${op.force ? '?force=true' : ''}` }
      case 'writeEventfd': return { method: 'POST', path: `/v1/eventfds/${op.fd}/write`, body: { value: op.value } }
      case 'readEventfd': return { method: 'POST', path: `/v1/eventfds/${op.fd}/read` }
      case 'createDevice': return { method: 'POST', path: '/v1/devices', body: op.body }
      case 'createParent': return { method: 'POST', path: '/v1/parents', body: { name: op.name, imsSlots: op.slots } }
      case 'deleteDevice': return { method: 'DELETE', path: `/v1/devices/${this.byName(op.name).id}` }
      case 'resetDevice': return { method: 'POST', path: `/v1/devices/${this.byName(op.name).id}/${this.rng.bool() ? 'reset' : 'ioctl/reset'}` }
      case 'setIrqs': {
        const id = this.byName(op.name).id
        if (op.raw !== undefined) return { method: 'POST', path: `/v1/devices/${id}/ioctl/set-irqs`, body: op.raw }
        return { method: 'POST', path: `/v1/devices/${id}/irqs/${this.rng.bool() ? INDEX_NAMES[op.index] : op.index}`, body: op.friendly }
      }
    }
  }

  /** Applies an op to the shadow; `answer` gives the numbers the server chose (ids, fds). */
  private apply (op: Op, answer: Answer | null): Outcome {
    const w = this.world
    switch (op.kind) {
      case 'createEventfd': {
        const fd = answer?.body?.fd ?? PLACEHOLDER_FD + this.nEventfds
        w.eventfds.restore({ fd, value: 0, semaphore: op.semaphore, label: op.label, createdAt: '' })
        return { ok: true }
      }
      case 'deleteEventfd': {
        const out = shadowApply((fx) => w.deleteEventfd(w.eventfds.lookup(op.fd, 'default'), op.force, fx))
        if (out.ok) this.closedFds.push(op.fd)
        return { ok: out.ok, errno: out.errno }
      }
      case 'writeEventfd': return status(shadowApply((fx) => w.writeEventfd(w.eventfds.lookup(op.fd, 'default'), op.value, fx)))
      case 'readEventfd': {
        const out = shadowApply((fx) => w.readEventfd(w.eventfds.lookup(op.fd, 'default'), fx))
        return { ok: out.ok, errno: out.errno, value: out.value }
      }
      case 'createDevice': {
        const b = op.body
        const id = answer?.body?.id ?? `pending-${op.name}`
        const caps = {
          pcie: b.pcie,
          reset: b.reset,
          intx: b.intx,
          msiVectors: b.msi?.vectors ?? 0,
          msixTableSize: b.msix?.tableSize ?? 0,
          msixDynamic: b.parent !== undefined || (ABI_PROFILES[b.abi as Abi].dynamicMsix && (b.msix?.dynamic ?? true)),
          ...(b.parent !== undefined ? { parent: b.parent as string, msixEmulated: (b.msix?.emulated ?? []) as number[] } : {})
        }
        const out = shadowApply((fx) => w.addDevice(id, op.name, '', b.abi, caps, fx))
        return { ok: out.ok, version: out.value?.version }
      }
      case 'createParent': {
        const id = answer?.body?.id ?? `pending-${op.name}`
        shadowApply((fx) => w.addParent(id, op.name, 'default', '', op.slots, fx))
        return { ok: true }
      }
      case 'deleteDevice': return status(shadowApply((fx) => w.deleteDevice(this.byName(op.name), fx)))
      case 'resetDevice': return status(shadowApply((fx) => w.resetDevice(this.byName(op.name), fx)))
      case 'setIrqs': {
        const dev = this.byName(op.name)
        const req = op.raw !== undefined ? rawRequest(op.raw) : toIrqSet(op.index, op.friendly)
        const out = shadowApply((fx) => w.setIrqs(dev, req, fx))
        return { ok: out.ok, errno: out.errno, result: out.value, version: dev.version }
      }
    }
  }

  /** Does the server's answer say what the shadow predicted? */
  private agrees (op: Op, want: Outcome, got: Answer): string | null {
    const ok = got.status >= 200 && got.status < 300
    if (want.ok !== ok) return `expected ${want.ok ? 'success' : want.errno} but got ${got.status} ${JSON.stringify(got.body)?.slice(0, 300)}`
    if (!ok) {
      if (got.body?.errno !== want.errno) return `expected ${want.errno} but got ${got.status} ${got.body?.errno}/${got.body?.reason}`
      if (got.status !== (STATUS_OF[want.errno!] ?? 400)) return `expected status for ${want.errno}, got ${got.status}`
      return null
    }
    if (op.kind === 'readEventfd') {
      const value = got.status === 204 ? 0 : got.body?.value
      if (value !== want.value) return `read ${value}, expected ${want.value}`
    }
    if (op.kind === 'setIrqs' && got.body?.result !== want.result) return `result ${got.body?.result}, expected ${want.result}`
    if (op.kind === 'setIrqs' && op.friendly !== undefined && got.body?.version !== want.version) return `version ${got.body?.version}, expected ${want.version}`
    if (op.kind === 'createDevice' && got.body?.version !== want.version) return `version ${got.body?.version}, expected ${want.version}`
    return null
  }

  /** One epoch: requests one after another until the server stops answering. */
  async run (base: string): Promise<void> {
    this.pending = null
    this.divergent = false
    for (;;) {
      const op = this.nextOp()
      const req = this.request(op)
      const before = canon(this.world)
      let answer: Answer
      try {
        answer = await http(base, req.method, req.path, req.body)
      } catch {
        this.apply(op, null)
        this.pending = { op, before, after: canon(this.world) }
        return
      }
      if (answer.status === 503 && answer.body?.reason === 'overloaded') continue // refused, nothing applied: go on
      if (answer.status >= 500) {
        this.report('violation', `${this.prefix} ${op.kind} ${req.method} ${req.path}: ${answer.status} ${JSON.stringify(answer.body)}`)
        this.divergent = true
        return
      }
      if (answer.status >= 200 && answer.status < 300) this.acknowledged++
      if (op.kind === 'createEventfd' && answer.status === 201) this.onFd(answer.body.fd)
      const want = this.apply(op, answer)
      const problem = this.agrees(op, want, answer)
      if (problem !== null) {
        this.report('violation', `${this.prefix} ${op.kind} ${req.method} ${req.path} ${JSON.stringify(req.body)}: ${problem}`)
        this.divergent = true // the shadow is no longer right; resynchronised at the next restart
        return
      }
    }
  }

  /**
   * After a restart: everything this client owns must be as after its last answered request,
   * or as after the one in flight. Counts into `lost` / `violations`; then the shadow becomes
   * the observed state (which is now the committed truth either way).
   */
  check (obs: Observed, count: (kind: 'lost' | 'violation', msg: string) => void): 'before' | 'after' | 'neither' {
    const problems: string[] = []
    const observedWorld = worldFromObserved(obs, this.prefix, problems)
    for (const p of problems) count('violation', p)
    const got = canon(observedWorld)
    let verdict: 'before' | 'after' | 'neither' = 'neither'
    if (!this.divergent) {
      const before = this.pending?.before ?? canon(this.world)
      const after = this.pending?.after ?? before
      const same = (a: Map<string, string>, b: Map<string, string>): boolean =>
        a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)
      if (same(got, before)) verdict = 'before'
      else if (same(got, after)) verdict = 'after'
      else {
        const keys = new Set([...before.keys(), ...after.keys(), ...got.keys()])
        let perObject = 0
        for (const k of keys) {
          const g = got.get(k)
          const b = before.get(k)
          const a = after.get(k)
          if (g === b || g === a) continue
          perObject++
          const what = `${this.prefix}: ${k} is ${g ?? 'missing'}; expected ${b ?? 'missing'}${a !== b ? ` or (request in flight: ${this.pending?.op.kind}) ${a ?? 'missing'}` : ''}`
          if (a === b) count('lost', `acknowledged state lost: ${what}`)
          else count('violation', `request applied in part: ${what}`)
        }
        if (perObject === 0) count('violation', `${this.prefix}: each object matches, but the whole is neither before nor after ${this.pending?.op.kind}`)
      }
    }
    this.world = observedWorld
    for (const e of observedWorld.eventfds.values()) {
      const n = Number(/e(\d+)$/.exec(e.label ?? '')?.[1] ?? -1)
      if (n >= this.nEventfds) this.nEventfds = n + 1
    }
    return verdict
  }
}

// ---------------------------------------------------------------- the run

export async function runCrash (opts: CrashOptions): Promise<CrashReport> {
  const nClients = opts.clients ?? 4
  const minRun = opts.minRunMs ?? 150
  const maxRun = opts.maxRunMs ?? 1500
  const hostVectors = opts.hostVectors ?? 256
  const log = opts.log ?? (() => {})
  const rng = new Rng(mulberry32(opts.seed))
  const dir = mkdtempSync(join(tmpdir(), 'virq-crash-'))
  const db = join(dir, 'virq.db')
  const details: string[] = []
  let lost = 0
  let violations = 0
  let kills = 0
  let inFlight = 0
  let inFlightApplied = 0
  /** The most IMS-backed devices and IMS slots in use seen at one restart (docs/model.md 13). */
  let imsDevices = 0
  let slotsHeld = 0
  const count = (kind: 'lost' | 'violation', msg: string): void => {
    if (kind === 'lost') lost++
    else violations++
    if (details.length < 50) details.push(`${kind}: ${msg}`)
  }
  /** Every eventfd number acknowledged or seen so far, and the largest before this epoch. */
  const seenFds = new Set<number>()
  let maxFdBeforeEpoch = 0
  const onFd = (fd: number): void => {
    if (fd <= maxFdBeforeEpoch) count('violation', `eventfd ${fd} created after a restart is not above ${maxFdBeforeEpoch}, the largest number issued before`)
    if (seenFds.has(fd)) count('violation', `eventfd number ${fd} issued twice`)
    seenFds.add(fd)
  }
  const clients = Array.from({ length: nClients }, (_, i) => new Client(i, (opts.seed * 31 + i * 7919) >>> 0, count, onFd))

  /** Checks after a restart; then every shadow is the observed state. */
  const verify = async (base: string): Promise<void> => {
    const obs = await observe(base)
    imsDevices = Math.max(imsDevices, obs.devices.filter((o) => o.device.parent !== null).length)
    slotsHeld = Math.max(slotsHeld, obs.parents.reduce((n: number, p: any) => n + p.slots.used, 0))
    for (const c of clients) {
      if (c.pending !== null) inFlight++
      const verdict = c.check(obs, count)
      if (c.pending !== null && verdict === 'after') inFlightApplied++
    }
    // Nothing belongs to nobody.
    for (const o of obs.devices) if (!clients.some((c) => String(o.device.name).startsWith(c.prefix))) count('violation', `unknown device ${o.device.name}`)
    for (const e of obs.eventfds) if (!clients.some((c) => String(e.label).startsWith(c.prefix))) count('violation', `unknown eventfd ${e.fd} ${e.label}`)
    // Host pool accounting: used is the sum of what every device's MSI and MSI-X hold.
    let held = 0
    for (const o of obs.devices) for (const irq of o.irqs) if (irq.name === 'msi' || irq.name === 'msix') held += irq.hostVectors
    if (obs.host.hostVectors.used !== held) count('violation', `host pool used ${obs.host.hostVectors.used}, devices hold ${held}`)
    if (obs.host.hostVectors.used + obs.host.hostVectors.free !== obs.host.hostVectors.capacity) count('violation', `host pool ${JSON.stringify(obs.host.hostVectors)} does not add up`)
    if (obs.host.devices !== obs.devices.length || obs.host.eventfds !== obs.eventfds.length) count('violation', `host counts ${obs.host.devices}/${obs.host.eventfds}, listed ${obs.devices.length}/${obs.eventfds.length}`)
    // Eventfd numbers: never reused, the next one is above every one issued.
    for (const e of obs.eventfds) seenFds.add(e.fd)
    const maxFd = Math.max(0, ...seenFds)
    if (obs.host.nextEventfd <= maxFd) count('violation', `nextEventfd ${obs.host.nextEventfd} is not above ${maxFd}, the largest number issued`)
    maxFdBeforeEpoch = maxFd
  }

  const perKill: Array<{ lost: number, violations: number }> = []
  let server: Server | null = null
  try {
    server = await startServer(db, hostVectors)
    for (let epoch = 0; epoch < opts.kills; epoch++) {
      const t0 = Date.now()
      const runs = clients.map(async (c) => await c.run(server!.base))
      const runMs = rng.int(minRun, maxRun)
      await new Promise((resolve) => setTimeout(resolve, runMs))
      server.child.kill('SIGKILL')
      await server.exited
      kills++
      await Promise.all(runs)
      opts.afterKill?.(db, kills)
      server = await startServer(db, hostVectors)
      const [lost0, violations0] = [lost, violations]
      await verify(server.base)
      perKill.push({ lost: lost - lost0, violations: violations - violations0 })
      const acknowledged = clients.reduce((s, c) => s + c.acknowledged, 0)
      log(`kill ${kills}/${opts.kills} after ${runMs} ms: acknowledged=${acknowledged} in-flight=${inFlight} (applied ${inFlightApplied}) lost=${lost} violations=${violations} (${Date.now() - t0} ms)`)
    }
    // A graceful stop at the end must work on the state the kills left.
    server.child.kill('SIGTERM')
    const code = await server.exited
    if (code !== 0) count('violation', `graceful shutdown exited with ${code}: ${server.stderr.join('').slice(0, 500)}`)
    server = null
  } finally {
    if (server !== null) {
      server.child.kill('SIGKILL')
      await server.exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const acknowledged = clients.reduce((s, c) => s + c.acknowledged, 0)
  return {
    seed: opts.seed,
    kills,
    acknowledged,
    lost,
    violations,
    inFlight,
    inFlightApplied,
    perKill,
    details,
    figures: `kills=${kills} acknowledged=${acknowledged} lost=${lost} violations=${violations} ims-devices=${imsDevices} ims-slots=${slotsHeld}`
  }
}
