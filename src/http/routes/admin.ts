import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { randomBytes, randomUUID } from 'node:crypto'
import { HttpProblem, notFound } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { sha256 } from '../tenancy.ts'
import { parentSlots } from '../present.ts'
import { AdminHost, TokenCreate, TokenCreated, TokenList } from '../schemas-service.ts'

/** /v1/admin: tenant tokens, created and revoked with the admin token. */
const admin: FastifyPluginAsyncTypebox = async (app) => {
  const { tenancy, engine } = app
  // Every route of this plugin needs the admin token (see tenancy.ts).
  app.addHook('onRoute', (route) => { route.config = { ...route.config, access: 'admin' } })
  // Without an admin token there are no tenants to manage.
  app.addHook('onRequest', async () => {
    if (!tenancy.authEnabled) throw new HttpProblem(404, 'auth-disabled', 'authentication is off: start virq with --admin-token to manage tokens')
  })

  app.post('/v1/admin/tokens', {
    schema: {
      operationId: 'createToken',
      summary: 'Create a bearer token for a tenant (the token is shown only here)',
      tags: ['admin'],
      body: Type.Ref(TokenCreate),
      response: { 201: Type.Ref(TokenCreated), ...problemResponses(400, 401, 403, 404) }
    }
  }, async (req, reply) => {
    const now = new Date().toISOString()
    const token = `virq_${randomBytes(32).toString('base64url')}`
    const id = randomUUID()
    const { tenant, label, limits } = req.body
    const full = limits === undefined ? undefined : { devices: limits.devices ?? null, eventfds: limits.eventfds ?? null, hostVectors: limits.hostVectors ?? null, tableEntries: limits.tableEntries ?? null }
    engine.db.transaction(() => {
      tenancy.store.upsertTenant(tenant, full, now)
      tenancy.store.insertToken(id, tenant, sha256(token).toString('hex'), label ?? null, now)
    })()
    tenancy.reload()
    if (full !== undefined) engine.setQuota(tenant, full.hostVectors)
    return reply.code(201).send({ id, tenant, label: label ?? null, createdAt: now, revokedAt: null, token })
  })

  app.get('/v1/admin/tokens', {
    schema: {
      operationId: 'listTokens',
      summary: 'List tokens (never the tokens themselves)',
      tags: ['admin'],
      response: { 200: Type.Ref(TokenList), ...problemResponses(401, 403, 404) }
    }
  }, async () => ({ items: tenancy.store.tokens() }))

  app.get('/v1/admin/host', {
    schema: {
      operationId: 'getAdminHost',
      summary: 'The whole host: every tenant together, and what each holds',
      tags: ['admin'],
      response: { 200: Type.Ref(AdminHost), ...problemResponses(401, 403, 404) }
    }
  }, async () => {
    const { world } = engine
    const { pool, eventfds, usageTotal } = world
    const names = new Set<string>([...tenancy.limits.keys()])
    for (const [owner] of world.usages()) names.add(owner)
    for (const [owner] of eventfds.numbering()) names.add(owner)
    const tenants = [...names].sort().map((tenant) => {
      const usage = world.usageOf(tenant)
      return { tenant, devices: usage.devices, tableEntries: usage.tableEntries, eventfds: eventfds.countOf(tenant), hostVectors: pool.usedByOwner(tenant) }
    })
    return {
      hostVectors: { capacity: pool.capacity, used: pool.used, free: pool.free },
      devices: usageTotal.devices,
      tableEntries: usageTotal.tableEntries,
      eventfds: eventfds.size,
      limits: { ...tenancy.instanceLimits },
      tenants,
      parents: [...world.parents.values()].map((p) => ({ ...parentSlots(p), tenant: p.owner }))
    }
  })

  app.delete('/v1/admin/tokens/:id', {
    schema: {
      operationId: 'revokeToken',
      summary: 'Revoke a token; it stops working at once',
      tags: ['admin'],
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { 204: Type.Null(), ...problemResponses(401, 403, 404) }
    }
  }, async (req, reply) => {
    if (!tenancy.store.revokeToken(req.params.id, new Date().toISOString())) throw notFound('token', req.params.id)
    tenancy.reload()
    return reply.code(204).send(null)
  })
}

export default admin
