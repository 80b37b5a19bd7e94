import t from 'tap'
import type { App } from '../../src/app.ts'
import { build, createDevice, createEventfd, getJson, ok, snapshot } from '../helper.ts'

// ETag = "<version>"; the version grows with state changes only; If-Match; cursor pagination.

async function getDevice (app: App, id: string): Promise<{ etag: string | undefined, version: number, irqType: string }> {
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}` })
  if (res.statusCode !== 200) throw new Error(res.body)
  const body = res.json()
  return { etag: res.headers.etag as string | undefined, version: body.version, irqType: body.irqType }
}

const post = async (app: App, url: string, payload?: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers, ...(payload !== undefined ? { payload } : {}) })

t.test('ETag is "<version>" on create, GET and every state change', async (t) => {
  const app = await build(t)
  const created = await app.inject({ method: 'POST', url: '/v1/devices', payload: { intx: true, pcie: true, reset: true, msix: { tableSize: 8 } } })
  t.equal(created.statusCode, 201)
  const dev = created.json()
  t.type(dev.version, 'number')
  t.equal(created.headers.etag, `"${dev.version}"`, 'create')
  let g = await getDevice(app, dev.id)
  t.equal(g.etag, `"${dev.version}"`, 'GET after create')
  t.equal(g.version, dev.version)

  const e = await createEventfd(app)
  const steps: Array<[string, string, object | undefined]> = [
    ['enable MSI-X', `/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } }],
    ['add vector 3', `/v1/devices/${dev.id}/irqs/2`, { action: 'trigger', start: 3, count: 1, data: { type: 'eventfd', fds: [e] } }],
    ['raw: set ERR trigger', `/v1/devices/${dev.id}/ioctl/set-irqs`, { flags: 0x24, index: 3, start: 0, count: 1, data: [e] }],
    ['disable MSI-X', `/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, count: 0, data: { type: 'none' } }],
    ['enable INTx', `/v1/devices/${dev.id}/irqs/intx`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } }],
    ['mask INTx', `/v1/devices/${dev.id}/irqs/intx`, { action: 'mask', start: 0, count: 1, data: { type: 'bool', values: [true] } }]
  ]
  let last = dev.version as number
  for (const [what, url, payload] of steps) {
    const res = await post(app, url, payload)
    t.equal(res.statusCode, 200, what)
    g = await getDevice(app, dev.id)
    t.ok(g.version > last, `${what}: version grew (${last} -> ${g.version})`)
    t.equal(res.headers.etag, `"${g.version}"`, `${what}: response ETag is the new version`)
    t.equal(g.etag, `"${g.version}"`, `${what}: GET ETag`)
    if (!url.includes('/ioctl/')) t.equal(res.json().version, g.version, `${what}: body version`)
    last = g.version
  }
  const reset = await post(app, `/v1/devices/${dev.id}/reset`)
  t.equal(reset.statusCode, 200)
  t.equal(reset.headers.etag, `"${reset.json().version}"`, 'reset answers the device with its ETag')
  g = await getDevice(app, dev.id)
  t.equal(g.etag, `"${g.version}"`)
  t.ok(g.version >= last, 'version never goes back')
})

t.test('the version does not grow on rejected requests, loopback or eventfd traffic', async (t) => {
  const app = await build(t)
  const e = await createEventfd(app)
  const id = await createDevice(app, { intx: true, pcie: true, msix: { tableSize: 8 } })
  const intx = await createDevice(app, { intx: true })
  await ok(app, 'POST', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [e, -1] } })
  await ok(app, 'POST', `/v1/devices/${intx}/irqs/intx`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } })
  const base = await getDevice(app, id)
  const baseIntx = await getDevice(app, intx)

  const counter = async (): Promise<number> => (await getJson(app, `/v1/eventfds/${e}`)).value
  const rejected: Array<[string, string, object]> = [
    ['range out of bounds', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 8, count: 1, data: { type: 'eventfd', fds: [e] } }],
    ['EBADF on an allocated vector (fd -1 → unknown)', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 1, count: 1, data: { type: 'eventfd', fds: [9999] } }],
    ['type conflict', `/v1/devices/${id}/irqs/intx`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } }],
    ['ENOTTY', `/v1/devices/${id}/irqs/msix`, { action: 'unmask', start: 0, count: 1, data: { type: 'none' } }],
    ['ERR EBADF', `/v1/devices/${id}/irqs/err`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [9999] } }],
    ['schema', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: '0', data: { type: 'none' } }]
  ]
  for (const [what, url, payload] of rejected) {
    const res = await post(app, url, payload)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: rejected (${res.statusCode})`)
    t.equal((await getDevice(app, id)).version, base.version, `${what}: version unchanged`)
  }

  const before = await counter()
  const loop = await post(app, `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 0, count: 8, data: { type: 'none' } })
  t.equal(loop.statusCode, 200, 'MSI-X loopback NONE|TRIGGER')
  t.equal(await counter(), before + 1, 'the loopback signalled the trigger')
  const after = await getDevice(app, id)
  t.equal(after.version, base.version, 'MSI-X loopback does not change the device version')
  t.equal(loop.headers.etag, `"${base.version}"`, 'and its ETag is the unchanged version')
  t.equal(after.etag, base.etag)

  const boolLoop = await post(app, `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 0, count: 2, data: { type: 'bool', values: [true, true] } })
  t.equal(boolLoop.statusCode, 200, 'MSI-X loopback BOOL|TRIGGER')
  t.equal(await counter(), before + 2)
  t.equal((await getDevice(app, id)).version, base.version, 'BOOL loopback does not change the version')

  const intxLoop = await post(app, `/v1/devices/${intx}/irqs/intx`, { action: 'trigger', start: 0, count: 1, data: { type: 'none' } })
  t.equal(intxLoop.statusCode, 200, 'INTx loopback')
  t.equal(await counter(), before + 3)
  t.equal((await getDevice(app, intx)).version, baseIntx.version, 'INTx loopback does not change the version (no automask)')

  await ok(app, 'POST', `/v1/eventfds/${e}/write`, { value: 5 })
  await ok(app, 'POST', `/v1/eventfds/${e}/read`)
  t.equal((await getDevice(app, id)).version, base.version, 'eventfd write/read on a trigger do not touch the device')
  t.equal((await getDevice(app, intx)).version, baseIntx.version)

  // Control: an accepted change does move it, so the checks above can fail.
  await ok(app, 'POST', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 1, count: 1, data: { type: 'eventfd', fds: [e] } })
  t.ok((await getDevice(app, id)).version > base.version, 'a real change grows the version')
})

t.test('If-Match: current tag, *, lists and stale tags', async (t) => {
  const app = await build(t)
  const e = await createEventfd(app)
  const id = await createDevice(app, { intx: true, reset: true, msix: { tableSize: 8 } })
  const url = `/v1/devices/${id}/irqs/msix`
  const assign = (v: number) => ({ action: 'trigger', start: v, count: 1, data: { type: 'eventfd', fds: [e] } })

  const v0 = await getDevice(app, id)
  let res = await post(app, url, assign(0), { 'if-match': v0.etag as string })
  t.equal(res.statusCode, 200, 'the current tag succeeds')
  const v1 = await getDevice(app, id)
  t.ok(v1.version > v0.version)
  t.equal(res.headers.etag, v1.etag)

  res = await post(app, url, assign(1), { 'if-match': '*' })
  t.equal(res.statusCode, 200, '* succeeds')
  const v2 = await getDevice(app, id)
  t.ok(v2.version > v1.version)

  res = await post(app, url, assign(2), { 'if-match': `"0", ${v2.etag as string}, "12345"` })
  t.equal(res.statusCode, 200, 'a list holding the current tag succeeds')
  const v3 = await getDevice(app, id)

  // The tag v1 was current a moment ago: now it is stale.
  const before = await snapshot(app)
  for (const [what, r] of [
    ['SET_IRQS', await post(app, url, assign(3), { 'if-match': v1.etag as string })],
    ['raw set-irqs', await post(app, `/v1/devices/${id}/ioctl/set-irqs`, { flags: 0x24, index: 2, start: 4, count: 1, data: [e] }, { 'if-match': v1.etag as string })],
    ['reset', await post(app, `/v1/devices/${id}/reset`, undefined, { 'if-match': v1.etag as string })],
    ['delete', await app.inject({ method: 'DELETE', url: `/v1/devices/${id}`, headers: { 'if-match': v1.etag as string } })]
  ] as const) {
    t.equal(r.statusCode, 412, `${what}: stale tag answers 412`)
    t.match(r.headers['content-type'], /^application\/problem\+json/)
    t.equal(r.json().reason, 'version-mismatch')
  }
  t.strictSame(await snapshot(app), before, 'stale writes changed nothing')
  t.equal((await getDevice(app, id)).version, v3.version)

  const del = await app.inject({ method: 'DELETE', url: `/v1/devices/${id}`, headers: { 'if-match': v3.etag as string } })
  t.equal(del.statusCode, 204, 'DELETE with the current tag succeeds')
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).statusCode, 404)
})

async function walk (app: App, path: string, limit: number): Promise<{ items: any[], pages: number }> {
  const items: any[] = []
  let cursor: string | undefined
  let pages = 0
  for (;;) {
    const q = `?limit=${limit}${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const res = await app.inject({ method: 'GET', url: path + q })
    if (res.statusCode !== 200) throw new Error(res.body)
    const body = res.json()
    pages++
    if (body.items.length > limit) throw new Error(`page of ${body.items.length} > limit ${limit}`)
    items.push(...body.items)
    if (body.nextCursor === undefined) return { items, pages }
    if (pages > 1000) throw new Error('no end')
    cursor = body.nextCursor
  }
}

t.test('GET /v1/devices pages through every device once, in creation order', async (t) => {
  const app = await build(t)
  const ids: string[] = []
  for (let i = 0; i < 7; i++) ids.push(await createDevice(app, { name: `d${i}` }))
  for (const limit of [1, 2, 3, 6, 7, 8, 100]) {
    const { items, pages } = await walk(app, '/v1/devices', limit)
    t.same(items.map((d) => d.id), ids, `limit ${limit}: every device once, in order`)
    t.equal(pages, Math.max(1, Math.ceil(7 / limit)), `limit ${limit}: ${pages} pages, the last without nextCursor`)
  }
  const full = await app.inject({ method: 'GET', url: '/v1/devices?limit=7' })
  t.notOk('nextCursor' in full.json(), 'an exactly full last page has no nextCursor')

  // A device deleted between pages is skipped, the rest still come once.
  const first = (await app.inject({ method: 'GET', url: '/v1/devices?limit=3' })).json()
  await ok(app, 'DELETE', `/v1/devices/${ids[4]}`)
  await ok(app, 'DELETE', `/v1/devices/${ids[0]}`)
  const rest = (await app.inject({ method: 'GET', url: `/v1/devices?limit=100&cursor=${first.nextCursor as string}` })).json()
  t.same(rest.items.map((d: any) => d.id), [ids[3], ids[5], ids[6]], 'the cursor is a position, not an index')
  const later = await createDevice(app, { name: 'late' })
  const rest2 = (await app.inject({ method: 'GET', url: `/v1/devices?limit=100&cursor=${first.nextCursor as string}` })).json()
  t.same(rest2.items.map((d: any) => d.id), [ids[3], ids[5], ids[6], later], 'new devices come last')
})

t.test('GET /v1/eventfds pages through every eventfd once, by number, across gaps', async (t) => {
  const app = await build(t)
  const fds: number[] = []
  for (let i = 0; i < 11; i++) fds.push(await createEventfd(app, { label: `e${i}` }))
  for (const gone of [fds[0], fds[5], fds[6], fds[10]]) await ok(app, 'DELETE', `/v1/eventfds/${gone}`)
  const live = fds.filter((_, i) => ![0, 5, 6, 10].includes(i))
  for (const limit of [1, 2, 3, 7, 8]) {
    const { items, pages } = await walk(app, '/v1/eventfds', limit)
    t.same(items.map((e) => e.fd), live, `limit ${limit}: every eventfd once, ascending`)
    t.equal(pages, Math.ceil(live.length / limit), `limit ${limit}: page count`)
  }
})

t.test('the default page is 100 and says there is more', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 101; i++) await createEventfd(app)
  const body = (await app.inject({ method: 'GET', url: '/v1/eventfds' })).json()
  t.equal(body.items.length, 100)
  t.type(body.nextCursor, 'string')
  const next = (await app.inject({ method: 'GET', url: `/v1/eventfds?cursor=${body.nextCursor as string}` })).json()
  t.same(next.items.map((e: any) => e.fd), [101])
  t.notOk('nextCursor' in next)
})

t.test('a bogus cursor is 400', async (t) => {
  const app = await build(t)
  await createDevice(app, {})
  await createEventfd(app)
  const bogus = ['bogus', '!!!', Buffer.from('p-1').toString('base64url'), Buffer.from('q5').toString('base64url'),
    Buffer.from('p1x').toString('base64url'), Buffer.from('p' + '9'.repeat(16)).toString('base64url'), '%00']
  for (const path of ['/v1/devices', '/v1/eventfds']) {
    for (const c of bogus) {
      const res = await app.inject({ method: 'GET', url: `${path}?cursor=${encodeURIComponent(c)}` })
      t.equal(res.statusCode, 400, `${path} cursor ${JSON.stringify(c)}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      t.equal(res.json().reason, 'invalid-cursor')
    }
    const long = await app.inject({ method: 'GET', url: `${path}?cursor=${'A'.repeat(65)}` })
    t.equal(long.statusCode, 400, `${path}: a cursor over 64 characters`)
    t.equal(long.json().reason, 'invalid-request')
  }
})
