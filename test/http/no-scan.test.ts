import t from 'tap'
import { build, createDevice, createEventfd, deviceTable } from '../helper.ts'

// No request costs more with more devices: eventfd lookups and bindings go through an index
// (eventfd -> the devices that use it), limits through counts kept as things change, metrics
// through running totals. Checked structurally: every way of walking the device table is
// made to throw (and is counted), then each request must answer as usual without walking it.

const WALKS = ['values', 'keys', 'entries', 'forEach', Symbol.iterator] as const

t.test('requests that must not walk every device', async (t) => {
  const app = await build(t)
  // Many devices, two of them bound to the eventfd; the rest are what a scan would visit.
  const fd = await createEventfd(app)
  const spare = await createEventfd(app)
  const bound: string[] = []
  for (let i = 0; i < 200; i++) {
    const id = await createDevice(app, { msix: { tableSize: 64 }, intx: true })
    if (i % 100 === 7) {
      await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [fd, fd] } } })
      bound.push(id)
    }
  }
  await app.inject({ method: 'POST', url: `/v1/devices/${bound[0]}/interrupts`, payload: { index: 'msix', vector: 1, count: 2 } })

  const devices = deviceTable(app)
  let walks = 0
  for (const m of WALKS) {
    Object.defineProperty(devices, m, { configurable: true, value: () => { walks++; throw new Error('walked every device') } })
  }
  t.teardown(() => { for (const m of WALKS) delete (devices as any)[m] })

  const cases: Array<[string, 'GET' | 'POST' | 'DELETE', string, number, object?]> = [
    ['GET an eventfd with its bindings', 'GET', `/v1/eventfds/${fd}`, 200],
    ['list eventfds', 'GET', '/v1/eventfds', 200],
    ['GET /v1/host', 'GET', '/v1/host', 200],
    ['scrape /metrics', 'GET', '/metrics', 200],
    ['create a device (limits)', 'POST', '/v1/devices', 201, { msix: { tableSize: 8 } }],
    ['create an eventfd (limits)', 'POST', '/v1/eventfds', 201, {}],
    ['refuse to close a bound eventfd', 'DELETE', `/v1/eventfds/${fd}`, 409],
    ['close an unbound eventfd', 'DELETE', `/v1/eventfds/${spare}`, 204],
    ['close a bound eventfd with force', 'DELETE', `/v1/eventfds/${fd}?force=true`, 204]
  ]
  for (const [what, method, url, status, payload] of cases) {
    const res = await app.inject({ method, url, ...(payload !== undefined ? { payload } : {}) })
    t.equal(res.statusCode, status, `${what}: ${res.statusCode === 500 ? res.body : 'answered'}`)
    if (url === `/v1/eventfds/${fd}` && method === 'GET') {
      t.same(res.json().bindings.map((b: any) => [b.deviceId, b.vector]), [[bound[0], 0], [bound[0], 1], [bound[1], 0], [bound[1], 1]], 'and found every binding')
    }
    if (url === '/metrics') t.match(res.body, /virq_interrupts_delivered_total\{index="msix"\} 2/, 'with the interrupt totals')
  }
  t.equal(walks, 0, 'no request walked the device table')
  for (const id of bound) {
    const vectors = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix/vectors` })).json().items
    t.same(vectors.slice(0, 2).map((v: any) => v.trigger), [null, null], 'force de-assigned it everywhere it was bound')
  }
})

t.test('the structural check can fail: a walk of the device table is seen', async (t) => {
  const app = await build(t, { hostVectors: 64 })
  await createDevice(app, {})
  const devices = deviceTable(app)
  let walks = 0
  Object.defineProperty(devices, 'values', { configurable: true, value: () => { walks++; throw new Error('walked') } })
  t.throws(() => [...devices.values()])
  t.equal(walks, 1)
})
