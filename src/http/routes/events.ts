import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { findEventfd } from '../params.ts'
import { openStream } from '../tenancy.ts'
import { answeredHead, beginStream, HEARTBEAT_MS } from '../sse.ts'
import { problemResponses } from '../responses.ts'
import { FdParams } from '../schemas.ts'

const events: FastifyPluginAsyncTypebox = async (app) => {
  const { eventfds, streams } = app

  app.get('/v1/eventfds/:fd/events', {
    schema: {
      operationId: 'streamEventfd',
      summary: 'Server-Sent Events: this stream is the eventfd\'s reader',
      description: 'Each `signal` event carries the value one read(2) took: signals that arrive while the consumer ' +
        'is slow coalesce into the counter (semaphore mode: one event per unit). A `closed` event ends the stream when the eventfd is deleted (reason `eventfd-deleted`) or its token revoked (`token-revoked`).',
      tags: ['eventfds'],
      params: FdParams,
      produces: ['text/event-stream'],
      response: { 200: Type.String({ description: 'text/event-stream: `event: signal` + `data: {"fd":N,"value":N}`' }), ...problemResponses(404) }
    }
  }, (req, reply) => {
    const fd = req.params.fd
    findEventfd(req, fd)
    if (answeredHead(req, reply)) return
    // Revoking the token that opened the stream ends it at once.
    const release = openStream(req, () => close('token-revoked'))
    const res = beginStream(reply, `eventfd ${fd}`)
    function end (): void {
      release()
      clearInterval(heartbeat)
      eventfds.closeReader(reader)
      streams.delete(stream)
      if (!res.writableEnded) res.end()
    }
    function close (reason: string): void {
      if (!res.writableEnded) res.write(`event: closed\ndata: {"fd":${fd},"reason":"${reason}"}\n\n`)
      end()
    }
    const reader = eventfds.openReader(req.tenant, fd,
      (value) => res.write(`event: signal\ndata: {"fd":${fd},"value":${value}}\n\n`),
      () => close('eventfd-deleted'))
    const stream = { close: end }
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS)
    heartbeat.unref()
    res.on('drain', () => reader.resume())
    res.on('close', end)
    streams.add(stream)
  })
}

export default events
