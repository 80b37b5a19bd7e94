import type { Test } from 'tap'
import type { App } from '../../src/app.ts'

// Shared by the bad-input tables, the ETag tests and the restart test: read the whole
// observable state through the public API, so that "nothing changed" and "nothing was lost"
// can be checked with one deep comparison.

export interface Json { [k: string]: any }

/** GET a URL and return its JSON; throws with the body when the answer is not 200. */
export async function getJson (app: App, url: string): Promise<any> {
  const res = await app.inject({ method: 'GET', url })
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

/** Every item of a paginated collection, following nextCursor. */
export async function listAll (app: App, path: string, limit = 100): Promise<Json[]> {
  const out: Json[] = []
  let cursor: string | undefined
  for (let page = 0; page < 10_000; page++) {
    const q = new URLSearchParams({ limit: String(limit) })
    if (cursor !== undefined) q.set('cursor', cursor)
    const body = await getJson(app, `${path}?${q.toString()}`)
    out.push(...body.items)
    if (body.nextCursor === undefined) return out
    cursor = body.nextCursor
  }
  throw new Error(`${path}: pagination did not end`)
}

/**
 * Everything the API shows: each device (with its ETag), its /irqs, every index's /vectors,
 * each eventfd with its bindings, the eventfd list and /v1/host.
 */
export async function snapshot (app: App, opts: { pageSize?: number } = {}): Promise<Json> {
  const devices: Json[] = []
  for (const listed of await listAll(app, '/v1/devices', opts.pageSize)) {
    const res = await app.inject({ method: 'GET', url: `/v1/devices/${listed.id}` })
    if (res.statusCode !== 200) throw new Error(`GET device ${listed.id}: ${res.statusCode}`)
    const device = res.json()
    const irqs = (await getJson(app, `/v1/devices/${listed.id}/irqs`)).items as Json[]
    const vectors: Record<string, Json> = {}
    for (const irq of irqs) vectors[irq.name] = await getJson(app, `/v1/devices/${listed.id}/irqs/${irq.name}/vectors`)
    devices.push({ listed, device, etag: res.headers.etag, irqs, vectors })
  }
  const eventfdList = await listAll(app, '/v1/eventfds', opts.pageSize)
  const eventfds: Json[] = []
  for (const e of eventfdList) eventfds.push(await getJson(app, `/v1/eventfds/${e.fd}`))
  return { devices, eventfdList, eventfds, host: await getJson(app, '/v1/host'), parents: await getJson(app, '/v1/parents') }
}

/** POST JSON and insist on a 2xx: for building state in test setups. */
export async function ok (app: App, method: 'POST' | 'DELETE' | 'GET', url: string, payload?: unknown): Promise<any> {
  const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as any } : {}) })
  if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`)
  return res.body === '' ? undefined : res.json()
}

export const newEventfd = async (app: App, body: Json = {}): Promise<number> => (await ok(app, 'POST', '/v1/eventfds', body)).fd
export const newDevice = async (app: App, body: Json): Promise<string> => (await ok(app, 'POST', '/v1/devices', body)).id

export async function setIrqs (app: App, id: string, index: string, body: Json): Promise<any> {
  return ok(app, 'POST', `/v1/devices/${id}/irqs/${index}`, body)
}

/** The state every bad-input table runs against: something of everything, so that any leak shows. */
export interface Fixture {
  /** linux-6.12, PCIe, reset, INTx, MSI 4, MSI-X 8 dynamic: MSI-X enabled, vectors 0 and 1 bound, ERR bound. */
  a: string
  /** linux-6.1, MSI-X 16 (NORESIZE): enabled with 3 vectors, vector 0 bound. */
  b: string
  /** linux-6.12, INTx only, no reset, not PCIe: INTx enabled, masked, unmask eventfd installed. */
  c: string
  e1: number
  e2: number
  e3: number
  e4: number
  unmask: number
  spare: number
  sem: number
  /** A number that was issued and then closed. */
  deleted: number
}

export async function buildFixture (app: App): Promise<Fixture> {
  const e1 = await newEventfd(app, { label: 'a-v0' })
  const e2 = await newEventfd(app)
  const e3 = await newEventfd(app, { label: 'a-err' })
  const e4 = await newEventfd(app)
  const unmask = await newEventfd(app, { label: 'c-unmask' })
  const spare = await newEventfd(app)
  const sem = await newEventfd(app, { semaphore: true })
  const deleted = await newEventfd(app)
  await ok(app, 'DELETE', `/v1/eventfds/${deleted}`)

  const a = await newDevice(app, { name: 'a', abi: 'linux-6.12', pcie: true, reset: true, intx: true, msi: { vectors: 4 }, msix: { tableSize: 8 } })
  await setIrqs(app, a, 'msix', { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [e1, e2] } })
  await setIrqs(app, a, 'err', { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e3] } })
  await setIrqs(app, a, 'msix', { action: 'trigger', start: 0, count: 8, data: { type: 'none' } }) // e1, e2 = 1

  const b = await newDevice(app, { name: 'b', abi: 'linux-6.1', msix: { tableSize: 16 } })
  await setIrqs(app, b, 'msix', { action: 'trigger', start: 0, count: 3, data: { type: 'eventfd', fds: [e4, -1, -1] } })

  const c = await newDevice(app, { name: 'c', intx: true })
  await setIrqs(app, c, 'intx', { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [spare] } })
  await setIrqs(app, c, 'intx', { action: 'mask', start: 0, count: 1, data: { type: 'none' } })
  await setIrqs(app, c, 'intx', { action: 'unmask', start: 0, count: 1, data: { type: 'eventfd', fds: [unmask] } })

  await ok(app, 'POST', `/v1/eventfds/${e4}/write`, { value: 7 })
  await ok(app, 'POST', `/v1/eventfds/${sem}/write`, { value: 2 })
  return { a, b, c, e1, e2, e3, e4, unmask, spare, sem, deleted }
}

export interface Case {
  name: string
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH'
  url: (f: Fixture) => string
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: (f: Fixture) => unknown
  headers?: (f: Fixture) => Record<string, string>
  status: number | number[]
  reason: string | string[]
  errno?: string
  errnoValue?: number
  /** Raw ioctl routes answer result -1 with an errno. */
  result?: number
  /** A validation problem names this path in `errors`. */
  errorPath?: string
}

/**
 * Runs every case against one app holding the fixture: each answers the expected problem and
 * leaves the whole observable state exactly as it was. No case may ever answer 5xx.
 */
export async function runTable (t: Test, app: App, f: Fixture, cases: Case[]): Promise<void> {
  const statuses: Array<[string, number]> = []
  const start = await snapshot(app)
  for (const c of cases) {
    await t.test(c.name, async (t: Test) => {
      const before = await snapshot(app)
      const raw = c.body?.(f)
      const headers: Record<string, string> = { ...(c.headers?.(f) ?? {}) }
      let payload: string | Buffer | undefined
      if (typeof raw === 'string' || Buffer.isBuffer(raw)) payload = raw
      else if (raw !== undefined) {
        payload = JSON.stringify(raw)
        headers['content-type'] ??= 'application/json'
      }
      const res = await app.inject({ method: c.method, url: c.url(f), headers, ...(payload !== undefined ? { payload } : {}) })
      statuses.push([c.name, res.statusCode])
      const want = Array.isArray(c.status) ? c.status : [c.status]
      t.ok(want.includes(res.statusCode), `status ${res.statusCode} is one of ${want.join(', ')}`, { body: res.body.slice(0, 500) })
      t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
      let p: Json = {}
      try { p = res.json() } catch { t.fail('the body is JSON', { body: res.body.slice(0, 200) }) }
      const reasons = Array.isArray(c.reason) ? c.reason : [c.reason]
      t.ok(reasons.includes(p.reason), `reason ${String(p.reason)} is one of ${reasons.join(', ')}`, { detail: p.detail })
      t.equal(p.status, res.statusCode, 'problem.status is the HTTP status')
      t.type(p.title, 'string')
      t.type(p.detail, 'string')
      if (c.errno !== undefined) {
        t.equal(p.errno, c.errno, 'errno')
        t.equal(p.errnoValue, c.errnoValue, 'errnoValue')
      } else {
        t.notOk('errno' in p, 'no errno where the model produced none')
        t.notOk('errnoValue' in p, 'no errnoValue where the model produced none')
      }
      if (c.result !== undefined) t.equal(p.result, c.result, 'raw ioctl result')
      if (c.errorPath !== undefined) {
        t.ok(Array.isArray(p.errors) && p.errors.some((e: Json) => e.path === c.errorPath),
          `errors name ${c.errorPath}`, { errors: p.errors })
      }
      t.strictSame(await snapshot(app), before, 'nothing changed')
    })
  }
  t.strictSame(await snapshot(app), start, 'the whole table changed nothing')
  const fivexx = statuses.filter(([, s]) => s >= 500)
  t.same(fivexx, [], 'no request in the table answered 5xx')
  t.equal(statuses.length, cases.length, 'every case ran')
}
