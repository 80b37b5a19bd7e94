import t from 'tap'
import { build, createDevice, createEventfd, snapshot } from '../helper.ts'

// Bugs found by the bad-input and ETag tests, kept as regression tests.

t.test('version: a failed MSI/MSI-X enable changes nothing but still bumps the version and ETag', async (t) => {
  // docs/model.md 5.3: "If the block fails, the whole index is disabled again and the error returned".
  // Net effect: nothing, so the version must not grow (it did once: enableMsi and disableMsi
  // both recorded the device, and If-Match writers then got a spurious 412).
  const cases = [
    { what: 'linux-6.12 MSI-X enable with an unknown fd (EBADF)', dev: { abi: 'linux-6.12', msix: { tableSize: 8 } }, index: 'msix', body: { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [9999] } }, reason: 'bad-fd' },
    { what: 'MSI enable with an unknown fd (EBADF)', dev: { msi: { vectors: 4 } }, index: 'msi', body: { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [-1, 9999] } }, reason: 'bad-fd' },
    { what: 'linux-6.1 MSI-X count 0 start 2 (EINVAL, stays disabled)', dev: { abi: 'linux-6.1', msix: { tableSize: 8 } }, index: 'msix', body: { action: 'trigger', start: 2, count: 0, data: { type: 'eventfd', fds: [] } }, reason: 'beyond-enabled-vectors' }
  ]
  for (const c of cases) {
    await t.test(c.what, async (t) => {
      const app = await build(t)
      await createEventfd(app)
      const id = await createDevice(app, c.dev)
      const before = await snapshot(app)
      const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/${c.index}`, payload: c.body })
      t.equal(res.statusCode, 400)
      t.equal(res.json().reason, c.reason)
      const after = await snapshot(app)
      t.equal(after.devices[0].device.version, before.devices[0].device.version, 'version unchanged')
      t.equal(after.devices[0].etag, before.devices[0].etag, 'ETag unchanged')
      t.strictSame(after, before, 'nothing changed')
      // The practical harm: a client holding the ETag it read is now refused.
      const retry = await app.inject({
        method: 'POST',
        url: `/v1/devices/${id}/irqs/${c.index}`,
        headers: { 'if-match': before.devices[0].etag },
        payload: { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [-1] } }
      })
      t.equal(retry.statusCode, 200, 'If-Match with the tag read before the rejected request still matches')
    })
  }
})

t.test('If-Match: a weak entity tag never matches (strong comparison)', async (t) => {
  // RFC 9110 13.1.1: If-Match uses the strong comparison, and a weak tag never matches.
  const app = await build(t)
  const e = await createEventfd(app)
  const id = await createDevice(app, { msix: { tableSize: 4 } })
  const before = await snapshot(app)
  const res = await app.inject({
    method: 'POST',
    url: `/v1/devices/${id}/irqs/msix`,
    headers: { 'if-match': `W/${before.devices[0].etag as string}` },
    payload: { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } }
  })
  t.equal(res.statusCode, 412, 'a weak tag does not satisfy If-Match')
  t.strictSame(await snapshot(app), before, 'nothing changed')
})

t.test('long-poll read: deleting the eventfd ends the wait with 404 and fails no other request', async (t) => {
  const app = await build(t)
  const e = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json().fd
  const id = (await app.inject({ method: 'POST', url: '/v1/devices', payload: { msix: { tableSize: 4 } } })).json().id
  const started = Date.now()
  const reading = app.inject({ method: 'POST', url: `/v1/eventfds/${e}/read?timeoutMs=20000` })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const [del, set] = await Promise.all([
    app.inject({ method: 'DELETE', url: `/v1/eventfds/${e}?force=true` }),
    app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', data: { type: 'eventfd', fds: [-1] } } })
  ])
  t.equal(del.statusCode, 204)
  t.equal(set.statusCode, 200, 'the SET_IRQS committed alongside is unharmed')
  const read = await reading
  t.equal(read.statusCode, 404)
  t.ok(Date.now() - started < 10_000, 'the wait ended at the deletion, not at the timeout')
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().irqType, 'msix')
})
