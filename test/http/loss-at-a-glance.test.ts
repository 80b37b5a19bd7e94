import t, { type Test } from 'tap'
import { build, createDevice, createEventfd } from '../helper.ts'

// Loss accounting without hand work: totals on the index and device views, and /vectors
// filtered (active, lost) and paged (limit, cursor).

async function setup (t: Test) {
  const app = await build(t)
  const id = await createDevice(app, { abi: 'linux-6.12', msix: { tableSize: 16 } })
  const e = await createEventfd(app)
  const fire = async (vector: number, count: number) => {
    const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: { index: 'msix', vector, count } })
    t.equal(res.statusCode, 200)
  }
  await fire(3, 2) // index disabled: 2 lost
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [e, -1, e, e] } } })
  await fire(0, 5) // delivered
  await fire(9, 1) // no handler: masked by the host, so it pends (docs/model.md 11)
  await fire(2, 4) // delivered
  return { app, id }
}

t.test('totals: the index view and the device view sum every vector', async (t) => {
  const { app, id } = await setup(t)
  const expected = { fired: 12, delivered: 9, lost: 2, lostBy: { 'index-disabled': 2, 'not-allocated': 0, 'no-trigger': 0 }, pended: 1, coalesced: 0, deliveredFromPending: 0, pending: 1 }
  t.same((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix` })).json().totals, expected, 'GET_IRQ_INFO view')
  t.same((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().totals, expected, 'device view')
  t.same((await app.inject({ method: 'GET', url: '/v1/devices' })).json().items[0].totals, expected, 'device list')
  t.same((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msi` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/intx` })).json().totals.fired, 0, 'other indexes have their own')
})

const filters: Array<{ name: string, query: string, vectors: number[] }> = [
  { name: 'no filter', query: '', vectors: [...Array(16).keys()] },
  { name: 'active=true: a host vector or a trigger', query: '?active=true', vectors: [0, 1, 2, 3] },
  { name: 'active=false', query: '?active=false', vectors: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] },
  { name: 'lost=true: vectors that lost interrupts', query: '?lost=true', vectors: [3] },
  { name: 'lost=false', query: '?lost=false', vectors: [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] },
  { name: 'active=true&lost=true', query: '?active=true&lost=true', vectors: [3] }
]

for (const f of filters) {
  t.test(`vectors: ${f.name}`, async (t) => {
    const { app, id } = await setup(t)
    const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix/vectors${f.query}` })
    t.equal(res.statusCode, 200)
    t.same(res.json().items.map((v: { vector: number }) => v.vector), f.vectors)
    t.notOk('nextCursor' in res.json())
  })
}

t.test('vectors: paged with limit and cursor, filters kept across pages', async (t) => {
  const { app, id } = await setup(t)
  const seen: number[] = []
  let url = `/v1/devices/${id}/irqs/msix/vectors?active=false&limit=5`
  let pages = 0
  for (;;) {
    const body = (await app.inject({ method: 'GET', url })).json()
    pages++
    seen.push(...body.items.map((v: { vector: number }) => v.vector))
    if (body.nextCursor === undefined) break
    url = `/v1/devices/${id}/irqs/msix/vectors?active=false&limit=5&cursor=${body.nextCursor}`
  }
  t.equal(pages, 3)
  t.same(seen, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
  const bad = await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix/vectors?cursor=zzz` })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().reason, 'invalid-cursor')
})
