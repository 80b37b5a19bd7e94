import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import fp from 'fastify-plugin'
import { IRQ_INDEX_NAMES } from '../../core/constants.ts'
import { deriveWindows } from '../../core/trace.ts'
import { nowSecond, RATE_SECONDS, rates } from '../../hot/rates.ts'
import { findDevice } from '../params.ts'
import { LiveHub, presentTrace, type Watcher } from '../live.ts'
import { decodeCursor, encodeCursor } from '../pagination.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, PageQuery } from '../schemas.ts'
import { Rates, TeardownWindowList, TracePage } from '../schemas-service.ts'
import { openStream } from '../tenancy.ts'
import { answeredHead, beginStream, HEARTBEAT_MS } from '../sse.ts'

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub
  }
}

// Watching a device: its configuration trace, the teardown windows derived from it, its
// interrupt rates, and all of it live as Server-Sent Events.

const RatesQuery = Type.Object({
  seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: RATE_SECONDS, default: RATE_SECONDS, description: 'How many seconds back (at most 600)' })),
  vectors: Type.Optional(Type.Boolean({ default: true, description: 'Include the per-vector series' }))
}, { additionalProperties: false })

const TraceQuery = Type.Object({
  ...PageQuery.properties,
  last: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Only the newest N entries (still oldest first; no cursor)' }))
}, { additionalProperties: false })

/** A comment line now and then keeps proxies and idle timeouts from closing a quiet stream. */

const observe: FastifyPluginAsyncTypebox = async (app) => {
  const { devices, streams } = app
  const live = new LiveHub(devices)
  app.decorate('live', live)
  app.addHook('onClose', async () => live.stop())

  app.get('/v1/devices/:id/trace', {
    schema: {
      operationId: 'listTrace',
      summary: 'The configuration trace: every create, SET_IRQS (either form) and reset, oldest first',
      description: 'Each entry has the request, the result or errno, and the interrupts lost or pended since the previous entry. ' +
        'Kept per device up to --trace-retention entries (the oldest go first); deleted with the device.',
      tags: ['devices'],
      params: IdParams,
      querystring: TraceQuery,
      response: { 200: Type.Ref(TracePage), ...problemResponses(400, 404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    if (req.query.last !== undefined) return { items: devices.trace.newest(dev.id, req.query.last).map(presentTrace) }
    const page = devices.trace.list(dev.id, decodeCursor(req.query.cursor), req.query.limit ?? 100)
    return { items: page.items.map(presentTrace), ...(page.more && page.last !== null ? { nextCursor: encodeCursor(page.last) } : {}) }
  })

  app.get('/v1/devices/:id/trace/windows', {
    schema: {
      operationId: 'listWindows',
      summary: 'Teardown windows from the trace: an index disabled, then enabled again, and what was lost in between',
      tags: ['devices'],
      params: IdParams,
      response: { 200: Type.Ref(TeardownWindowList), ...problemResponses(404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    return { items: deriveWindows(devices.trace.entries(dev.id)) }
  })

  app.get('/v1/devices/:id/rates', {
    schema: {
      operationId: 'getRates',
      summary: 'Interrupts fired, delivered, lost and pended per second over the last ten minutes',
      tags: ['interrupts'],
      params: IdParams,
      querystring: RatesQuery,
      response: { 200: Type.Ref(Rates), ...problemResponses(400, 404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    const seconds = req.query.seconds ?? RATE_SECONDS
    const end = nowSecond()
    const r = rates.peek(dev)
    const device = r?.device.series(end, seconds) ?? zeros(seconds)
    const vectors: Array<{ index: number, name: string, vector: number } & ReturnType<typeof zeros>> = []
    if (r !== undefined && req.query.vectors !== false) {
      for (let index = 0; index < r.vectors.length; index++) {
        const rings = r.vectors[index]
        for (const vector of rings.fired()) {
          if (rings.active(vector, end)) vectors.push({ index, name: IRQ_INDEX_NAMES[index], vector, ...rings.series(vector, end, seconds) })
        }
      }
    }
    return { start: end - seconds + 1, end, interval: 1 as const, device, vectors }
  })

  app.get('/v1/devices/:id/events', {
    schema: {
      operationId: 'streamDevice',
      summary: 'Server-Sent Events: the device\'s rates every second and its trace entries as they happen',
      description: '`event: rates` once a second with the last complete second (`t`, the device\'s fired/delivered/lost/pended and each vector that moved); ' +
        '`event: trace` with each new trace entry once it is committed. A `closed` event ends the stream when the device is deleted.',
      tags: ['devices'],
      params: IdParams,
      produces: ['text/event-stream'],
      response: { 200: Type.String({ description: 'text/event-stream' }), ...problemResponses(404) }
    }
  }, (req, reply) => {
    const dev = findDevice(req, req.params.id)
    if (answeredHead(req, reply)) return
    // Revoking the token that opened the stream ends it at once.
    const release = openStream(req, () => {
      if (!res.writableEnded) res.write(`event: closed\ndata: ${JSON.stringify({ reason: 'token-revoked' })}\n\n`)
      end()
    })
    const res = beginStream(reply, `device ${dev.id}`)
    let backedUp = false
    const watcher: Watcher = (kind, json) => {
      if (kind === 'closed') {
        res.write(`event: closed\ndata: ${json}\n\n`)
        return end()
      }
      // Rates are a sample: a backed-up consumer skips some. Trace entries are always written.
      if (backedUp && kind === 'rates') return
      backedUp = !res.write(`event: ${kind}\ndata: ${json}\n\n`)
    }
    const end = (): void => {
      release()
      clearInterval(heartbeat)
      live.unwatch(dev.id, watcher)
      streams.delete(stream)
      if (!res.writableEnded) res.end()
    }
    const stream = { close: end }
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS)
    heartbeat.unref()
    res.on('drain', () => { backedUp = false })
    res.on('close', end)
    streams.add(stream)
    live.watch(dev.id, watcher)
  })
}

function zeros (n: number) {
  const z = (): number[] => new Array<number>(n).fill(0)
  return { fired: z(), delivered: z(), lost: z(), pended: z() }
}

export default fp(observe, { name: 'virq-observe' })
