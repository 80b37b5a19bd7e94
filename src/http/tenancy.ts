import bearerAuth from '@fastify/bearer-auth'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { DEFAULT_MAX_STREAMS } from '../config.ts'
import { DEFAULT_OWNER } from '../core/owner.ts'
import { tableEntries } from '../core/world.ts'
import type { DeviceCaps } from '../core/device.ts'
import { TenantStore, type TenantLimits } from '../store/tenants.ts'
import { HttpProblem } from './problem.ts'

declare module 'fastify' {
  interface FastifyInstance {
    tenancy: Tenancy
  }
  interface FastifyRequest {
    /** The tenant whose devices and eventfds this request sees ('default' with auth off). */
    tenant: string
    /** Whether the admin token authenticated it. */
    admin: boolean
    /** The id of the tenant token that authenticated it (null: auth off, or the admin token). */
    tokenId: string | null
  }
  interface FastifyContextConfig {
    /**
     * Who may call the route: anyone, a tenant token (the default) or the admin token. Read
     * from the matched route, never from the URL text (which the router decodes).
     */
    access?: Access
  }
}

export type Access = 'public' | 'tenant' | 'admin'

export const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest()

/** Tokens by hash, tenant limits and open streams, kept in memory and in the store. */
class Tenancy {
  readonly store: TenantStore
  readonly authEnabled: boolean
  readonly maxStreams: number
  private readonly adminHash: Buffer | null
  private tokens: Map<string, { id: string, tenant: string }>
  limits: Map<string, TenantLimits>
  /** What the instance holds at most, every tenant together; bounds a tenant without limits of its own. */
  instanceLimits: InstanceLimits = { devices: Infinity, eventfds: Infinity, tableEntries: Infinity }
  private readonly streams = new Map<string, number>()
  /** What ends each open stream and long-poll, by the id of the token that opened it. */
  private readonly byToken = new Map<string, Set<() => void>>()

  constructor (store: TenantStore, adminToken: string | undefined, maxStreams: number) {
    this.store = store
    this.authEnabled = adminToken !== undefined
    this.adminHash = adminToken === undefined ? null : sha256(adminToken)
    this.maxStreams = maxStreams
    this.tokens = store.activeHashes()
    this.limits = store.limits()
  }

  /** Reads tokens and limits again; streams of a token no longer active end at once. */
  reload (): void {
    this.tokens = this.store.activeHashes()
    this.limits = this.store.limits()
    const active = new Set([...this.tokens.values()].map((x) => x.id))
    for (const [id, ends] of [...this.byToken]) {
      if (active.has(id)) continue
      this.byToken.delete(id)
      for (const end of [...ends]) end()
    }
  }

  /**
   * Runs `end` when the token that authenticated `req` is revoked (nothing with auth off);
   * returns the function that forgets it.
   */
  onRevoke (req: FastifyRequest, end: () => void): () => void {
    const id = req.tokenId
    if (id === null) return () => {}
    let ends = this.byToken.get(id)
    if (ends === undefined) {
      ends = new Set()
      this.byToken.set(id, ends)
    }
    ends.add(end)
    return () => {
      ends.delete(end)
      if (ends.size === 0 && this.byToken.get(id) === ends) this.byToken.delete(id)
    }
  }

  /**
   * Resolves a bearer token. Only SHA-256 digests are kept and compared: the admin digest in
   * constant time, tenant tokens by digest lookup, whose timing can only reveal something
   * about a digest, from which no token can be derived.
   */
  authenticate (token: string, req: FastifyRequest): boolean {
    const digest = sha256(token)
    if (this.adminHash !== null && timingSafeEqual(digest, this.adminHash)) {
      req.admin = true
      return true
    }
    const hex = digest.toString('hex')
    const found = this.tokens.get(hex)
    if (found === undefined) return false
    req.tenant = found.tenant
    req.tokenId = found.id
    return true
  }

  openStream (tenant: string): () => void {
    const open = this.streams.get(tenant) ?? 0
    if (open >= this.maxStreams) throw new HttpProblem(429, 'tenant-stream-limit', `this tenant already has ${open} open streams`)
    this.streams.set(tenant, open + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.streams.set(tenant, (this.streams.get(tenant) ?? 1) - 1)
    }
  }
}

export interface InstanceLimits { devices: number, eventfds: number, tableEntries: number }

/**
 * 429 unless `have + adding` stays within the tenant's own limit (when the admin set one) and
 * the instance's. Counts are kept as things come and go: a check costs the same however many
 * devices and eventfds there are.
 */
function within (what: string, flag: string, adding: number, tenant: { have: number, limit: number | null | undefined }, instance: { have: number, limit: number }): void {
  const { have, limit } = tenant
  if (limit !== null && limit !== undefined && have + adding > limit) {
    throw new HttpProblem(429, `tenant-${what}-limit`, `this tenant has ${have} ${what}s of at most ${limit}; this would add ${adding}`)
  }
  if (instance.have + adding > instance.limit) {
    throw new HttpProblem(429, `instance-${what}-limit`, `the instance has ${instance.have} ${what}s of at most ${instance.limit} (${flag}); this would add ${adding}`)
  }
}

/** Before creating a device: the tenant's and the instance's device and table-entry limits. */
export function checkDeviceLimits (req: FastifyRequest, caps: DeviceCaps): void {
  const { world } = req.server.engine
  const { limits, instanceLimits } = req.server.tenancy
  const own = limits.get(req.tenant)
  const usage = world.usageOf(req.tenant)
  within('device', '--max-devices', 1, { have: usage.devices, limit: own?.devices }, { have: world.usageTotal.devices, limit: instanceLimits.devices })
  within('table-entry', '--max-table-entries', tableEntries(caps), { have: usage.tableEntries, limit: own?.tableEntries },
    { have: world.usageTotal.tableEntries, limit: instanceLimits.tableEntries })
}

/** Before creating an eventfd: the tenant's and the instance's eventfd limits. */
export function checkEventfdLimit (req: FastifyRequest): void {
  const { eventfds } = req.server.engine.world
  const { limits, instanceLimits } = req.server.tenancy
  within('eventfd', '--max-eventfds', 1, { have: eventfds.countOf(req.tenant), limit: limits.get(req.tenant)?.eventfds },
    { have: eventfds.size, limit: instanceLimits.eventfds })
}

/**
 * Counts a stream against the caller's tenant and ends it (`end`) when its token is revoked;
 * returns the function that releases both.
 */
export function openStream (req: FastifyRequest, end: () => void): () => void {
  const release = req.server.tenancy.openStream(req.tenant)
  const forget = req.server.tenancy.onRevoke(req, end)
  return () => {
    release()
    forget()
  }
}

/**
 * Who may call the route `req` matched. A request that matched no route needs a valid token
 * of either kind before it learns that (404).
 */
function accessOf (req: FastifyRequest): Access | 'any' {
  if (req.routeOptions.url === undefined) return 'any'
  return req.routeOptions.config.access ?? 'tenant'
}

export interface TenancyOptions { adminToken?: string, maxStreams?: number, instanceLimits?: InstanceLimits }

/**
 * Bearer tokens (via @fastify/bearer-auth) when an admin token is configured; otherwise every
 * request is the 'default' tenant (the server then refuses to listen beyond loopback).
 * /v1/admin and /metrics need the admin token; every other /v1 route a tenant token.
 */
async function tenancy (app: FastifyInstance, opts: TenancyOptions): Promise<void> {
  const t = new Tenancy(new TenantStore(app.engine.db), opts.adminToken, opts.maxStreams ?? DEFAULT_MAX_STREAMS)
  if (opts.instanceLimits !== undefined) t.instanceLimits = opts.instanceLimits
  app.decorate('tenancy', t)
  app.decorateRequest('tenant', DEFAULT_OWNER)
  app.decorateRequest('admin', false)
  app.decorateRequest('tokenId', null)
  for (const [tenant, limits] of t.limits) app.engine.setQuota(tenant, limits.hostVectors)
  if (!t.authEnabled) return

  await app.register(bearerAuth, {
    keys: new Set<string>(),
    addHook: false,
    verifyErrorLogLevel: 'debug',
    auth: (key: string, req: FastifyRequest) => t.authenticate(key, req)
  })
  // Authorisation is decided by the route the router matched (its config), never by the URL
  // text: the router decodes %-escapes, so '/v1/%61dmin' is /v1/admin.
  app.addHook('onRequest', (req, reply, done) => {
    const access = accessOf(req)
    if (access === 'public') return done()
    reply.header('www-authenticate', 'Bearer realm="virq"')
    app.verifyBearerAuth!(req, reply, (err?: Error) => {
      if (err !== undefined) return done(new HttpProblem(401, 'unauthorized', 'send Authorization: Bearer <token>; the token is missing, unknown or revoked'))
      if (access === 'admin' && !req.admin) return done(new HttpProblem(403, 'admin-token-required', 'this route needs the admin token'))
      if (access === 'tenant' && req.admin) return done(new HttpProblem(403, 'tenant-token-required', 'the admin token manages tokens; use a tenant token here'))
      done()
    })
  })
}

export default fp(tenancy, { name: 'virq-tenancy' })
