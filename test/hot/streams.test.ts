// Delivery to consumers over a real socket (docs/model.md 8; docs/architecture.md,
// Streams): the SSE stream and the WebSocket read eventfds; signals coalesce; shutdown ends them.
import t from 'tap'
import { createEventfd, fireOk, openReaders, peekEventfd, setIrqs, triggerFds, until } from '../helper.ts'
import { listening, SseClient, subscribed, WsClient } from './stream-clients.ts'

t.test('8 sse: a signal arrives as `event: signal` with the value the read took', async (t) => {
  const { app, base, id, e } = await listening(t)
  const sse = await SseClient.open(`${base}/v1/eventfds/${e}/events`)
  t.equal(sse.status, 200)
  await fireOk(app, id, { index: 'msix', vector: 0, count: 5 })
  await until(() => sse.total() === 5, 'signal events adding up to 5')
  t.same(sse.events.find((x) => x.event === 'signal')?.data, { fd: e, value: 5 })
  t.equal(await peekEventfd(app, e), 0, 'the stream is the reader: it consumed the counter')
})

t.test('8 sse: a value already waiting is delivered when the stream opens', async (t) => {
  const { app, base, id, e } = await listening(t)
  await fireOk(app, id, { index: 'msix', vector: 0, count: 3 })
  const sse = await SseClient.open(`${base}/v1/eventfds/${e}/events`)
  await until(() => sse.total() === 3, 'the waiting value')
  t.same(sse.signals(), [3])
})

t.test('8 sse: unknown eventfd → 404', async (t) => {
  const { base } = await listening(t)
  const res = await fetch(`${base}/v1/eventfds/999999/events`)
  t.equal(res.status, 404)
  t.match(res.headers.get('content-type'), /application\/problem\+json/)
  await res.text()
})

t.test('8 coalescing: 2000 signals reach the websocket as far fewer messages, none lost', async (t) => {
  const { app, ws, id, e } = await listening(t)
  const c = await subscribed(ws, [e])
  // Issued synchronously: the stream's reader gets no turn before most of them have landed.
  const fires = [fireOk(app, id, { index: 'msix', vector: 0, count: 1000 })]
  for (let i = 0; i < 1000; i++) fires.push(fireOk(app, id, { index: 'msix', vectors: [0] }))
  const results = await Promise.all(fires)
  t.equal(results.reduce((n, r) => n + r.delivered, 0), 2000, 'all delivered to the eventfd')
  await until(() => c.total(e) >= 2000, 'signal messages adding up to 2000')
  // One more fire and its ack prove nothing else was still on its way.
  c.send({ op: 'fire', device: id, index: 'msix', vector: 0, id: 'last' })
  await c.next((m) => m.type === 'fired' && m.id === 'last', 'the ack')
  await until(() => c.total(e) === 2001, 'the last signal')
  const n = c.signals(e).length
  t.ok(n < 200, `coalesced: ${n} signal messages for 2001 signals`)
  t.equal(await peekEventfd(app, e), 0)
})

t.test('8 semaphore: a semaphore eventfd yields value 1 per event', async (t) => {
  const { app, ws, base, id, e } = await listening(t, true)
  const c = await subscribed(ws, [e])
  await fireOk(app, id, { index: 'msix', vector: 0, count: 300 })
  await until(() => c.signals(e).length === 300, '300 signal messages')
  t.ok(c.signals(e).every((v) => v === 1), 'every message carries 1')
  // SSE too, on a second semaphore eventfd.
  const s = await createEventfd(app, { semaphore: true })
  await setIrqs(app, id, 'msix', triggerFds(1, [s]))
  const sse = await SseClient.open(`${base}/v1/eventfds/${s}/events`)
  await fireOk(app, id, { index: 'msix', vector: 1, count: 4 })
  await until(() => sse.signals().length === 4, '4 SSE events')
  t.same(sse.signals(), [1, 1, 1, 1])
})

t.test('stream: fire with an id is acknowledged; without one it is not', async (t) => {
  const { ws, id, e } = await listening(t)
  const c = await subscribed(ws, [e])
  const from = c.messages.length
  c.send({ op: 'fire', device: id, index: 'msix', vectors: [0, 0, 3] })
  c.send({ op: 'fire', device: id, index: 'msix', vector: 0, count: 2, id: 'a1' })
  const ack = await c.next((m) => m.type === 'fired', 'an ack', from)
  t.same(ack, { type: 'fired', id: 'a1', fired: 2, delivered: 2, lost: 0, pended: 0, coalesced: 0 }, 'the only ack is for the message with an id')
  c.send({ op: 'fire', device: id, index: 'err', id: 7 })
  t.match(await c.next((m) => m.id === 7, 'answer to id 7'), { type: 'error', reason: 'no-such-index', id: 7 })
  c.send({ op: 'fire', device: 'nope', index: 'msix', vector: 0, id: 'x' })
  t.match(await c.next((m) => m.id === 'x', 'answer to id x'), { type: 'error', reason: 'device-not-found', id: 'x' })
  await until(() => c.total(e) === 4, 'the signals of both fires')
  t.equal(c.messages.filter((m) => m.type === 'fired').length, 1)
})

// Each invalid message's error says what is allowed, in one sentence (src/http/explain.ts).
const invalid: Array<{ name: string, msg: unknown, reason: string, detail?: string }> = [
  { name: 'not JSON', msg: '{nope', reason: 'malformed-json' },
  { name: 'unknown op', msg: { op: 'bogus' }, reason: 'invalid-message', detail: 'message.op must be one of "subscribe", "unsubscribe", "watch", "unwatch" or "fire", not "bogus"' },
  { name: 'no op', msg: { fds: [1] }, reason: 'invalid-message', detail: 'message is missing the required field "op" (one of "subscribe", "unsubscribe", "watch", "unwatch" or "fire")' },
  { name: 'subscribe without fds', msg: { op: 'subscribe' }, reason: 'invalid-message', detail: 'message is missing the required field "fds"' },
  { name: 'subscribe with a string fd', msg: { op: 'subscribe', fds: ['3'] }, reason: 'invalid-message', detail: 'message.fds[0] must be an integer from 1 to 9007199254740991, not a string ("3")' },
  { name: 'fire with an unknown field', msg: { op: 'fire', device: 'd', index: 'msix', vector: 0, extra: 1 }, reason: 'invalid-message', detail: 'message has an unknown field "extra"; it takes "op", "device", "id", "index", "vectors", "vector", "count" and "level"' },
  { name: 'subscribe to an unknown fd', msg: { op: 'subscribe', fds: [999999] }, reason: 'eventfd-not-found' }
]

for (const c of invalid) {
  t.test(`stream: invalid message (${c.name}) → error, the connection stays open`, async (t) => {
    const { app, ws, id, e } = await listening(t)
    const client = await WsClient.open(ws)
    client.send(c.msg)
    t.match(await client.next((m) => m.type === 'error', 'an error'), { type: 'error', reason: c.reason, ...(c.detail !== undefined ? { detail: c.detail } : {}) })
    client.send({ op: 'subscribe', fds: [e] })
    t.same(await client.next((m) => m.type === 'subscribed', 'subscribed'), { type: 'subscribed', fds: [e] }, 'still serving')
    await fireOk(app, id, { index: 'msix', vector: 0 })
    await until(() => client.total(e) === 1, 'a signal')
    t.notOk(client.closed)
  })
}

t.test('stream: subscribe to known and unknown fds → error, nothing subscribed', async (t) => {
  const { app, ws, e } = await listening(t)
  const c = await WsClient.open(ws)
  c.send({ op: 'subscribe', fds: [e, 424242] })
  t.match(await c.next((m) => m.type === 'error', 'an error'), { reason: 'eventfd-not-found' })
  c.send({ op: 'unsubscribe', fds: [] })
  t.same(await c.next((m) => m.type === 'subscribed', 'the subscription list'), { type: 'subscribed', fds: [] })
  t.ok(openReaders(app) === 0)
})

t.test('stream: unsubscribe stops delivery; the counter keeps the value', async (t) => {
  const { app, ws, id, e } = await listening(t)
  const c = await subscribed(ws, [e])
  c.send({ op: 'unsubscribe', fds: [e] })
  await c.next((m) => m.type === 'subscribed' && m.fds.length === 0, 'unsubscribed')
  await fireOk(app, id, { index: 'msix', vector: 0, count: 2 })
  c.send({ op: 'fire', device: id, index: 'msix', vector: 0, id: 'sync' })
  await c.next((m) => m.id === 'sync', 'the ack')
  t.equal(c.total(e), 0)
  t.equal(await peekEventfd(app, e), 3)
})

t.test('shutdown: app.close() ends open SSE and WebSocket connections', async (t) => {
  const { app, base, ws, e } = await listening(t)
  const sse = await SseClient.open(`${base}/v1/eventfds/${e}/events`)
  const c = await subscribed(ws, [e])
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    app.close().then(() => 'closed'),
    new Promise((resolve) => { timer = setTimeout(() => resolve('timed out'), 10_000) })
  ])
  clearTimeout(timer)
  t.equal(closed, 'closed', 'app.close() resolved')
  await sse.end()
  t.ok(sse.ended, 'the SSE client saw the end')
  await until(() => c.closed, 'the WebSocket to close')
  t.equal(c.closeCode, 1001, 'going away')
})
