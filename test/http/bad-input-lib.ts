import type { Test } from 'tap'
import { type App, createDevice, createEventfd, type Json, ok, setIrqs, snapshot } from '../helper.ts'

// The bad-input tables: one fixture holding something of everything, and a runner that checks
// each case answers its problem and leaves the whole observable state (snapshot) as it was.

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
  const e1 = await createEventfd(app, { label: 'a-v0' })
  const e2 = await createEventfd(app)
  const e3 = await createEventfd(app, { label: 'a-err' })
  const e4 = await createEventfd(app)
  const unmask = await createEventfd(app, { label: 'c-unmask' })
  const spare = await createEventfd(app)
  const sem = await createEventfd(app, { semaphore: true })
  const deleted = await createEventfd(app)
  await ok(app, 'DELETE', `/v1/eventfds/${deleted}`)

  const a = await createDevice(app, { name: 'a', abi: 'linux-6.12', pcie: true, reset: true, intx: true, msi: { vectors: 4 }, msix: { tableSize: 8 } })
  await setIrqs(app, a, 'msix', { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [e1, e2] } })
  await setIrqs(app, a, 'err', { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e3] } })
  await setIrqs(app, a, 'msix', { action: 'trigger', start: 0, count: 8, data: { type: 'none' } }) // e1, e2 = 1

  const b = await createDevice(app, { name: 'b', abi: 'linux-6.1', msix: { tableSize: 16 } })
  await setIrqs(app, b, 'msix', { action: 'trigger', start: 0, count: 3, data: { type: 'eventfd', fds: [e4, -1, -1] } })

  const c = await createDevice(app, { name: 'c', intx: true })
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
