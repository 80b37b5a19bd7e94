import t from 'tap'
import { build, createDevice } from '../helper.ts'

// Every validation failure answers one sentence: the field, what it allows, what it got, and
// unknown fields by name (src/http/explain.ts). The request changes nothing.

interface Case { name: string, method: 'GET' | 'POST', url: (id: string) => string, body?: unknown, detail: string }

const cases: Case[] = [
  { name: 'an index name that is not one', method: 'GET', url: (id) => `/v1/devices/${id}/irqs/msi-x`, detail: 'params.index must be one of "intx", "msi", "msix", "err", "req" or a decimal number, not "msi-x"' },
  { name: 'an unknown abi', method: 'POST', url: () => '/v1/devices', body: { name: 'a', abi: 'linux-7' }, detail: 'body.abi must be one of "linux-6.12", "linux-6.1", "linux-5.10" or "tglx-2021", not "linux-7"' },
  { name: 'a table size out of range', method: 'POST', url: () => '/v1/devices', body: { msix: { tableSize: 4096 } }, detail: 'body.msix.tableSize must be an integer from 1 to 2048, not 4096' },
  { name: 'an MSI vector count that is not a power of two', method: 'POST', url: () => '/v1/devices', body: { msi: { vectors: 3 } }, detail: 'body.msi.vectors must be one of 1, 2, 4, 8, 16 or 32, not 3' },
  { name: 'an unknown field in a capability', method: 'POST', url: () => '/v1/devices', body: { msi: { vectors: 1, perVectorMasks: true } }, detail: 'body.msi has an unknown field "perVectorMasks"; it takes "vectors" and "perVectorMask"' },
  { name: 'a typo "fd" for "fds"', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trigger', start: 0, data: { type: 'eventfd', fd: [1] } }, detail: 'body.data has an unknown field "fd"; it takes "type" and "fds"' },
  { name: 'an unknown action', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trig', start: 0, data: { type: 'none' } }, detail: 'body.action must be one of "mask", "unmask" or "trigger", not "trig"' },
  { name: 'a number sent as a string', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trigger', start: '0', data: { type: 'none' } }, detail: 'body.start must be an integer from 0 to 4294967295, not a string ("0")' },
  { name: 'an fd that is not a number', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: ['x'] } }, detail: 'body.data.fds[0] must be an integer from -2147483648 to 2147483647, not a string ("x")' },
  { name: 'a bool that is a number', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trigger', start: 0, data: { type: 'bool', values: [1] } }, detail: 'body.data.values[0] must be true or false, not a number (1)' },
  { name: 'an unknown data type', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { action: 'trigger', start: 0, data: { type: 'foo' } }, detail: 'body.data.type must be one of "none", "bool" or "eventfd", not "foo"' },
  { name: 'an array for a body', method: 'POST', url: () => '/v1/eventfds', body: [], detail: 'body must be a JSON object (its fields: semaphore, label), not an array' },
  { name: 'a missing action', method: 'POST', url: (id) => `/v1/devices/${id}/irqs/msix`, body: { start: 0, data: { type: 'none' } }, detail: 'body is missing the required field "action"' },
  { name: 'a page size that is not a number', method: 'GET', url: () => '/v1/devices?limit=abc', detail: 'query.limit must be an integer from 1 to 1000, not "abc"' }
]

for (const c of cases) {
  t.test(`validation sentence: ${c.name}`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { name: 'd', msix: { tableSize: 8 } })
    const before = (await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().version
    const res = await app.inject({ method: c.method, url: c.url(id), ...(c.body !== undefined ? { payload: c.body as object } : {}) })
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    const p = res.json()
    t.equal(p.reason, 'invalid-request')
    t.equal(p.detail, c.detail)
    t.same(p.errors.map((e: { message: string }) => e.message), [c.detail], 'errors[] carries the same sentence')
    t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().version, before, 'nothing changed')
  })
}
