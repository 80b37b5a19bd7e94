import t from 'tap'
import { LOST_INDEX_DISABLED, LOST_NO_TRIGGER } from '../../src/core/counters.ts'
import { FIRE_COALESCED, FIRE_DELIVERED, FIRE_LOST, FIRE_PENDED } from '../../src/core/interrupts.ts'
import { DeviceRates, RATE_SECONDS, RateRing, recordRate, VectorRings } from '../../src/hot/rates.ts'
import { build, createDevice, createEventfd, fireOk, listen, setIrqs, triggerFds, until } from '../helper.ts'
import { SseClient, WsClient } from './stream-clients.ts'

// Rates: one-second buckets over the last ten minutes, in typed arrays.

const ring = (): RateRing => new RateRing(new Float64Array(4 * RATE_SECONDS))

t.test('rates ring: adds land in the bucket of their second, per metric', async (t) => {
  const r = ring()
  r.add(1000, 3, 2, 1, 0)
  r.add(1000, 1, 1, 0, 0)
  r.add(1002, 5, 0, 5, 0)
  t.same(r.series(1002, 3), { fired: [4, 0, 5], delivered: [3, 0, 0], lost: [1, 0, 5], pended: [0, 0, 0] })
})

t.test('rates ring: a bucket reused after ten minutes starts from zero', async (t) => {
  const r = ring()
  r.add(1000, 7, 7, 0, 0)
  r.add(1000 + RATE_SECONDS, 1, 1, 0, 0) // same slot, ten minutes later
  t.equal(r.at(0, 1000 + RATE_SECONDS), 1)
  t.equal(r.at(0, 1000), 0, 'the old second is outside the window')
})

t.test('rates ring: seconds after the newest write read as zero (stale slots are not shown)', async (t) => {
  const r = ring()
  r.add(1000, 7, 7, 0, 0)
  r.add(1001, 2, 2, 0, 0)
  t.equal(r.at(0, 1001 + RATE_SECONDS - 1), 0, 'slot of 1000 seen from 1000 + 599: the 1000 data is not shown')
  t.equal(r.at(0, 1001), 2)
})

t.test('rates ring: a clock that steps back adds to the newest bucket', async (t) => {
  const r = ring()
  r.add(1005, 1, 1, 0, 0)
  r.add(1003, 1, 1, 0, 0)
  t.equal(r.at(0, 1005), 2)
})

t.test('rates memory: a 64-vector device that fired on every vector', async (t) => {
  const r = new DeviceRates()
  for (let v = 0; v < 64; v++) recordRate(r, 1000, 2, v, 1, 1, 0, 0)
  // The device ring is Float64 (8 B), each vector's buckets Float32 (4 B): 4 metrics x 600
  // buckets; per chunk of 4 vectors a head, per vector its last second (Float64 each).
  t.equal(r.bytes, 4 * RATE_SECONDS * 8 + 64 * 4 * RATE_SECONDS * 4 + 16 * 8 + 64 * 8)
  t.comment(`rate buckets of a 64-vector device: ${r.bytes} bytes`)
})

t.test('vector rings: vectors that share a chunk keep their own counts, advance and activity', async (t) => {
  const r = new VectorRings()
  r.add(1, 1000, 3, 2, 1, 0)
  r.add(2, 1000, 1, 0, 0, 1)
  r.add(1, 1001, 5, 5, 0, 0)
  t.same(r.series(1, 1001, 2), { fired: [3, 5], delivered: [2, 5], lost: [1, 0], pended: [0, 0] })
  t.same(r.series(2, 1001, 2), { fired: [1, 0], delivered: [0, 0], lost: [0, 0], pended: [1, 0] }, "vector 1's advance cleared no count of vector 2's")
  t.same([...r.fired()], [1, 2], 'vectors 0 and 3 share the chunk but never fired')
  t.same(r.series(0, 1001, 2), { fired: [0, 0], delivered: [0, 0], lost: [0, 0], pended: [0, 0] })
  t.same([r.active(2, 1000 + RATE_SECONDS - 1), r.active(2, 1000 + RATE_SECONDS), r.active(1, 1000 + RATE_SECONDS)], [true, false, true], 'active: each vector by its own last second')
  r.add(2, 1001 + RATE_SECONDS, 7, 7, 0, 0) // vector 2's slot of 1001, ten minutes later
  t.equal(r.at(1, 0, 1001), 0, 'the chunk moved on: 1001 is outside the window for every vector of it')
  t.equal(r.at(2, 0, 1001 + RATE_SECONDS), 7)
  r.add(1, 999, 1, 1, 0, 0) // a clock that stepped back
  t.equal(r.at(1, 0, 1001 + RATE_SECONDS), 1, "a step back lands in the chunk's newest bucket")
  r.add(2047, 1000, 1, 1, 0, 0)
  t.same([...r.fired()], [1, 2, 2047], 'a far vector grows the tables')
})

t.test('vector rings: a list adds what each vector did, and the sums for the device', async (t) => {
  const r = new VectorRings()
  const sums = new Float64Array(3)
  r.addList(1000, [0, 5, 5, 9, 5], Uint8Array.from([FIRE_DELIVERED, FIRE_LOST + LOST_NO_TRIGGER, FIRE_PENDED, FIRE_COALESCED, FIRE_LOST + LOST_INDEX_DISABLED]), sums)
  t.same([...sums], [1, 2, 1])
  r.addList(1000, [5], Uint8Array.from([FIRE_DELIVERED]), sums)
  t.same([0, 5, 9].map((v) => [0, 1, 2, 3].map((m) => r.at(v, m, 1000))), [[1, 1, 0, 0], [4, 1, 2, 1], [1, 0, 0, 0]])
})

t.test('GET /v1/devices/{id}/rates: the current second counts what fired, per device and per vector', async (t) => {
  const app = await build(t)
  // MSI without per-vector masking, so that vector 1 (not enabled) loses its interrupt.
  const id = await createDevice(app, { msi: { vectors: 4 } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msi', triggerFds(0, [e]))
  await fireOk(app, id, { index: 'msi', vectors: [0, 0, 1] })
  await fireOk(app, id, { index: 'msi', vector: 0, count: 10 })
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/rates?seconds=5` })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.end - body.start, 4)
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
  t.same({ fired: sum(body.device.fired), delivered: sum(body.device.delivered), lost: sum(body.device.lost) }, { fired: 13, delivered: 12, lost: 1 })
  const v0 = body.vectors.find((v: any) => v.index === 1 && v.vector === 0)
  const v1 = body.vectors.find((v: any) => v.index === 1 && v.vector === 1)
  t.same([sum(v0.fired), sum(v0.delivered), sum(v1.fired), sum(v1.lost)], [12, 12, 1, 1])
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/rates?seconds=601` })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/devices/nope/rates' })).statusCode, 404)
})

t.test('live: SSE /events and a watching WebSocket get the rates each second and each trace entry', async (t) => {
  const app = await build(t)
  const at = await listen(app)
  const id = await createDevice(app, { msix: { tableSize: 4 } })
  const e = await createEventfd(app)
  const sse = await SseClient.open(`${at.base}/v1/devices/${id}/events`)
  const ws = await WsClient.open(`${at.ws}/v1/stream`)
  t.teardown(() => ws.close())
  ws.send({ op: 'watch', devices: [id] })
  t.same(await ws.next((m) => m.type === 'watching', 'watching'), { type: 'watching', devices: [id] })
  await setIrqs(app, id, 'msix', triggerFds(0, [e]))
  await until(() => sse.events.some((x) => x.event === 'trace'), 'sse trace')
  t.match(sse.events.find((x) => x.event === 'trace')!.data, { deviceId: id, op: 'set-irqs', irqTypeAfter: 'msix' })
  t.match(await ws.next((m) => m.type === 'trace', 'ws trace'), { deviceId: id, op: 'set-irqs' })
  await fireOk(app, id, { index: 'msix', vector: 0, count: 5 })
  const firedAt = Math.floor(Date.now() / 1000)
  await until(() => sse.events.some((x) => x.event === 'rates' && x.data.t >= firedAt), 'sse rates', 5000)
  const total = (list: any[]): number => list.filter((m) => m.t <= firedAt + 1).reduce((n, m) => n + m.fired, 0)
  await until(() => total(ws.messages.filter((m) => m.type === 'rates')) === 5, 'ws rates', 5000)
  t.equal(total(sse.events.filter((x) => x.event === 'rates').map((x) => x.data)), 5)
  const sample = ws.messages.find((m) => m.type === 'rates' && m.fired === 5)
  t.match(sample, { deviceId: id, delivered: 5, lost: 0, pended: 0, vectors: [{ index: 2, vector: 0, fired: 5 }] })
  ws.send({ op: 'watch', devices: ['nope'] })
  t.match(await ws.next((m) => m.type === 'error', 'error'), { reason: 'device-not-found' })
  await app.inject({ method: 'DELETE', url: `/v1/devices/${id}` })
  await sse.end()
  t.match(sse.events.at(-1), { event: 'closed', data: { deviceId: id, reason: 'device-deleted' } })
  t.match(await ws.next((m) => m.type === 'closed', 'ws closed'), { deviceId: id, reason: 'device-deleted' })
})

t.test('rates of a vectors list: each vector and the device count as if its vectors fired one by one', async (t) => {
  const app = await build(t)
  const e = await createEventfd(app)
  // MSI-X vector 0 delivers, 2 has no trigger (masked: pends, then coalesces); MSI without
  // per-vector masking loses what vector 1 (not enabled) fires.
  const list = [0, 2, 2, 0, 3, 2]
  const rates = async (id: string): Promise<unknown> => {
    const body = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/rates?seconds=10` })).json()
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    const totals = (r: Record<string, number[]>): number[] => ['fired', 'delivered', 'lost', 'pended'].map((m) => sum(r[m]))
    return { device: totals(body.device), vectors: body.vectors.map((v: any) => [v.index, v.vector, ...totals(v)]).sort() }
  }
  const cases = [
    { index: 'msix', make: { msix: { tableSize: 4 } }, triggers: [e, -1, -1, e] },
    { index: 'msi', make: { msi: { vectors: 4 } }, triggers: [e] }
  ]
  for (const c of cases) {
    const [byList, oneByOne] = [await createDevice(app, c.make), await createDevice(app, c.make)]
    for (const id of [byList, oneByOne]) await setIrqs(app, id, c.index, triggerFds(0, c.triggers))
    const vs = c.index === 'msi' ? [0, 1, 0, 1] : list
    await fireOk(app, byList, { index: c.index, vectors: vs })
    for (const v of vs) await fireOk(app, oneByOne, { index: c.index, vector: v })
    const got = await rates(byList)
    t.same(got, await rates(oneByOne), `${c.index}: the same rates`)
    t.not((got as any).vectors.length, 0)
  }
})
