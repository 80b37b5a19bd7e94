// Streams over real sockets: a WebSocket client that never reads its replies costs the server a
// bounded buffer; revoking a token ends the streams and long-polls opened with it at once.
import type { Socket } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { HARD_LIMIT } from '../../src/http/routes/stream.ts'
import { SseClient, WsClient } from '../hot/stream-clients.ts'
import { sleep, until } from '../helper.ts'
import { ADMIN, request, secured } from './lib.ts'

t.test('websocket: a client that sends fires with ids and never reads is paused or closed, its buffer bounded', async (t) => {
  const { app, ws, token, as } = await secured(t)
  const tenant = await token('alpha')
  const dev = (await as(tenant.token)('POST', '/v1/devices', { msix: { tableSize: 8 } })).json().id
  // The server's side of the connection: what it has queued to send, and whether it reads.
  let serverSocket: Socket | undefined
  app.server.on('connection', (s: Socket) => { serverSocket = s })
  const client = new WebSocket(`${ws}/v1/stream`, { headers: { authorization: `Bearer ${tenant.token}` } })
  client.on('error', () => {})
  await new Promise<void>((resolve, reject) => { client.once('open', () => resolve()); client.once('error', reject) })
  ;(client as unknown as { _socket: { pause: () => void } })._socket.pause() // never reads a reply
  let maxServerBuffered = 0
  const watch = setInterval(() => { maxServerBuffered = Math.max(maxServerBuffered, serverSocket?.writableLength ?? 0) }, 1)
  t.teardown(() => clearInterval(watch))
  // Acks (a real device) and errors (an unknown one), ~30 MB of requests in all.
  const ack = JSON.stringify({ op: 'fire', device: dev, index: 'msix', vector: 0, id: 'x'.repeat(100) })
  const err = JSON.stringify({ op: 'fire', device: 'nope', index: 'msix', vector: 0, id: 'y'.repeat(100) })
  // Whether the server has stopped reading this client: closed, or paused and reading nothing
  // for a while (the receiver's own backpressure pauses a socket for a moment; ours holds).
  const stoppedReading = async (): Promise<boolean> => {
    const s = serverSocket
    if (s === undefined) return false
    if (s.destroyed) return true
    if (!s.isPaused()) return false
    const read = s.bytesRead
    await sleep(300)
    return s.destroyed || (s.isPaused() && s.bytesRead === read)
  }
  let sent = 0
  let stopped = false
  for (let i = 0; i < 200_000 && client.readyState === WebSocket.OPEN && !stopped; i++) {
    client.send(i % 2 === 0 ? ack : err)
    sent++
    if (client.bufferedAmount > 4 * 1024 * 1024) {
      // Let the server read: it either takes more (the client's buffer drains) or stops reading
      // us. Its replies first fill the kernel's buffers, megabytes on loopback, so on a loaded
      // machine this can take seconds: no fixed wait decides it.
      await until(async () => client.bufferedAmount < 2 * 1024 * 1024 || (stopped = await stoppedReading()), 'the server to read on or stop reading', 60_000)
    }
  }
  if (!stopped) stopped = await stoppedReading()
  clearInterval(watch)
  t.comment(`sent ${sent} messages; server buffered at most ${maxServerBuffered} bytes; client still holds ${client.bufferedAmount} unsent`)
  t.ok(maxServerBuffered <= HARD_LIMIT, `the server buffers at most ${HARD_LIMIT} bytes for it (${maxServerBuffered})`)
  t.ok(stopped, 'the server stopped reading it, or closed it')
  client.terminate()
})

t.test('revocation: revoking a token ends its WebSocket, SSE stream and long-poll at once', async (t) => {
  const { port, ws, token, as } = await secured(t)
  const tenant = await token('alpha')
  const other = await token('beta')
  const fd = (await as(tenant.token)('POST', '/v1/eventfds', {})).json().fd
  const theirFd = (await as(other.token)('POST', '/v1/eventfds', {})).json().fd
  const auth = (tok: string) => ({ headers: { authorization: `Bearer ${tok}` } })

  const socket = await WsClient.open(`${ws}/v1/stream`, auth(tenant.token).headers)
  socket.send({ op: 'subscribe', fds: [fd] })
  await socket.next((m) => m.type === 'subscribed', 'subscribed')
  const sse = await SseClient.open(`http://127.0.0.1:${port}/v1/eventfds/${fd}/events`, auth(tenant.token).headers)
  const poll = request(port, 'POST', `/v1/eventfds/${fd}/read?timeoutMs=60000`, auth(tenant.token))
  // Another token's stream must go on.
  const survivor = await SseClient.open(`http://127.0.0.1:${port}/v1/eventfds/${theirFd}/events`, auth(other.token).headers)

  const started = Date.now()
  t.equal((await as(ADMIN)('DELETE', `/v1/admin/tokens/${tenant.id}`)).statusCode, 204)
  await until(() => socket.closed, 'the WebSocket to close', 2000)
  t.equal(socket.closeCode, 1008, 'WebSocket closed 1008 (policy)')
  await sse.end(2000)
  t.match(sse.events.at(-1), { event: 'closed', data: { reason: 'token-revoked' } }, 'SSE ends with a closed event')
  const res = await poll
  t.equal(res.status, 401, 'the long-poll is answered 401')
  t.equal(JSON.parse(res.body).reason, 'token-revoked')
  t.comment(`all ended ${Date.now() - started} ms after the revocation`)
  t.notOk(survivor.ended, 'another token\'s stream is untouched')
})
