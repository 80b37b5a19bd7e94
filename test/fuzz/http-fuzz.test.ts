import fc from 'fast-check'
import t from 'tap'
import type { App } from '../../src/app.ts'
import { ABIS } from '../../src/core/profiles.ts'
import { build, deviceModel, eventfdModel, type Json, modelWorld, snapshot } from '../helper.ts'
import { buildFixture } from '../http/bad-input-lib.ts'
import { FUZZ_SEED, resolveStep, runs, setIrqsStepArb, type SetIrqsStep } from './model-lib.ts'

// HTTP fuzzing: random and malformed requests to every route
// through app.inject: wrong types, huge and negative numbers, start + count overflow, giant
// arrays, deep JSON, invalid UTF-8, wrong content types, random paths and parameters.
// After every request:
// - never a 5xx (507 is the contract's answer to ENOSPC and allowed as such), never a crash;
// - every error is problem+json whose `status` is the HTTP status;
// - a rejected request changes nothing (the whole state, snapshot through the API), except
//   the partial rollback of docs/model.md 5.4 on a SET_IRQS block, which may only touch that device.
// FUZZ_SEED=n picks another seed, FUZZ_RUNS_SCALE=x scales the runs, FUZZ_DEBUG=1 prints
// every request and its answer.

const SEED = FUZZ_SEED
const NUM_RUNS = runs(1200)
const HOST_VECTORS = 24

// ---------------------------------------------------------------- generators

/** Values of every wrong type and the numbers around every boundary. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, '', '0', '1', '-1', 'msix', '2', [], {}, [1], { a: 1 }, -1, -0, 0.5, 1e308, -1e308,
    2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 64, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 'x'.repeat(200), '\u0000', '\ud800'),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 20 })
)
/** Mostly a plausible value, sometimes anything. */
const or = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: weird })
const small = fc.integer({ min: -2, max: 70 })
const u32ish = fc.oneof(small, fc.constantFrom(0xfffffffe, 0xffffffff, 0x100000000, 0x7fffffff, 0x80000000, 2047, 2048, 2049))
const fdNum = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -2, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(-2147483648, 2147483647, 2147483648, -2147483649, 2 ** 53) })
/** `arb` once in `n` draws, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 1, arbitrary: arb }, { weight: n - 1, arbitrary: fc.constant(null) })
/** An object with some keys left out and sometimes an unknown one added. */
const partialRecord = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(fc.record(fields, { requiredKeys: [] }), rarely(fc.tuple(fc.constantFrom('extra', '__proto__', 'constructor', 'argsz', 'Data'), weird), 8))
    .map(([o, extra]) => (extra === null ? o : { ...o, [extra[0]]: extra[1] }))

const friendlySetIrqs = partialRecord({
  action: or(fc.constantFrom('mask', 'unmask', 'trigger')),
  start: or(u32ish),
  count: or(u32ish),
  data: or(fc.oneof(
    fc.constant({ type: 'none' }),
    fc.record({ type: fc.constant('bool'), values: fc.array(or(fc.boolean()), { maxLength: 12 }) }),
    fc.record({ type: fc.constant('eventfd'), fds: fc.array(or(fdNum), { maxLength: 12 }) }),
    partialRecord({ type: or(fc.constantFrom('none', 'bool', 'eventfd')), values: fc.array(weird, { maxLength: 3 }), fds: fc.array(weird, { maxLength: 3 }) })
  ))
})
const rawSetIrqs = partialRecord({
  argsz: or(u32ish),
  flags: or(fc.oneof(fc.integer({ min: 0, max: 0x3f }), u32ish)),
  index: or(u32ish),
  start: or(u32ish),
  count: or(u32ish),
  data: or(fc.array(or(fdNum), { maxLength: 12 }))
})
const deviceCreate = partialRecord({
  name: or(fc.string({ minLength: 0, maxLength: 130 })),
  abi: or(fc.constantFrom(...ABIS, 'linux-6.5', '')),
  pcie: or(fc.boolean()),
  reset: or(fc.boolean()),
  intx: or(fc.boolean()),
  msi: or(partialRecord({ vectors: or(fc.constantFrom(0, 1, 2, 3, 4, 8, 16, 32, 64)) })),
  msix: or(partialRecord({ tableSize: or(fc.constantFrom(0, 1, 2, 8, 64, 2048, 2049)), dynamic: or(fc.boolean()) }))
})
const eventfdCreate = partialRecord({ semaphore: or(fc.boolean()), label: or(fc.string({ maxLength: 130 })) })
const eventfdWrite = partialRecord({ value: or(fc.oneof(fc.nat(5), fc.constantFrom(-1, 2 ** 53 - 1, 2 ** 53, 1.5))) })
const fireBody = partialRecord({
  index: or(fc.constantFrom('intx', 'msi', 'msix', 'err', 'req', '0', '2', '5', 2)),
  vectors: or(fc.array(or(fc.integer({ min: -1, max: 2048 })), { maxLength: 8 })),
  vector: or(fc.integer({ min: -1, max: 2048 })),
  count: or(fc.constantFrom(0, 1, 2, 1_000_000_000, 1_000_000_001)),
  level: or(fc.constantFrom('assert', 'deassert', 'pulse', 'high'))
})
const getInfo = partialRecord({ argsz: or(u32ish) })
const getIrqInfo = partialRecord({ argsz: or(u32ish), index: or(u32ish) })

/** A path parameter: a reference to something that exists (resolved when the request runs), or junk. */
type Param = { ref: number } | { deleted: true } | { raw: string }
const junk = fc.oneof(
  fc.constantFrom('', '%', '%zz', '%ff', '%00', '..', '.', ' ', 'null', 'undefined', '0', '-1', '1.5', '1e2', '0x1', '9007199254740992',
    '99999999999999999999', 'a'.repeat(65), '%E2%80%AE', '%C0%AF', '__proto__', 'constructor'),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.integer().map(String),
  fc.uuid()
)
const paramArb: fc.Arbitrary<Param> = fc.oneof(
  { weight: 14, arbitrary: fc.nat(50).map((ref) => ({ ref })) },
  { weight: 1, arbitrary: fc.constant({ deleted: true as const }) },
  { weight: 3, arbitrary: junk.map((raw) => ({ raw })) }
)
const indexParam = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('intx', 'msi', 'msix', 'err', 'req', '0', '1', '2', '3', '4') },
  { weight: 2, arbitrary: fc.constantFrom('5', '9999999999', '99999999999', '4294967295', '-1', 'MSIX', '2.0', '%20', '', 'msix%00', '02') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) }
)

/** What goes in the body. */
type BodySpec =
  | { kind: 'none' }
  | { kind: 'json', value: unknown }
  | { kind: 'deep', depth: number, object: boolean }
  | { kind: 'giant', n: number, field: string }
  | { kind: 'bytes', bytes: Uint8Array }
  | { kind: 'bad-utf8', value: unknown }
  | { kind: 'text', text: string }
  | { kind: 'model', step: SetIrqsStep }

interface Route { method: string, path: string, body?: fc.Arbitrary<unknown> }
const ROUTES: Route[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/v1/host' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/v1/devices' },
  { method: 'POST', path: '/v1/devices', body: deviceCreate },
  { method: 'GET', path: '/v1/devices/:id' },
  { method: 'DELETE', path: '/v1/devices/:id' },
  { method: 'POST', path: '/v1/devices/:id/reset' },
  { method: 'GET', path: '/v1/devices/:id/irqs' },
  { method: 'GET', path: '/v1/devices/:id/irqs/:index' },
  { method: 'GET', path: '/v1/devices/:id/irqs/:index/vectors' },
  { method: 'POST', path: '/v1/devices/:id/irqs/:index', body: friendlySetIrqs },
  { method: 'POST', path: '/v1/devices/:id/ioctl/get-info', body: getInfo },
  { method: 'POST', path: '/v1/devices/:id/ioctl/get-irq-info', body: getIrqInfo },
  { method: 'POST', path: '/v1/devices/:id/ioctl/set-irqs', body: rawSetIrqs },
  { method: 'POST', path: '/v1/devices/:id/ioctl/reset' },
  { method: 'POST', path: '/v1/devices/:id/interrupts', body: fireBody },
  { method: 'GET', path: '/v1/eventfds' },
  { method: 'POST', path: '/v1/eventfds', body: eventfdCreate },
  { method: 'GET', path: '/v1/eventfds/:fd' },
  { method: 'DELETE', path: '/v1/eventfds/:fd' },
  { method: 'POST', path: '/v1/eventfds/:fd/read' },
  { method: 'POST', path: '/v1/eventfds/:fd/write', body: eventfdWrite },
  { method: 'GET', path: '/v1/eventfds/:fd/events' }, // only ever with an fd that does not exist (a stream would not end)
  { method: 'GET', path: '/v1/stream' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/v1/admin/tokens' },
  { method: 'POST', path: '/v1/admin/tokens', body: partialRecord({ tenant: or(fc.constantFrom('default', 't1', '')), label: or(fc.string({ maxLength: 10 })), limits: weird }) },
  { method: 'DELETE', path: '/v1/admin/tokens/:id' },
  { method: 'GET', path: '/:junk' },
  { method: 'POST', path: '/v1/:junk/:junk' }
]
const ROUTE_WEIGHT: Record<string, number> = {
  '/v1/devices/:id/irqs/:index': 10, '/v1/devices/:id/ioctl/set-irqs': 10, '/v1/devices': 2, '/v1/eventfds': 2, '/openapi.json': 0.1, '/metrics': 0.3
}

interface RequestSpec {
  /** Only the body is fuzzed: no method, query, content-type or If-Match noise. */
  clean: boolean
  route: number
  method: string | null
  id: Param
  fd: Param
  index: string
  junk: string[]
  query: Array<[string, string]>
  body: BodySpec
  contentType: string | null
  ifMatch: string | null
}

const bodyArb = (route: Route): fc.Arbitrary<BodySpec> => {
  const shaped = route.body ?? fc.constant({})
  const options: Array<fc.WeightedArbitrary<BodySpec>> = [
    { weight: route.body !== undefined ? 12 : 1, arbitrary: shaped.map((value) => ({ kind: 'json' as const, value })) },
    { weight: route.body !== undefined ? 1 : 5, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.record({ depth: fc.constantFrom(10, 1000, 20000, 100000), object: fc.boolean() }).map((x) => ({ kind: 'deep' as const, ...x })) },
    { weight: 1, arbitrary: fc.record({ n: fc.constantFrom(16384, 16385, 40000, 70000), field: fc.constantFrom('data', 'vectors', 'fds', 'values', 'label') }).map((x) => ({ kind: 'giant' as const, ...x })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    { weight: 1, arbitrary: shaped.map((value) => ({ kind: 'bad-utf8' as const, value })) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', '{', '{"a":', 'null', '[]', '"x"', '1', 'true', '{"a":1}{', '\ufeff{}')).map((text) => ({ kind: 'text' as const, text })) }
  ]
  if (route.path === '/v1/devices/:id/ioctl/set-irqs' || (route.path === '/v1/devices/:id/irqs/:index' && route.method === 'POST')) options.push({ weight: 30, arbitrary: setIrqsStepArb.map((step) => ({ kind: 'model' as const, step })) })
  return fc.oneof(...options)
}

const routeArb = fc.oneof(...ROUTES.map((r, i) => ({ weight: Math.max(1, Math.round((ROUTE_WEIGHT[r.path] ?? 1) * 10)), arbitrary: fc.constant(i) })))

const requestArb: fc.Arbitrary<RequestSpec> = routeArb.chain((route) => fc.record({
  clean: fc.nat(2).map((n) => n === 0),
  route: fc.constant(route),
  method: rarely(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'), 12),
  id: paramArb,
  fd: paramArb,
  index: indexParam,
  junk: fc.array(junk, { minLength: 2, maxLength: 2 }),
  query: fc.oneof({ weight: 3, arbitrary: fc.constant<Array<[string, string]>>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'force', 'timeoutMs', 'x', 'limit[]', 'force'), fc.oneof(junk, fc.constantFrom('true', 'false', '1', '0', '1000', '1001', 'cDE', 'cDk5OTk5OTk5OTk5OTk5OTk5OTk5OQ'))), { minLength: 1, maxLength: 3 }) }),
  body: bodyArb(ROUTES[route]),
  contentType: rarely(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', 'application/json; charset=latin1',
    'APPLICATION/JSON', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/problem+json',
    'application/jsonx', 'application/json, text/plain', ''), 5),
  ifMatch: rarely(fc.constantFrom('*', '"1"', '"2"', '"3"', 'W/"1"', '"999"', 'garbage', '', '"1", "2"', '"'), 8)
}))

// ---------------------------------------------------------------- running one request

interface Live { devices: string[], fds: number[], deletedDevice: string, deletedFd: number }

/** A timeout long enough to wait is never sent: a read may wait up to 60 s. */
const SAFE_TIMEOUTS = ['0', '1', '-1', '60001', 'abc', '', '1.5', '99999999999999999999']

function render (noisy: RequestSpec, live: Live, app: App): { method: string, url: string, headers: Record<string, string>, payload?: string | Buffer, skip?: string } {
  const spec: RequestSpec = noisy.clean ? { ...noisy, method: null, query: [], contentType: null, ifMatch: null } : noisy
  const route = ROUTES[spec.route]
  const resolve = (p: Param, pool: Array<string | number>, deleted: string | number): string =>
    'ref' in p ? (pool.length > 0 ? String(pool[p.ref % pool.length]) : String(deleted)) : 'deleted' in p ? String(deleted) : p.raw
  let junkI = 0
  let index = spec.index
  let modelBody: string | undefined
  if (spec.body.kind === 'model') {
    const dev = deviceModel(app, resolve(spec.id, live.devices, live.deletedDevice))
    if (dev === undefined) modelBody = '{}'
    else {
      const raw = resolveStep(spec.body.step, dev, live.fds, live.deletedFd)
      if (route.path.endsWith('/ioctl/set-irqs')) modelBody = JSON.stringify(raw)
      else {
        // The same struct in the friendly form (only the flags it can express).
        index = String(raw.index)
        const action = ({ 8: 'mask', 16: 'unmask', 32: 'trigger' } as Record<number, string>)[raw.flags & 0x38] ?? 'trigger'
        const type = raw.flags & 7
        const data = type === 2 ? { type: 'bool', values: raw.data.map((x) => x !== 0) } : type === 4 ? { type: 'eventfd', fds: raw.data } : { type: 'none' }
        modelBody = JSON.stringify({ action, start: raw.start, count: raw.count, data })
      }
    }
  }
  let path = route.path
    .replace(':id', resolve(spec.id, live.devices, live.deletedDevice))
    .replace(':fd', route.path.endsWith('/events') ? String(live.deletedFd) : resolve(spec.fd, live.fds, live.deletedFd))
    .replace(':index', index)
    .replace(/:junk/g, () => spec.junk[junkI++ % spec.junk.length])
  if (path === '') path = '/'
  const query = spec.query.map(([k, v], i) => `${k}=${k === 'timeoutMs' ? SAFE_TIMEOUTS[i % SAFE_TIMEOUTS.length] : v}`)
  const url = query.length > 0 ? `${path}?${query.join('&')}` : path
  const headers: Record<string, string> = {}
  if (spec.ifMatch !== null) headers['if-match'] = spec.ifMatch
  let payload: string | Buffer | undefined
  const b = spec.body
  switch (b.kind) {
    case 'none': break
    case 'json': payload = JSON.stringify(b.value) ?? 'null'; break
    case 'deep': payload = b.object ? '{"a":'.repeat(b.depth) + '1' + '}'.repeat(b.depth) : '['.repeat(b.depth) + ']'.repeat(b.depth); break
    case 'giant': payload = JSON.stringify({ flags: 36, index: 2, start: 0, count: 1, index2: 'msix', [b.field]: b.field === 'label' ? 'x'.repeat(b.n) : new Array(b.n).fill(1) }); break
    case 'bytes': payload = Buffer.from(b.bytes); break
    case 'bad-utf8': {
      // Valid JSON syntax with bytes that are not UTF-8 inside a string (or the whole body).
      const text = JSON.stringify(b.value) ?? '{}'
      const at = text.indexOf('"')
      payload = at >= 0
        ? Buffer.concat([Buffer.from(text.slice(0, at + 1)), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from(text.slice(at + 1))])
        : Buffer.concat([Buffer.from([0xff]), Buffer.from(text)])
      break
    }
    case 'text': payload = b.text; break
    case 'model': payload = modelBody; break
  }
  if (payload !== undefined) headers['content-type'] = spec.contentType ?? 'application/json'
  else if (spec.contentType !== null && spec.contentType !== '') headers['content-type'] = spec.contentType
  const method = spec.method ?? route.method
  if (route.path.endsWith('/events') && method === 'GET' && eventfdModel(app, live.deletedFd, 'default') !== undefined) return { method, url, headers, skip: 'events' }
  return { method, url, headers, ...(payload !== undefined ? { payload } : {}) }
}

/** The first place two JSON values differ, for the report. */
function firstDiff (a: unknown, b: unknown, path = ''): string | null {
  if (JSON.stringify(a) === JSON.stringify(b)) return null
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${path || '/'}: ${JSON.stringify(a)?.slice(0, 200)} -> ${JSON.stringify(b)?.slice(0, 200)}`
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDiff((a as any)[k], (b as any)[k], `${path}/${k}`)
    if (d !== null) return d
  }
  return `${path}: differs`
}

/** The snapshot without one device and the host's pool use: what a partial rollback may not touch. */
function withoutDevice (s: Json, id: string): Json {
  return {
    ...s,
    devices: s.devices.filter((d: Json) => d.device.id !== id),
    host: { ...s.host, hostVectors: undefined },
    // bindings of eventfds name vectors; a rollback de-assigns vectors of that device only
    eventfds: s.eventfds.map((e: Json) => ({ ...e, bindings: e.bindings?.filter((b: Json) => b.deviceId !== id) }))
  }
}

const PARTIAL_REASONS = new Set(['bad-fd', 'host-vectors-exhausted', 'vector-not-allocated'])

t.test(`HTTP fuzz: no 5xx, and a rejected request changes nothing (seed ${SEED}, ${NUM_RUNS} runs)`, async (t) => {
  const app = await build(t, { hostVectors: HOST_VECTORS })
  const fixtureDevices = new Set<string>()
  const fixtureFds = new Set<number>()
  const addFixture = async (): Promise<void> => {
    const f = await buildFixture(app)
    for (const id of [f.a, f.b, f.c]) fixtureDevices.add(id)
    for (const fd of [f.e1, f.e2, f.e3, f.e4, f.unmask, f.spare, f.sem]) fixtureFds.add(fd)
  }
  await addFixture()
  const deletedFd = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json().fd
  await app.inject({ method: 'DELETE', url: `/v1/eventfds/${deletedFd}` })
  const deletedDevice = (await app.inject({ method: 'POST', url: '/v1/devices', payload: {} })).json().id
  await app.inject({ method: 'DELETE', url: `/v1/devices/${deletedDevice}` })

  /** Keeps the state rich but small: a fixture again when much was deleted, extras removed when much was created. */
  const maintain = async (): Promise<boolean> => {
    const w = modelWorld(app)
    let touched = false
    if (w.devices.size < 3 || w.eventfds.size < 5) { await addFixture(); touched = true }
    const extras = [...w.devices.values()].filter((d) => !fixtureDevices.has(d.id))
    for (const d of extras.slice(0, Math.max(0, w.devices.size - 6))) { await app.inject({ method: 'DELETE', url: `/v1/devices/${d.id}` }); touched = true }
    for (const d of [...w.devices.values()]) if (d.caps.msixTableSize > 256 && !fixtureDevices.has(d.id)) { await app.inject({ method: 'DELETE', url: `/v1/devices/${d.id}` }); touched = true }
    const extraFds = [...w.eventfds.values()].filter((e) => !fixtureFds.has(e.fd))
    for (const e of extraFds.slice(0, Math.max(0, w.eventfds.size - 14))) { await app.inject({ method: 'DELETE', url: `/v1/eventfds/${e.fd}?force=true` }); touched = true }
    return touched
  }

  const statuses: Record<string, number> = {}
  let rejected = 0
  let partial = 0
  let skipped = 0
  let failure: string | null = null
  let before = await snapshot(app)
  const t0 = Date.now()
  const details = await fc.check(fc.asyncProperty(requestArb, async (spec) => {
    if (await maintain()) before = await snapshot(app)
    const live: Live = {
      devices: [...modelWorld(app).devices.keys()],
      fds: [...modelWorld(app).eventfds.values()].map((e) => e.fd),
      deletedDevice,
      deletedFd
    }
    const req = render(spec, live, app)
    if (req.skip !== undefined) { skipped++; return }
    const what = `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${typeof req.payload === 'string' ? req.payload.slice(0, 300) : req.payload !== undefined ? `<${req.payload.length} bytes ${req.payload.subarray(0, 40).toString('hex')}>` : ''}`
    const fail = (msg: string): never => {
      failure = `${msg}\n  request: ${what}`
      throw new Error(failure)
    }
    let res
    try {
      res = await app.inject({ method: req.method as any, url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) })
    } catch (err) {
      return fail(`inject threw ${(err as Error).stack}`)
    }
    const key = `${req.method === 'HEAD' ? 'HEAD ' : ''}${res.statusCode}`
    statuses[key] = (statuses[key] ?? 0) + 1
    if (process.env.FUZZ_DEBUG !== undefined) console.error(res.statusCode, what.slice(0, 160), res.body.slice(0, 100))
    let body: any
    if (res.statusCode >= 400 && req.method !== 'HEAD') {
      if (!String(res.headers['content-type']).startsWith('application/problem+json')) fail(`${res.statusCode} is not problem+json: ${res.headers['content-type']} ${res.body.slice(0, 200)}`)
      try { body = res.json() } catch { fail(`${res.statusCode} body is not JSON: ${res.body.slice(0, 200)}`) }
      if (body.status !== res.statusCode || typeof body.reason !== 'string') fail(`problem body ${res.body.slice(0, 300)} does not match status ${res.statusCode}`)
    }
    // 507 is the contract's ENOSPC; 503 "overloaded" (event loop lag on a busy machine) is a refusal too.
    if (res.statusCode >= 500 && !(res.statusCode === 507 && body?.errno === 'ENOSPC') && !(res.statusCode === 503 && body?.reason === 'overloaded')) fail(`answered ${res.statusCode}: ${res.body.slice(0, 500)}`)
    const after = await snapshot(app)
    if (res.statusCode >= 400) {
      rejected++
      const setIrqs = /^\/v1\/devices\/([^/]+)\/(irqs\/[^/]+|ioctl\/set-irqs)$/.exec(req.url.split('?')[0])
      if (setIrqs !== null && PARTIAL_REASONS.has(body?.reason)) {
        // docs/model.md 5.4: a failed block de-assigns what it did on this device, nothing else.
        if (firstDiff(before, after) !== null) partial++
        const d = firstDiff(withoutDevice(before, decodeURIComponent(setIrqs[1])), withoutDevice(after, decodeURIComponent(setIrqs[1])))
        if (d !== null) fail(`rejected ${res.statusCode} ${body?.reason} (partial rollback) changed something outside its device: ${d}`)
      } else {
        const d = firstDiff(before, after)
        if (d !== null) fail(`rejected ${res.statusCode} ${body?.reason ?? ''} but the state changed: ${d}`)
      }
    }
    before = after
  }), { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true })
  t.comment(`seed ${SEED}: ${details.numRuns} runs in ${Date.now() - t0} ms (${skipped} skipped); ${rejected} rejected (${partial} with a partial rollback); statuses ${JSON.stringify(statuses)}`)
  t.notOk(details.failed, 'no 5xx, problem+json errors, rejected requests change nothing', { failure: failure ?? String(details.errorInstance ?? '') })
  t.ok(rejected > NUM_RUNS / 3, 'most requests are rejected (they are meant to be bad)')
  t.ok(Object.keys(statuses).some((s) => s.startsWith('2')), 'some requests succeed')
})
