import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { readConfig } from '../../src/config.ts'

const ADMIN = 'admin-token-0123456789abcdef'

async function secured (t: { teardown: (fn: () => unknown) => void }) {
  const app = await buildApp({ db: ':memory:', hostVectors: 64, adminToken: ADMIN })
  t.teardown(() => app.close())
  const token = async (tenant: string, limits?: object): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${ADMIN}` }, payload: { tenant, ...(limits ? { limits } : {}) } })
    if (res.statusCode !== 201) throw new Error(res.body)
    return res.json().token
  }
  const as = (tok: string) => (method: string, url: string, payload?: unknown) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${tok}` }, ...(payload !== undefined ? { payload: payload as object } : {}) })
  return { app, token, as }
}

t.test('auth: requests without a valid token get 401 problem+json; public routes stay open', async (t) => {
  const { app } = await secured(t)
  for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }]) {
    const res = await app.inject({ method: 'GET', url: '/v1/devices', headers })
    t.equal(res.statusCode, 401)
    t.match(res.headers['content-type'], /problem\+json/)
    t.equal(res.json().reason, 'unauthorized')
    t.match(res.headers['www-authenticate'], /Bearer/)
  }
  for (const url of ['/healthz', '/readyz', '/openapi.json']) t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url)
})

t.test('auth: the admin token manages tokens only; tenant tokens cannot reach /v1/admin or /metrics', async (t) => {
  const { token, as } = await secured(t)
  const a = await token('alpha')
  t.equal((await as(ADMIN)('GET', '/v1/devices')).statusCode, 403)
  t.equal((await as(a)('GET', '/v1/admin/tokens')).statusCode, 403)
  t.equal((await as(a)('GET', '/metrics')).statusCode, 403)
  t.equal((await as(ADMIN)('GET', '/metrics')).statusCode, 200)
  const list = (await as(ADMIN)('GET', '/v1/admin/tokens')).json()
  t.equal(list.items.length, 1)
  t.notOk(JSON.stringify(list).includes(a), 'the token itself is never listed')
})

t.test('tenants: another tenant\'s device and eventfd are 404 everywhere, and absent from lists', async (t) => {
  const { token, as } = await secured(t)
  const A = as(await token('alpha'))
  const B = as(await token('beta'))
  const dev = (await A('POST', '/v1/devices', { msix: { tableSize: 8 } })).json()
  const efd = (await A('POST', '/v1/eventfds', {})).json()
  for (const [method, url, body] of [
    ['GET', `/v1/devices/${dev.id}`], ['GET', `/v1/devices/${dev.id}/irqs`], ['DELETE', `/v1/devices/${dev.id}`],
    ['POST', `/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', data: { type: 'eventfd', fds: [-1] } }],
    ['POST', `/v1/devices/${dev.id}/ioctl/get-info`, {}], ['POST', `/v1/devices/${dev.id}/interrupts`, { index: 'msix', vector: 0 }],
    ['GET', `/v1/eventfds/${efd.fd}`], ['POST', `/v1/eventfds/${efd.fd}/read`], ['POST', `/v1/eventfds/${efd.fd}/write`, { value: 1 }],
    ['DELETE', `/v1/eventfds/${efd.fd}?force=true`], ['GET', `/v1/eventfds/${efd.fd}/events`]
  ] as Array<[string, string, unknown?]>) {
    const res = await B(method, url, body)
    t.equal(res.statusCode, 404, `${method} ${url}`)
  }
  t.same((await B('GET', '/v1/devices')).json().items, [])
  t.same((await B('GET', '/v1/eventfds')).json().items, [])
  t.equal((await A('GET', '/v1/devices')).json().items.length, 1)
  t.equal((await A('GET', `/v1/eventfds/${efd.fd}`)).json().value, 0, 'and unchanged by the attempts')
})

t.test('tenants: binding another tenant\'s eventfd is EBADF, as for a closed fd', async (t) => {
  const { token, as } = await secured(t)
  const A = as(await token('alpha'))
  const B = as(await token('beta'))
  const theirs = (await A('POST', '/v1/eventfds', {})).json().fd
  const dev = (await B('POST', '/v1/devices', { msix: { tableSize: 8 }, intx: true, pcie: true })).json()
  for (const [index, body] of [
    ['msix', { action: 'trigger', data: { type: 'eventfd', fds: [theirs] } }],
    ['intx', { action: 'trigger', data: { type: 'eventfd', fds: [theirs] } }],
    ['err', { action: 'trigger', data: { type: 'eventfd', fds: [theirs] } }],
    ['req', { action: 'trigger', data: { type: 'eventfd', fds: [theirs] } }]
  ] as const) {
    const res = await B('POST', `/v1/devices/${dev.id}/irqs/${index}`, body)
    t.equal(res.statusCode, 400, index)
    t.match(res.json(), { errno: 'EBADF', errnoValue: 9, reason: 'bad-fd' })
  }
})

t.test('tenants: limits on devices and eventfds answer 429, on host vectors ENOSPC 507 or a partial count', async (t) => {
  const { token, as } = await secured(t)
  const A = as(await token('alpha', { devices: 1, eventfds: 1, hostVectors: 4 }))
  t.equal((await A('POST', '/v1/devices', { msi: { vectors: 8 }, msix: { tableSize: 16 } })).statusCode, 201)
  const second = await A('POST', '/v1/devices', {})
  t.equal(second.statusCode, 429)
  t.equal(second.json().reason, 'tenant-device-limit')
  const fd = (await A('POST', '/v1/eventfds', {})).json().fd
  t.equal((await A('POST', '/v1/eventfds', {})).json().reason, 'tenant-eventfd-limit')
  const id = (await A('GET', '/v1/devices')).json().items[0].id
  const partial = await A('POST', `/v1/devices/${id}/irqs/msi`, { action: 'trigger', data: { type: 'eventfd', fds: [fd, -1, -1, -1, -1, -1, -1, -1] } })
  t.equal(partial.json().result, 4, 'MSI asks 8, the quota leaves 4: the kernel\'s retry-with-this-many answer')
  t.equal((await A('POST', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', data: { type: 'eventfd', fds: [fd, -1, -1, -1] } })).json().result, 0)
  const full = await A('POST', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 9, data: { type: 'eventfd', fds: [fd] } })
  t.equal(full.statusCode, 507)
  t.match(full.json(), { errno: 'ENOSPC', reason: 'tenant-host-vectors-exhausted' })
})

t.test('auth: a revoked token stops working at once', async (t) => {
  const { token, as } = await secured(t)
  const a = await token('alpha')
  t.equal((await as(a)('GET', '/v1/devices')).statusCode, 200)
  const id = (await as(ADMIN)('GET', '/v1/admin/tokens')).json().items[0].id
  t.equal((await as(ADMIN)('DELETE', `/v1/admin/tokens/${id}`)).statusCode, 204)
  t.equal((await as(a)('GET', '/v1/devices')).statusCode, 401)
})

t.test('auth off: only on loopback; the admin API says so', async (t) => {
  t.throws(() => readConfig(['--host', '0.0.0.0'], {}), /refusing to listen on 0.0.0.0 without authentication/)
  t.doesNotThrow(() => readConfig(['--host', '0.0.0.0', '--admin-token', ADMIN], {}))
  t.doesNotThrow(() => readConfig(['--host', '127.0.0.1'], {}))
  t.doesNotThrow(() => readConfig(['--host', '::1'], {}))
  const app = await buildApp({ db: ':memory:', hostVectors: 8 })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/v1/admin/tokens' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().reason, 'auth-disabled')
})
