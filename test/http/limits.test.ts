import { join } from 'node:path'
import t from 'tap'
import { DEFAULT_LIMITS, readConfig } from '../../src/config.ts'
import { type App, build, injectAs, snapshot, type Tap } from '../helper.ts'
import { SOURCE_SERVER, startServer, stopServer } from '../store/lib.ts'

// Default caps on what an instance holds (devices, eventfds, MSI + MSI-X table entries), so
// that neither auth-off use nor a tenant without limits of its own can grow it without bound.
// Over a cap: 429 problem+json naming the cap, and nothing changes.

const ADMIN = 'admin-token-0123456789abcdef'

interface Caps { maxDevices?: number, maxEventfds?: number, maxTableEntries?: number }

async function open (t: Tap, caps: Caps, adminToken?: string): Promise<App> {
  return await build(t, { hostVectors: 64, ...caps, ...(adminToken !== undefined ? { adminToken } : {}) })
}
type Req = (method: string, url: string, payload?: unknown) => Promise<Awaited<ReturnType<App['inject']>>>
const as = (app: App, token?: string): Req => async (method, url, payload) => await injectAs(app, token, method, url, payload)

t.test('config: the caps are flags and environment variables like the rest; flags win', async (t) => {
  const cases: Array<{ name: string, argv: string[], env: Record<string, string>, want: Partial<ReturnType<typeof readConfig>> }> = [
    { name: 'defaults', argv: [], env: {}, want: { maxDevices: 16_384, maxEventfds: 131_072, maxTableEntries: 1_048_576 } },
    { name: 'environment', argv: [], env: { VIRQ_MAX_DEVICES: '10', VIRQ_MAX_EVENTFDS: '20', VIRQ_MAX_TABLE_ENTRIES: '30' }, want: { maxDevices: 10, maxEventfds: 20, maxTableEntries: 30 } },
    { name: 'flags over environment', argv: ['--max-devices', '1', '--max-eventfds', '2', '--max-table-entries', '3'], env: { VIRQ_MAX_DEVICES: '10' }, want: { maxDevices: 1, maxEventfds: 2, maxTableEntries: 3 } }
  ]
  for (const c of cases) t.match(readConfig(c.argv, c.env), c.want, c.name)
  for (const [flag, value] of [['--max-devices', '0x10'], ['--max-eventfds', 'many'], ['--max-table-entries', '1e6'], ['--max-streams', '0'], ['--body-limit', '100']]) {
    t.throws(() => readConfig([flag, value], {}), new RegExp(`${flag} must be an integer`), `${flag} ${value}`)
  }
  t.match(readConfig([], {}), { maxStreams: 1024, bodyLimit: 256 * 1024 }, 'stream and body defaults')
  t.match(readConfig(['--max-streams', '3'], { VIRQ_BODY_LIMIT: '4096' }), { maxStreams: 3, bodyLimit: 4096 }, 'stream and body limits set')
})

t.test('config: --body-limit and --max-streams reach the server (413 over the body limit, 429 over the streams)', async (t) => {
  const file = join(t.testdir(), 'virq.db')
  const run = await startServer(t, file, [...SOURCE_SERVER, '--body-limit', '2048', '--max-streams', '1'])
  if (!('started' in run)) throw new Error(`the server did not start: ${run.exited.stderr}`)
  const { child, url } = run.started
  t.teardown(async () => await stopServer(child))
  const post = async (path: string, body: string) => await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const big = await post('/v1/eventfds', JSON.stringify({ label: 'x'.repeat(3000) }))
  t.equal(big.status, 413, 'a body of 3 kB, over 2,048 bytes (the default limit is 256 KiB)')
  t.match(await big.json(), { reason: 'body-too-large' })
  const { fd } = await (await post('/v1/eventfds', '{}')).json() as { fd: number }
  const first = new AbortController()
  const stream = await fetch(`${url}/v1/eventfds/${fd}/events`, { signal: first.signal })
  t.equal(stream.status, 200, 'the first stream opens')
  const second = await fetch(`${url}/v1/eventfds/${fd}/events`)
  t.equal(second.status, 429, 'a second stream is over --max-streams 1')
  t.match(await second.json(), { reason: 'tenant-stream-limit' })
  first.abort()
})

t.test('the defaults hold a 10,000-device instance of 64 vectors each', async (t) => {
  t.ok(DEFAULT_LIMITS.devices >= 10_000)
  t.ok(10_000 * 64 <= DEFAULT_LIMITS.tableEntries)
  // A trigger per host vector of the default pool plus INTx trigger, unmask, ERR and REQ per device.
  t.ok(4096 + 4 * 10_000 <= DEFAULT_LIMITS.eventfds)
})

/** One cap per case: fill up to it, then the next create is 429 and changes nothing. */
const caps: Array<{ rule: string, caps: Caps, fill: Array<[string, object]>, over: [string, object], reason: string }> = [
  {
    rule: 'devices: the instance holds at most --max-devices',
    caps: { maxDevices: 2 },
    fill: [['/v1/devices', {}], ['/v1/devices', {}]],
    over: ['/v1/devices', {}],
    reason: 'instance-device-limit'
  },
  {
    rule: 'eventfds: the instance holds at most --max-eventfds',
    caps: { maxEventfds: 3 },
    fill: [['/v1/eventfds', {}], ['/v1/eventfds', {}], ['/v1/eventfds', {}]],
    over: ['/v1/eventfds', {}],
    reason: 'instance-eventfd-limit'
  },
  {
    rule: 'table entries: MSI and MSI-X table sizes of all devices together stay within --max-table-entries',
    caps: { maxTableEntries: 100 },
    fill: [['/v1/devices', { msi: { vectors: 32 }, msix: { tableSize: 64 } }]],
    over: ['/v1/devices', { msix: { tableSize: 8 } }],
    reason: 'instance-table-entry-limit'
  },
  {
    rule: 'table entries: one device larger than the whole cap is refused',
    caps: { maxTableEntries: 100 },
    fill: [],
    over: ['/v1/devices', { msix: { tableSize: 2048 } }],
    reason: 'instance-table-entry-limit'
  }
]

for (const c of caps) {
  t.test(`auth off: ${c.rule}`, async (t) => {
    const app = await open(t, c.caps)
    const req = as(app)
    for (const [url, body] of c.fill) t.equal((await req('POST', url, body)).statusCode, 201, `fill ${url}`)
    const before = await snapshot(app)
    const res = await req('POST', c.over[0], c.over[1])
    t.equal(res.statusCode, 429)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.match(res.json(), { status: 429, reason: c.reason, detail: /at most/ })
    t.strictSame(await snapshot(app), before, 'nothing changed')
  })
}

t.test('table entries: a device that fits exactly is accepted, one entry more is not', async (t) => {
  const app = await open(t, { maxTableEntries: 64 })
  const req = as(app)
  t.equal((await req('POST', '/v1/devices', { msi: { vectors: 32 }, msix: { tableSize: 31 } })).statusCode, 201)
  t.equal((await req('POST', '/v1/devices', { msix: { tableSize: 2 } })).json().reason, 'instance-table-entry-limit')
  t.equal((await req('POST', '/v1/devices', { msix: { tableSize: 1 } })).statusCode, 201, '63 + 1 = 64')
})

t.test('what is deleted is counted no more: the room comes back', async (t) => {
  const app = await open(t, { maxDevices: 1, maxEventfds: 1, maxTableEntries: 16 })
  const req = as(app)
  const id = (await req('POST', '/v1/devices', { msix: { tableSize: 16 } })).json().id
  const fd = (await req('POST', '/v1/eventfds', {})).json().fd
  t.equal((await req('POST', '/v1/devices', {})).statusCode, 429)
  t.equal((await req('POST', '/v1/eventfds', {})).statusCode, 429)
  t.equal((await req('DELETE', `/v1/devices/${id}`)).statusCode, 204)
  t.equal((await req('DELETE', `/v1/eventfds/${fd}`)).statusCode, 204)
  t.equal((await req('POST', '/v1/devices', { msix: { tableSize: 16 } })).statusCode, 201)
  t.equal((await req('POST', '/v1/eventfds', {})).statusCode, 201)
})

t.test('tenants: the instance caps bound every tenant together; a tenant\'s own limit bounds it alone', async (t) => {
  const app = await open(t, { maxDevices: 3, maxEventfds: 3, maxTableEntries: 1000 }, ADMIN)
  const admin = as(app, ADMIN)
  const token = async (tenant: string, limits?: object): Promise<string> =>
    (await admin('POST', '/v1/admin/tokens', { tenant, ...(limits !== undefined ? { limits } : {}) })).json().token
  const A = as(app, await token('alpha'))
  const B = as(app, await token('beta', { tableEntries: 10 }))
  const cases: Array<[string, Req, string, object, number, string?]> = [
    ['alpha, no limits of its own, takes two devices', A, '/v1/devices', {}, 201],
    ['', A, '/v1/devices', {}, 201],
    ['beta\'s own table-entry limit', B, '/v1/devices', { msix: { tableSize: 11 } }, 429, 'tenant-table-entry-limit'],
    ['beta within it', B, '/v1/devices', { msix: { tableSize: 10 } }, 201],
    ['the instance is full for alpha too', A, '/v1/devices', {}, 429, 'instance-device-limit'],
    ['eventfds: alpha two', A, '/v1/eventfds', {}, 201],
    ['', A, '/v1/eventfds', {}, 201],
    ['beta one', B, '/v1/eventfds', {}, 201],
    ['then none for anyone', B, '/v1/eventfds', {}, 429, 'instance-eventfd-limit']
  ]
  for (const [what, req, url, body, status, reason] of cases) {
    const res = await req('POST', url, body)
    t.equal(res.statusCode, status, what)
    if (reason !== undefined) t.equal(res.json().reason, reason, what)
  }
  const host = (await admin('GET', '/v1/admin/host')).json()
  t.match(host, { devices: 3, tableEntries: 10, eventfds: 3, limits: { devices: 3, eventfds: 3, tableEntries: 1000 } })
  t.same(host.tenants.map((x: any) => [x.tenant, x.devices, x.eventfds]), [['alpha', 2, 2], ['beta', 1, 1]])
})
