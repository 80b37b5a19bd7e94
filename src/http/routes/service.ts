import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ABIS } from '../../core/device.ts'
import { STORAGE_RETRY_AFTER_S } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { parentSlots } from '../present.ts'
import { Health, HostInfo, Readiness } from '../schemas-service.ts'

const service: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app

  app.get('/healthz', {
    config: { access: 'public', probe: true },
    schema: {
      operationId: 'healthz',
      summary: 'Liveness: the process answers',
      tags: ['service'],
      security: [],
      response: { 200: Type.Ref(Health) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { access: 'public', probe: true },
    schema: {
      operationId: 'readyz',
      summary: 'Readiness: the database answers and takes writes, and the service is not shutting down',
      tags: ['service'],
      security: [],
      response: { 200: Type.Ref(Readiness), 503: Type.Ref('Problem') }
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
      summary: "The caller's share of the host: vector pool, devices, table entries and eventfds it holds, and its limits",
      description: 'A tenant sees its own use, as a process sees its own file descriptors: `hostVectors.capacity` is what it may hold ' +
        '(its quota, or the pool), `free` what it can take now. With authentication off the single tenant holds everything; ' +
        'with it on, the admin sees the whole host at `GET /v1/admin/host`.',
      tags: ['service'],
      response: { 200: Type.Ref(HostInfo), ...problemResponses() }
    }
  }, async (req) => {
    const { world } = engine
    const { pool, eventfds } = world
    const tenant = req.tenant
    const own = app.tenancy.limits.get(tenant)
    const instance = app.tenancy.instanceLimits
    const quota = own?.hostVectors ?? null
    const capacity = quota === null ? pool.capacity : Math.min(quota, pool.capacity)
    const used = pool.usedByOwner(tenant)
    const usage = world.usageOf(tenant)
    const least = (a: number | null | undefined, b: number): number => (a === null || a === undefined ? b : Math.min(a, b))
    return {
      hostVectors: { capacity, used, free: Math.max(0, Math.min(capacity - used, pool.free)) },
      devices: usage.devices,
      tableEntries: usage.tableEntries,
      eventfds: eventfds.countOf(tenant),
      nextEventfd: eventfds.nextFdOf(tenant),
      limits: {
        devices: least(own?.devices, instance.devices),
        eventfds: least(own?.eventfds, instance.eventfds),
        tableEntries: least(own?.tableEntries, instance.tableEntries)
      },
      abis: [...ABIS],
      parents: [...world.parents.values()].filter((p) => p.owner === tenant).map(parentSlots)
    }
  })
}

export default service
