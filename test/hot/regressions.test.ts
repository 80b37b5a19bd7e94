// Bugs the hot-path tests found, kept as regression tests (both fixed: deletion now notifies
// the eventfd's readers, and a body index may be a JSON number).
import t from 'tap'
import { build, createDevice, createEventfd, fire, openReaders, setIrqs, triggerFds, until } from '../helper.ts'
import { listening, SseClient, subscribed, WsClient } from './stream-clients.ts'

// Found: DELETE /v1/eventfds/:fd?force=true does not end the SSE stream reading that eventfd:
// no `event: closed` is sent and the connection stays open (and its EventfdReader stays in
// openReaders()). The reader only learns the eventfd is gone when it pumps, and nothing
// schedules a pump: world.deleteEventfd() never notifies the readers.
// Steps: create eventfd E; GET /v1/eventfds/E/events (SSE); DELETE /v1/eventfds/E?force=true → 204;
// the stream never gets `event: closed` and never ends.
t.test('8 sse: deleting the eventfd with force ends the stream with a closed event', async (t) => {
  const { app, base, e } = await listening(t)
  const sse = await SseClient.open(`${base}/v1/eventfds/${e}/events`)
  await until(() => openReaders(app) === 1, 'the SSE reader to register')
  const del = await app.inject({ method: 'DELETE', url: `/v1/eventfds/${e}?force=true` })
  t.equal(del.statusCode, 204)
  await t.resolves(sse.end(5_000), 'the stream ends')
  t.same(sse.events.at(-1), { event: 'closed', data: { fd: e, reason: 'eventfd-deleted' } })
  t.equal(openReaders(app), 0, 'the reader is gone')
})

// The same, WebSocket side. Steps: WS /v1/stream, {op:'subscribe',fds:[E]}; DELETE /v1/eventfds/E?force=true;
// no {type:'closed',fd:E} ever arrives, and the subscription lingers.
t.test('stream: deleting a subscribed eventfd sends closed for it', async (t) => {
  const { app, ws, e } = await listening(t)
  const c = await subscribed(ws, [e])
  const del = await app.inject({ method: 'DELETE', url: `/v1/eventfds/${e}?force=true` })
  t.equal(del.statusCode, 204)
  await t.resolves(c.next((m) => m.type === 'closed', 'closed'), 'closed arrives')
  t.same(c.messages.find((m) => m.type === 'closed'), { type: 'closed', fd: e, reason: 'eventfd-deleted' })
  t.notOk(c.closed, 'the socket itself stays open')
  t.equal(openReaders(app), 0, 'the reader is gone')
})

// Found: docs/architecture.md, HTTP conventions: "An IRQ index in a path or body is a name
// (intx, ...) or its number (0-4)". The fire body (POST /v1/devices/:id/interrupts and the
// WebSocket fire message, both FireBody) accepts "msix" and the string "2" but rejects the
// JSON number 2 with 400 (IrqIndexParam is string-only and bodies are validated without
// coercion). Steps: POST /v1/devices/D/interrupts {"index": 2, "vector": 0} → 400 invalid body.
t.test('7 fire: the body index is accepted as its number', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { intx: true, pcie: true, msix: { tableSize: 4 } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msix', triggerFds(0, [e]))
  for (const [index, body] of [[2, { vector: 0 }], [0, { level: 'pulse' }], [4, {}]] as const) {
    const res = await fire(app, id, { index, ...body })
    t.equal(res.statusCode, 200, `index ${index}: ${res.body}`)
  }
  const bad = await fire(app, id, { index: 5 })
  t.equal(bad.statusCode, 400, 'index 5 is still refused')
})

t.test('stream: the fire message takes the index as its number', async (t) => {
  const { ws, id } = await listening(t)
  const c = await WsClient.open(ws)
  c.send({ op: 'fire', device: id, index: 2, vector: 0, id: 'n' })
  t.match(await c.next((m) => m.id === 'n' || m.type === 'error', 'the answer'), { type: 'fired', id: 'n', fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
})
