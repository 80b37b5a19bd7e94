import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import { HttpProblem } from '../problem.ts'
import { checkEventfdLimit } from '../tenancy.ts'
import { findEventfd } from '../params.ts'
import { decodeCursor, encodeCursor } from '../pagination.ts'
import { presentEventfd } from '../present.ts'
import { emptyBodyIsEmptyObject, problemResponses } from '../responses.ts'
import { Eventfd, EventfdCounter, EventfdCreate, EventfdPage, EventfdValue, FdParams, PageQuery } from '../schemas.ts'
import { MAX_READ_WAIT_MS } from '../bounds.ts'

/** The client can still be answered: its connection is open both ways. */
function connected (req: FastifyRequest, reply: FastifyReply): boolean {
  const socket = req.raw.socket as Socket | null
  return socket !== null && socket.destroyed !== true && socket.writable !== false && !reply.raw.destroyed
}

/** A vfio-user client's eventfd: its counter lives in the client's kernel, and its connection owns it (docs/model.md 14). */
function notExternal (efd: { fd: number, external?: boolean }): void {
  if (efd.external === true) {
    throw new HttpProblem(409, 'external-eventfd', `eventfd ${efd.fd} belongs to a vfio-user client: its counter is the client's, and it closes with the connection`)
  }
}

const tokenRevoked = (): HttpProblem => new HttpProblem(401, 'token-revoked', 'the token this read was made with has been revoked')

const eventfdRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { eventfds } = app

  app.post('/v1/eventfds', {
    schema: {
      operationId: 'createEventfd',
      summary: 'Create an eventfd (a counter that interrupts signal and readers drain)',
      tags: ['eventfds'],
      body: Type.Ref(EventfdCreate),
      response: { 201: Eventfd, ...problemResponses(400, 429) }
    },
    preValidation: emptyBodyIsEmptyObject
  }, async (req, reply) => {
    const opts = { semaphore: req.body.semaphore ?? false, label: req.body.label ?? null, createdAt: new Date().toISOString(), owner: req.tenant }
    checkEventfdLimit(req)
    const efd = await eventfds.apply((world, fx) => {
      const created = world.eventfds.create(opts)
      fx.eventfd(created)
      return created
    })
    reply.header('location', `/v1/eventfds/${efd.fd}`)
    return reply.code(201).send(presentEventfd(efd))
  })

  app.get('/v1/eventfds', {
    schema: {
      operationId: 'listEventfds',
      summary: 'List eventfds by number',
      tags: ['eventfds'],
      querystring: PageQuery,
      response: { 200: Type.Ref(EventfdPage), ...problemResponses(400) }
    }
  }, async (req) => {
    const limit = req.query.limit ?? 100
    // A page is an index range of the caller's own eventfds: its cost does not grow with theirs or anyone's.
    const page = eventfds.page(req.tenant, decodeCursor(req.query.cursor), limit)
    const items = page.fds.map((fd) => eventfds.get(fd, req.tenant)).filter((e) => e !== undefined)
    const last = page.fds[page.fds.length - 1]
    // A vfio-user client's eventfds are not in SQLite (they live with the connection): merged
    // into the page whose number range they fall in.
    const after = decodeCursor(req.query.cursor)
    for (const efd of eventfds.external(req.tenant)) {
      if (efd.fd > after && (!page.more || efd.fd < last)) items.push(efd)
    }
    items.sort((a, b) => a.fd - b.fd)
    return { items: items.map((e) => presentEventfd(e)), ...(page.more ? { nextCursor: encodeCursor(last) } : {}) }
  })

  app.get('/v1/eventfds/:fd', {
    schema: {
      operationId: 'getEventfd',
      summary: 'Get an eventfd: its counter (not consumed) and what it is bound to',
      tags: ['eventfds'],
      params: FdParams,
      response: { 200: Eventfd, ...problemResponses(404) }
    }
  }, async (req) => {
    const efd = findEventfd(req, req.params.fd)
    return presentEventfd(efd, eventfds.bindingsOf(efd))
  })

  app.post('/v1/eventfds/:fd/read', {
    schema: {
      operationId: 'readEventfd',
      summary: 'read(2): take the counter (semaphore mode: 1); 204 when there is nothing to read',
      tags: ['eventfds'],
      params: FdParams,
      querystring: Type.Object({
        timeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_READ_WAIT_MS, description: 'Wait up to this long for a value' }))
      }, { additionalProperties: false }),
      response: { 200: Type.Ref(EventfdCounter), 204: Type.Null({ description: 'Nothing to read (EAGAIN), or the service is shutting down' }), ...problemResponses(401, 404, 409) }
    }
  }, async (req, reply) => {
    const fd = req.params.fd
    notExternal(findEventfd(req, fd))
    const deadline = Date.now() + (req.query.timeoutMs ?? 0)
    // A value is taken only for a client that can still receive it: one that went away (or
    // whose token was revoked) while the read waited gets nothing, and a value taken in the
    // meantime is given back, as if it had never been read.
    let revoked = false
    let wait: { cancel: () => void } | null = null
    const stop = (): void => wait?.cancel()
    const forget = app.tenancy.onRevoke(req, () => { revoked = true; stop() })
    reply.raw.once('close', stop)
    try {
      for (;;) {
        if (revoked) throw tokenRevoked()
        if (!connected(req, reply)) return reply.code(204).send(null) // nobody to answer
        // Looked up again each time (a force-delete may have closed it while we waited), and
        // outside the operation: a 404 is not a half-done change that would reload the model.
        const efd = findEventfd(req, fd)
        const value = await eventfds.apply((world, fx) => world.readEventfd(efd, fx))
        if (value !== 0) {
          if (!revoked && connected(req, reply)) return { value }
          await eventfds.apply((world, fx) => world.unreadEventfd(efd, value, fx))
          continue
        }
        const left = deadline - Date.now()
        if (left <= 0 || eventfds.closing()) return reply.code(204).send(null)
        const waiting = eventfds.waitReadable(req.tenant, fd, left)
        wait = waiting
        await waiting.promise
        wait = null
      }
    } finally {
      forget()
      reply.raw.off('close', stop)
    }
  })

  app.post('/v1/eventfds/:fd/write', {
    schema: {
      operationId: 'writeEventfd',
      summary: 'write(2): add to the counter (an INTx unmask eventfd consumes it and unmasks)',
      tags: ['eventfds'],
      params: FdParams,
      body: Type.Ref(EventfdValue),
      response: { 200: Type.Ref(EventfdCounter), ...problemResponses(400, 404, 409) }
    }
  }, async (req) => {
    const efd = findEventfd(req, req.params.fd)
    notExternal(efd)
    // The counter right after this write: a waiting reader may take from it before the commit.
    const value = await eventfds.apply((world, fx) => {
      world.writeEventfd(efd, req.body.value, fx)
      return efd.value
    })
    return { value }
  })

  app.delete('/v1/eventfds/:fd', {
    schema: {
      operationId: 'deleteEventfd',
      summary: 'Close an eventfd; EBUSY while bound unless force=true, which de-assigns it everywhere first',
      tags: ['eventfds'],
      params: FdParams,
      querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 204: Type.Null(), ...problemResponses(404, 409) }
    }
  }, async (req, reply) => {
    const efd = findEventfd(req, req.params.fd)
    notExternal(efd)
    await eventfds.apply((world, fx) => world.deleteEventfd(efd, req.query.force ?? false, fx))
    return reply.code(204).send(null)
  })
}

export default eventfdRoutes
