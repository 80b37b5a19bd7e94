import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ABIS } from '../../core/device.ts'
import { STORAGE_RETRY_AFTER_S } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { parentSlots } from '../present.ts'
import { ParentSlots } from '../schemas.ts'

const Limits = Type.Object({
  devices: Type.Integer(),
  eventfds: Type.Integer(),
  tableEntries: Type.Integer({ description: 'MSI + MSI-X table entries of all devices together' })
}, { description: 'The most the caller may hold: the smaller of its own limit and the instance\'s' })

const Host = Type.Object({
  hostVectors: Type.Object({ capacity: Type.Integer(), used: Type.Integer(), free: Type.Integer() }),
  devices: Type.Integer(),
  tableEntries: Type.Integer({ description: 'MSI + MSI-X table entries of these devices' }),
  eventfds: Type.Integer(),
  nextEventfd: Type.Integer({ description: 'The number the next eventfd gets (each tenant numbers its own, from 1)' }),
  limits: Limits,
  abis: Type.Array(Type.String()),
  parents: Type.Array(ParentSlots, { description: "The caller's IMS parents and their slots (docs/model.md 13)" })
})

const service: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app

  app.get('/healthz', {
    config: { access: 'public', probe: true },
    schema: {
      operationId: 'healthz',
      summary: 'Liveness: the process answers',
      tags: ['service'],
      security: [],
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: { access: 'public', probe: true },
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
      summary: "The caller's share of the host: vector pool, devices, table entries and eventfds it holds, and its limits",
      description: 'A tenant sees its own use, as a process sees its own file descriptors: `hostVectors.capacity` is what it may hold ' +
        '(its quota, or the pool), `free` what it can take now. With authentication off the single tenant holds everything; ' +
        'with it on, the admin sees the whole host at `GET /v1/admin/host`.',
      tags: ['service'],
      response: { 200: Host, ...problemResponses() }
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
