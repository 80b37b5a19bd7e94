import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ABIS } from '../../core/device.ts'
import { STORAGE_RETRY_AFTER_S } from '../problem.ts'
import { problemResponses } from '../responses.ts'

const service: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app

  app.get('/healthz', {
    schema: {
      operationId: 'healthz',
      summary: 'Liveness: the process answers',
      tags: ['service'],
      security: [],
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: {
      operationId: 'readyz',
      summary: 'Readiness: the database answers and takes writes, and the service is not shutting down',
      tags: ['service'],
      security: [],
      response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: Type.Ref('Problem') }
    }
  }, async (req, reply) => {
    const fault = engine.storageFault
    if (engine.closing || fault !== null || !engine.ping()) {
      const detail = fault !== null
        ? `writes to the database fail (${fault.code}: ${fault.message}); retried every few seconds`
        : engine.closing ? 'shutting down' : 'the database does not answer'
      return reply.code(503).header('retry-after', String(STORAGE_RETRY_AFTER_S)).type('application/problem+json').send({
        type: '/problems/not-ready', title: 'Service Unavailable', status: 503, detail, instance: req.url, reason: 'not-ready'
      })
    }
    return { status: 'ready' as const }
  })

  app.get('/v1/host', {
    schema: {
      operationId: 'getHost',
      summary: 'The host: vector pool capacity and use, device and eventfd counts',
      tags: ['service'],
      response: {
        200: Type.Object({
          hostVectors: Type.Object({ capacity: Type.Integer(), used: Type.Integer(), free: Type.Integer() }),
          devices: Type.Integer(),
          eventfds: Type.Integer(),
          nextEventfd: Type.Integer(),
          abis: Type.Array(Type.String())
        }),
        ...problemResponses()
      }
    }
  }, async () => {
    const { pool, devices, eventfds } = engine.world
    return {
      hostVectors: { capacity: pool.capacity, used: pool.used, free: pool.free },
      devices: devices.size,
      eventfds: eventfds.size,
      nextEventfd: eventfds.nextFd,
      abis: [...ABIS]
    }
  })
}

export default service
