import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import websocket from '@fastify/websocket'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest, FastifySchema } from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { explain } from '../explain.ts'
import type { WebSocket } from 'ws'
import { FireTally } from '../../core/interrupts.ts'
import { FireError } from '../../hot/fire.ts'
import type { EventfdReader } from '../../hot/readers.ts'
import { parseIndex } from '../params.ts'
import { HttpProblem } from '../problem.ts'
import { illFormedAt } from '../strict-input.ts'
import { openStream as countStream } from '../tenancy.ts'
import { FireBody } from '../schemas.ts'
import type { Watcher } from '../live.ts'

// GET /v1/stream: one WebSocket that reads many eventfds and fires interrupts, for high rates.
// The message format is documented in openapi/stream.md.

const Fds = Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { maxItems: 4096 })
const Devices = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 256 })
const Message = Type.Union([
  Type.Object({ op: Type.Literal('subscribe'), fds: Fds }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('unsubscribe'), fds: Fds }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('watch'), devices: Devices }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('unwatch'), devices: Devices }, { additionalProperties: false }),
  Type.Composite([
    Type.Object({ op: Type.Literal('fire'), device: Type.String({ maxLength: 64 }), id: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Number()])) }),
    FireBody
  ], { additionalProperties: false })
])
type Message = Static<typeof Message>
const checkMessage = TypeCompiler.Compile(Message)

/**
 * Backpressure, for every message the server sends (signals, acknowledgements, errors). Past
 * HIGH_WATER bytes queued on the socket, readers pause (signals coalesce in the counters) and
 * the socket is no longer read (no more requests, so no more replies) until it drains below
 * LOW_WATER. A signal is ~40 bytes and coalescing means no backlog is ever needed, so a small
 * bound keeps a stalled consumer's cost small (1,000 stalled sockets: ~64 MiB at most).
 * What one chunk already read still gets its replies; past HARD_LIMIT (a client that sends
 * many requests and never reads its replies) the connection is closed with 1008.
 */
const HIGH_WATER = 64 * 1024
const LOW_WATER = 16 * 1024
export const HARD_LIMIT = 1024 * 1024
const MAX_MESSAGE_BYTES = 256 * 1024

const stream: FastifyPluginAsyncTypebox = async (app) => {
  const { devices, eventfds, interrupts, streams } = app
  // Registered here, inside this plugin's scope: its per-request hooks then run for
  // /v1/stream only, not on every other route.
  await app.register(websocket, { options: { maxPayload: MAX_MESSAGE_BYTES } })
  const tally = new FireTally()

  // The message format cannot be said in OpenAPI; the document points to openapi/stream.md.
  const schema = {
    operationId: 'openStream',
    summary: 'WebSocket: read many eventfds and fire interrupts at high rates',
    description: 'Upgrade to a WebSocket. Messages are JSON: `subscribe`/`unsubscribe` eventfds, `fire` interrupts, `watch`/`unwatch` devices; ' +
      'the server sends `signal` (the value one read took), `fired`, `subscribed`, `watching`, `rates`, `trace`, `error`, `closed`. See /docs/stream.md.',
    tags: ['interrupts'],
    response: {
      101: { description: 'Switching Protocols: the WebSocket is open' },
      426: { description: 'Not a WebSocket upgrade request', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } }
    }
  }
  /** One connection: its subscriptions (eventfd readers) and the fires it sends. */
  const openStream = (socket: WebSocket, req: FastifyRequest): void => {
    const { tenant } = req
    let release: () => void
    try {
      // Revoking the token that opened the stream ends it at once.
      release = countStream(req, () => end(1008, 'token revoked'))
    } catch (err) {
      socket.close(1013, (err as Error).message.slice(0, 120)) // 1013: try again later
      return
    }
    const readers = new Map<number, EventfdReader>()
    let paused = false

    // Resume reading the socket and the readers once it has drained; checked from each send's completion.
    const written = (): void => {
      if (paused && socket.bufferedAmount < LOW_WATER && socket.readyState === socket.OPEN) {
        paused = false
        socket.resume()
        for (const r of readers.values()) r.resume()
      }
    }
    /** Sends one message; returns false once the socket is backed up (then everything waits for it). */
    const send = (text: string): boolean => {
      if (socket.readyState !== socket.OPEN) return false
      socket.send(text, written)
      const queued = socket.bufferedAmount
      if (queued > HARD_LIMIT) {
        end(1008, 'too many unread replies')
        return false
      }
      if (queued > HIGH_WATER && !paused) {
        paused = true
        socket.pause()
      }
      return !paused
    }
    const error = (reason: string, detail: string, id?: unknown): void => {
      send(JSON.stringify({ type: 'error', reason, detail, ...(id !== undefined ? { id } : {}) }))
    }
    const deliver = (fd: number, value: number): boolean => send(`{"type":"signal","fd":${fd},"value":${value}}`)

    // Watched devices: their rates each second and their trace entries (see openapi/stream.md).
    const watched = new Map<string, Watcher>()
    const unwatchAll = (): void => {
      for (const [id, w] of watched) app.live.unwatch(id, w)
      watched.clear()
    }

    const close = (): void => {
      unwatchAll()
      release()
      for (const r of readers.values()) eventfds.closeReader(r)
      readers.clear()
      streams.delete(handle)
    }
    /** Ends the stream from this side; a socket that does not take the close frame is dropped. */
    function end (code: number, reason: string): void {
      close()
      if (socket.readyState === socket.OPEN) socket.close(code, reason)
      if (socket.bufferedAmount > LOW_WATER) socket.terminate()
    }
    const handle = { close: () => end(1001, 'server shutting down') }
    streams.add(handle)
    socket.on('close', close)

    const watch = (op: 'watch' | 'unwatch', ids: string[]): void => {
      if (op === 'watch') {
        const missing = ids.filter((id) => devices.get(id)?.owner !== tenant)
        if (missing.length > 0) return error('device-not-found', `no device ${missing.join(', ')}`)
        for (const id of ids) {
          if (watched.has(id)) continue
          const w: Watcher = (kind, json) => {
            if (kind === 'closed') {
              watched.delete(id)
              app.live.unwatch(id, w)
            } else if (kind === 'rates' && socket.bufferedAmount > HIGH_WATER) {
              return // a sample: a backed-up socket skips it (the history is at /rates)
            }
            socket.send(`{"type":"${kind}",${json.slice(1)}`)
          }
          watched.set(id, w)
          app.live.watch(id, w)
        }
      } else {
        for (const id of ids) {
          const w = watched.get(id)
          if (w === undefined) continue
          watched.delete(id)
          app.live.unwatch(id, w)
        }
      }
      send(JSON.stringify({ type: 'watching', devices: [...watched.keys()] }))
    }

    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (socket.readyState !== socket.OPEN) return
      if (isBinary || raw.length > MAX_MESSAGE_BYTES) return error('invalid-message', 'send JSON text messages up to 256 KiB')
      let msg: Message
      const text = raw.toString()
      try {
        msg = JSON.parse(text)
      } catch {
        return error('malformed-json', 'the message is not JSON')
      }
      const illFormed = text.includes('\\u') ? illFormedAt(msg) : null
      if (illFormed !== null) return error('invalid-unicode', `${illFormed}: a lone UTF-16 surrogate is not a Unicode string`)
      if (!checkMessage.Check(msg)) {
        const first = checkMessage.Errors(msg).First()
        const sentence = explain(Message, msg, 'message')
        return error('invalid-message', sentence ?? (first !== undefined ? `${first.path || '/'}: ${first.message}` : 'invalid message'))
      }
      if (msg.op === 'fire') {
        const dev = devices.get(msg.device)
        if (dev === undefined || dev.owner !== tenant) return error('device-not-found', `no device ${msg.device}`, msg.id)
        tally.reset()
        try {
          interrupts.fire(dev, { ...msg, index: parseIndex(msg.index) }, tally)
        } catch (err) {
          if (err instanceof FireError || err instanceof HttpProblem) return error(err.reason, err.message, msg.id)
          throw err
        }
        // Acknowledged only when asked (an id): at high rates the signals are the answer.
        if (msg.id !== undefined) send(JSON.stringify({ type: 'fired', id: msg.id, fired: tally.fired, delivered: tally.delivered, lost: tally.lost, pended: tally.pended, coalesced: tally.coalesced }))
        return
      }
      if (msg.op === 'watch' || msg.op === 'unwatch') return watch(msg.op, msg.devices)
      if (msg.op === 'subscribe') {
        const missing = msg.fds.filter((fd) => eventfds.get(fd, tenant) === undefined)
        if (missing.length > 0) return error('eventfd-not-found', `no eventfd ${missing.join(', ')}`)
        for (const fd of msg.fds) {
          if (readers.has(fd)) continue
          const reader = eventfds.openReader(tenant, fd, (value) => deliver(fd, value), () => {
            readers.delete(fd)
            eventfds.closeReader(reader)
            send(`{"type":"closed","fd":${fd},"reason":"eventfd-deleted"}`)
          })
          readers.set(fd, reader)
        }
        return send(JSON.stringify({ type: 'subscribed', fds: [...readers.keys()] }))
      }
      for (const fd of msg.fds) {
        const reader = readers.get(fd)
        if (reader === undefined) continue
        readers.delete(fd)
        eventfds.closeReader(reader)
      }
      send(JSON.stringify({ type: 'subscribed', fds: [...readers.keys()] }))
    })
  }

  app.route({
    method: 'GET',
    url: '/v1/stream',
    schema: schema as FastifySchema,
    handler: async () => {
      throw new HttpProblem(426, 'upgrade-required', 'GET /v1/stream is a WebSocket: send Upgrade: websocket')
    },
    wsHandler: openStream
  })
}

export default stream
