import t from 'tap'
import { join } from 'node:path'
import { build, createDevice, createEventfd, disable, fireOk, setIrqs, storeDb, tempDir, triggerFds } from '../helper.ts'

// The configuration trace: every configuration call on a device, with what it asked, what it
// answered, and the interrupts lost since the previous call; and the windows derived from it.

async function trace (app: Awaited<ReturnType<typeof build>>, id: string, query = ''): Promise<any> {
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/trace${query}` })
  if (res.statusCode !== 200) throw new Error(`trace: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('trace: each kind of configuration call leaves one entry with its request and result', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { name: 'nic', reset: true, msix: { tableSize: 4 } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msix', triggerFds(0, [e]))
  const raw = { flags: 0x21, index: 2, start: 0, count: 0, data: [] } // DATA_NONE | ACTION_TRIGGER, count 0: disable
  t.equal((await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/set-irqs`, payload: raw })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/reset` })).statusCode, 200)
  const { items } = await trace(app, id)
  t.same(items.map((x: any) => x.op), ['create', 'set-irqs', 'ioctl-set-irqs', 'reset', 'ioctl-reset'])
  t.same(items.map((x: any) => x.seq), [...items.map((x: any) => x.seq)].sort((a: number, b: number) => a - b), 'oldest first')
  t.match(items[0], { request: { name: 'nic' }, result: 0, errno: null, irqTypeBefore: 'none', irqTypeAfter: 'none' })
  t.match(items[1], { request: { index: 'msix', action: 'trigger', data: { type: 'eventfd', fds: [e] } }, result: 0, irqTypeBefore: 'none', irqTypeAfter: 'msix' })
  t.match(items[2], { request: { flags: 0x21, index: 2, count: 0, argsz: 20 }, result: 0, irqTypeBefore: 'msix', irqTypeAfter: 'none' })
  t.ok(items.every((x: any) => !Number.isNaN(Date.parse(x.at))), 'each has a time')
})

t.test('trace: a call the model refuses is recorded with its errno and reason', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { msix: { tableSize: 4 } })
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', start: 3, count: 2, data: { type: 'none' } } })
  t.equal(res.statusCode, 400)
  const last = (await trace(app, id)).items.at(-1)
  t.match(last, { op: 'set-irqs', result: null, errno: 'EINVAL', errnoValue: 22, reason: res.json().reason })
})

t.test('trace: each entry counts the interrupts lost since the previous one', async (t) => {
  const app = await build(t)
  // MSI without per-vector masking: a vector beyond those enabled loses its interrupts (an
  // MSI-X vector would hold them in its pending bit instead: docs/model.md 11).
  const id = await createDevice(app, { abi: 'linux-6.1', msi: { vectors: 4 } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msi', triggerFds(0, [e]))
  await setIrqs(app, id, 'msi', disable)
  await fireOk(app, id, { index: 'msi', vector: 0, count: 7 })
  await setIrqs(app, id, 'msi', triggerFds(0, [e]))
  await fireOk(app, id, { index: 'msi', vector: 1, count: 2 }) // not allocated: lost
  await setIrqs(app, id, 'msi', disable)
  t.same((await trace(app, id)).items.map((x: any) => x.lost), [0, 0, 0, 7, 2])
})

t.test('windows: a disable and the re-enable of the same index, with the losses inside', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { abi: 'linux-6.1', msix: { tableSize: 4 } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msix', triggerFds(0, [e]))
  for (const n of [3, 0, 5]) {
    await setIrqs(app, id, 'msix', disable)
    if (n > 0) await fireOk(app, id, { index: 'msix', vector: 0, count: n })
    await setIrqs(app, id, 'msix', triggerFds(0, [e, e]))
  }
  const items = (await trace(app, id)).items
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/trace/windows` })
  t.equal(res.statusCode, 200)
  const windows = res.json().items
  t.same(windows.map((w: any) => w.lost), [3, 0, 5])
  t.same(windows.map((w: any) => [w.fromSeq, w.toSeq]), [[items[2].seq, items[3].seq], [items[4].seq, items[5].seq], [items[6].seq, items[7].seq]])
  t.ok(windows.every((w: any) => w.index === 'msix' && w.durationMs >= 0))
})

t.test('trace: paginated like the other lists, oldest first', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { reset: true })
  for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })
  const first = await trace(app, id, '?limit=2')
  t.equal(first.items.length, 2)
  t.type(first.nextCursor, 'string')
  const second = await trace(app, id, `?limit=2&cursor=${first.nextCursor}`)
  const third = await trace(app, id, `?limit=2&cursor=${second.nextCursor}`)
  t.equal(third.nextCursor, undefined)
  const all = [...first.items, ...second.items, ...third.items].map((x: any) => x.op)
  t.same(all, ['create', 'reset', 'reset', 'reset', 'reset'])
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/trace?cursor=nonsense` })).statusCode, 400)
  const last = await trace(app, id, '?last=2')
  t.same(last.items.map((x: any) => x.seq), all.length === 5 ? [...first.items, ...second.items, ...third.items].slice(-2).map((x: any) => x.seq) : [], 'last=N: the newest N, oldest first')
  t.equal(last.nextCursor, undefined)
})

t.test('trace: retention keeps the newest entries per device; the oldest go first', async (t) => {
  const app = await build(t, { traceRetention: 3 })
  const id = await createDevice(app, { reset: true })
  const other = await createDevice(app, { reset: true })
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/reset` })
  const items = (await trace(app, id)).items
  t.equal(items.length, 3)
  t.ok(items.every((x: any) => x.op === 'ioctl-reset'), 'create and the first resets are gone')
  t.equal((await trace(app, other)).items.length, 1, 'another device keeps its own')
})

t.test('trace: durable across a restart, gone with its device', async (t) => {
  const db = join(tempDir(t), 'virq.db')
  let app = await build(t, { db, hostVectors: 64 })
  const id = await createDevice(app, { reset: true })
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })
  const before = (await trace(app, id)).items
  await app.closeOnce()
  app = await build(t, { db, hostVectors: 64 })
  t.same((await trace(app, id)).items, before)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/devices/${id}` })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/trace` })).statusCode, 404)
  t.equal(storeDb(app).prepare('SELECT count(*) FROM trace').pluck().get(), 0)
})

t.test('trace: the entry commits with the change it records (one transaction)', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { msix: { tableSize: 4 } })
  const e = await createEventfd(app)
  // Make the trace insert fail: the SET_IRQS must then fail as a whole and change nothing.
  storeDb(app).exec("CREATE TRIGGER no_trace BEFORE INSERT ON trace WHEN NEW.op = 'set-irqs' BEGIN SELECT RAISE(ABORT, 'no'); END")
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: triggerFds(0, [e]) })
  t.equal(res.statusCode, 500)
  t.equal(storeDb(app).prepare('SELECT count(*) FROM vector_blocks WHERE device_id = ?').pluck().get(id), 0, 'no vector block')
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().irqType, 'none')
})
