import t from 'tap'
import WebSocket from 'ws'
import { buildApp, type App } from '../../src/app.ts'

// Each tenant has its own eventfd table, as each process has its own file descriptor table:
// its first eventfd is 1, its numbers are never reused, and nothing another tenant does shows
// in them. A number in a request (a path, SET_IRQS data in either form, a stream subscription)
// means the caller's eventfd with that number.

const ADMIN = 'admin-token-0123456789abcdef'

type Req = (method: string, url: string, payload?: unknown) => Promise<Awaited<ReturnType<App['inject']>>>

async function tenants (t: { teardown: (fn: () => unknown) => void }) {
  const app = await buildApp({ db: ':memory:', hostVectors: 64, adminToken: ADMIN })
  t.teardown(() => app.close())
  const as = (tok: string): Req => async (method, url, payload) =>
    await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${tok}` }, ...(payload !== undefined ? { payload: payload as object } : {}) })
  const token = async (tenant: string): Promise<string> => (await as(ADMIN)('POST', '/v1/admin/tokens', { tenant })).json().token
  return { app, A: as(await token('alpha')), B: as(await token('beta')), admin: as(ADMIN) }
}

const create = async (req: Req): Promise<number> => {
  const res = await req('POST', '/v1/eventfds', {})
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().fd
}

t.test('numbering: each tenant\'s first eventfd is 1 and its numbers have no gaps another tenant made', async (t) => {
  const { A, B } = await tenants(t)
  const issued: Array<[string, number]> = []
  for (const [who, req] of [['A', A], ['B', B], ['A', A], ['B', B], ['B', B], ['A', A]] as const) issued.push([who, await create(req)])
  t.same(issued, [['A', 1], ['B', 1], ['A', 2], ['B', 2], ['B', 3], ['A', 3]])
  t.same((await A('GET', '/v1/eventfds')).json().items.map((e: any) => e.fd), [1, 2, 3])
  t.same((await B('GET', '/v1/eventfds')).json().items.map((e: any) => e.fd), [1, 2, 3])
  t.equal((await A('POST', '/v1/eventfds', { label: 'location' })).headers.location, '/v1/eventfds/4')
})

t.test('numbering: numbers are never reused within a tenant, and another tenant\'s closes change nothing', async (t) => {
  const { A, B } = await tenants(t)
  for (let i = 0; i < 3; i++) await create(A)
  await create(B)
  t.equal((await A('DELETE', '/v1/eventfds/3')).statusCode, 204)
  t.equal(await create(A), 4, 'the highest closed number is not issued again')
  t.equal(await create(B), 2, 'beta goes on from its own numbers')
  t.equal((await A('GET', '/v1/eventfds/3')).statusCode, 404, 'a closed number stays closed')
})

t.test('numbering: the same number names each tenant\'s own eventfd on every eventfd route', async (t) => {
  const { A, B } = await tenants(t)
  await create(A)
  await create(B)
  const cases: Array<[string, () => Promise<unknown>, (a: any, b: any) => void]> = [
    ['write adds to the caller\'s counter only', async () => A('POST', '/v1/eventfds/1/write', { value: 5 }), (a, b) => { t.equal(a.value, 5); t.equal(b.value, 0) }],
    ['read takes the caller\'s counter only', async () => B('POST', '/v1/eventfds/1/write', { value: 2 }).then(async () => B('POST', '/v1/eventfds/1/read')), (a, b) => { t.equal(a.value, 5); t.equal(b.value, 0) }],
    ['delete closes the caller\'s only', async () => B('DELETE', '/v1/eventfds/1'), (a, b) => { t.equal(a.value, 5); t.equal(b, null) }]
  ]
  for (const [rule, act, check] of cases) {
    await act()
    const a = await A('GET', '/v1/eventfds/1')
    const b = await B('GET', '/v1/eventfds/1')
    check(a.json(), b.statusCode === 404 ? null : b.json())
    t.pass(rule)
  }
})

t.test('numbering: SET_IRQS data (friendly and raw ioctl) resolves fds in the caller\'s table', async (t) => {
  const { A, B } = await tenants(t)
  for (let i = 0; i < 2; i++) await create(A)
  await create(B) // beta's 1
  const dev = (await B('POST', '/v1/devices', { msix: { tableSize: 4 }, intx: true, pcie: true })).json().id
  const cases: Array<[string, string, object]> = [
    ['friendly MSI-X trigger', `/v1/devices/${dev}/irqs/msix`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [1] } }],
    ['raw ioctl ERR trigger', `/v1/devices/${dev}/ioctl/set-irqs`, { flags: 0x24, index: 3, start: 0, count: 1, data: [1] }]
  ]
  for (const [what, url, body] of cases) t.equal((await B('POST', url, body)).statusCode, 200, what)
  const bound = (await B('GET', '/v1/eventfds/1')).json().bindings.map((b: any) => [b.deviceId, b.index, b.vector])
  t.same(bound, [[dev, 2, 0], [dev, 3, 0]], 'bound to beta\'s eventfd 1')
  t.same((await A('GET', '/v1/eventfds/1')).json().bindings, [], 'alpha\'s eventfd 1 is not bound')
  // Beta's number 2 is open only in alpha's table: EBADF, as for a closed fd.
  const raw = await B('POST', `/v1/devices/${dev}/ioctl/set-irqs`, { flags: 0x24, index: 2, start: 1, count: 1, data: [2] })
  t.match(raw.json(), { errno: 'EBADF', reason: 'bad-fd' })
  // Firing delivers to beta's eventfd 1, never alpha's.
  t.match((await B('POST', `/v1/devices/${dev}/interrupts`, { index: 'msix', vector: 0, count: 3 })).json(), { delivered: 3 })
  t.equal((await B('GET', '/v1/eventfds/1')).json().value, 3)
  t.equal((await A('GET', '/v1/eventfds/1')).json().value, 0)
})

t.test('numbering: a WebSocket subscription takes numbers in the caller\'s table', async (t) => {
  const { app, A, B } = await tenants(t)
  await create(A)
  await create(A)
  const tokenB = (await app.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${ADMIN}` }, payload: { tenant: 'beta' } })).json().token
  await create(B)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, { headers: { authorization: `Bearer ${tokenB}` } })
  t.teardown(() => ws.terminate())
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const next = async (): Promise<any> => await new Promise((resolve) => ws.once('message', (m: Buffer) => resolve(JSON.parse(m.toString()))))
  let reply = next()
  ws.send(JSON.stringify({ op: 'subscribe', fds: [2] }))
  t.match(await reply, { type: 'error', reason: 'eventfd-not-found' }, 'alpha\'s 2 is not in beta\'s table')
  reply = next()
  ws.send(JSON.stringify({ op: 'subscribe', fds: [1] }))
  t.match(await reply, { type: 'subscribed', fds: [1] })
  reply = next()
  await A('POST', '/v1/eventfds/1/write', { value: 7 }) // alpha's 1: beta hears nothing
  await B('POST', '/v1/eventfds/1/write', { value: 2 })
  t.match(await reply, { fd: 1, value: 2 }, 'only beta\'s signal arrives')
})

t.test('/v1/host: a tenant sees its own use; the admin sees the host', async (t) => {
  const { A, B, admin } = await tenants(t)
  for (let i = 0; i < 3; i++) await create(A)
  await create(B)
  const dev = (await A('POST', '/v1/devices', { msi: { vectors: 4 }, msix: { tableSize: 8 } })).json().id
  await A('POST', `/v1/devices/${dev}/irqs/msi`, { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [1, 2] } })
  t.match((await A('GET', '/v1/host')).json(), { devices: 1, tableEntries: 12, eventfds: 3, nextEventfd: 4, hostVectors: { capacity: 64, used: 2, free: 62 } })
  t.match((await B('GET', '/v1/host')).json(), { devices: 0, tableEntries: 0, eventfds: 1, nextEventfd: 2, hostVectors: { capacity: 64, used: 0, free: 62 } })
  const host = (await admin('GET', '/v1/admin/host')).json()
  t.match(host, { devices: 1, tableEntries: 12, eventfds: 4, hostVectors: { capacity: 64, used: 2, free: 62 } })
  t.same(host.tenants.map((x: any) => [x.tenant, x.eventfds, x.hostVectors]), [['alpha', 3, 2], ['beta', 1, 0]])
  t.equal((await A('GET', '/v1/admin/host')).statusCode, 403, 'a tenant cannot see the host')
})
