import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyServerOptions } from 'fastify'
import type { ServerOptions } from 'node:http'
import { Engine } from './engine/engine.ts'
import {
  deviceService, eventfdService, interruptService, streamService,
  type DeviceService, type EventfdService, type InterruptService, type StreamService
} from './services.ts'
import { clientError, isStorageProblem, routeNotFound, sendProblem, STORAGE_RETRY_AFTER_S, toProblem } from './http/problem.ts'
import devices from './http/routes/devices.ts'
import parents from './http/routes/parents.ts'
import events from './http/routes/events.ts'
import eventfds from './http/routes/eventfds.ts'
import interrupts from './http/routes/interrupts.ts'
import stream from './http/routes/stream.ts'
import observe from './http/routes/observe.ts'
import ui from './http/routes/ui.ts'
import problems from './http/routes/problems.ts'
import ioctl from './http/routes/ioctl.ts'
import irqs from './http/routes/irqs.ts'
import service from './http/routes/service.ts'
import metrics from './http/metrics.ts'
import admin from './http/routes/admin.ts'
import backup from './http/routes/backup.ts'
import tenancy from './http/tenancy.ts'
import { DEFAULT_BODY_LIMIT, DEFAULT_FLUSH_MS, DEFAULT_LIMITS, DEFAULT_VFIO_USER_DIR } from './config.ts'
import openapi from './http/openapi.ts'
import components, { buildSerializer } from './http/components.ts'
import { openDb, type SyncMode } from './store/db.ts'
import { DEFAULT_TRACE_RETENTION } from './store/trace.ts'
import { parseJsonBody } from './http/strict-input.ts'
import { buildValidator } from './http/validators.ts'
import vfioUser from './http/routes/vfio-user.ts'
import overload from './http/overload.ts'
import { VfioUserService } from './vfio-user/service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The whole engine: for the service's own wiring (health, metrics, tenancy, backup), not for routes. */
    engine: Engine
    /** What routes use of it (services.ts). */
    devices: DeviceService
    eventfds: EventfdService
    interrupts: InterruptService
    streams: StreamService
    /** Devices served over vfio-user (docs/model.md 14). */
    vfioUser: VfioUserService
  }
  interface FastifyContextConfig {
    /** A liveness or readiness probe: answered even under pressure. */
    probe?: boolean
  }
}

export interface AppOptions {
  /** SQLite file, or ':memory:'. */
  db: string
  /** Capacity of the host vector pool. */
  hostVectors: number
  /** synchronous=FULL (default) or NORMAL. */
  sync?: SyncMode
  logger?: FastifyServerOptions['logger']
  /** Largest request body accepted, in bytes (default DEFAULT_BODY_LIMIT). */
  bodyLimit?: number
  /** How often the interrupt path's counters are written to SQLite, in ms (0: only at close). */
  flushMs?: number
  /** Turns on bearer-token authentication and tenants; absent: one 'default' tenant, no auth. */
  adminToken?: string
  /** Open SSE/WebSocket streams per tenant (default DEFAULT_MAX_STREAMS). */
  maxStreams?: number
  /** What the instance holds at most, every tenant together (defaults: DEFAULT_LIMITS). */
  maxDevices?: number
  maxEventfds?: number
  maxTableEntries?: number
  /** Event-loop delay past which requests get 503 + Retry-After, and how often it is sampled. */
  maxEventLoopDelayMs?: number
  pressureSampleMs?: number
  /** While writes to the database fail, how often a write is tried to find out that they work again (ms). */
  storageProbeMs?: number
  /** Configuration trace entries kept per device (default 10,000); the oldest go first. */
  traceRetention?: number
  /** Slow and idle clients (defaults: TIMEOUTS). */
  timeouts?: Partial<Timeouts>
  /** Where vfio-user sockets are created (default DEFAULT_VFIO_USER_DIR). */
  vfioUserDir?: string
}

/**
 * How long a client may take, in ms: to send its request headers, to send the whole request
 * (headers and body), and to send its next request on an idle keep-alive connection. Node
 * checks the first two every `checkMs`, so a slow client is cut between the limit and the limit
 * plus `checkMs`. The keep-alive limit is a socket timeout to which Node adds 1 s (so that a
 * client never reuses a socket the server is closing): idle connections close keepAliveMs + 1 s
 * after their last response.
 * Open streams and long-polls are not requests being sent: these limits do not end them.
 */
export interface Timeouts { headersMs: number, requestMs: number, keepAliveMs: number, checkMs: number }
export const TIMEOUTS: Timeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, checkMs: 1000 }

export async function buildApp (opts: AppOptions) {
  const timeouts = { ...TIMEOUTS, ...opts.timeouts }
  const fastifyOptions: FastifyServerOptions & { http: ServerOptions } = {
    logger: opts.logger ?? false,
    // No per-request log lines: they cost a quarter of the throughput; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request either (pino's child() costs microseconds on every request);
    // the error handler names the request id itself.
    childLoggerFactory: (logger) => logger,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Slow and idle clients (SECURITY.md states these figures). Idle keep-alive outlives the
    // usual 60 s idle timeout of a proxy in front, so the proxy never reuses a closing socket.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeouts.checkMs },
    // Errors the router raises before any route (a malformed %-escape in the path) are
    // problem+json like every other error.
    frameworkErrors: (err, req, reply) => {
      sendProblem(reply, { type: '/problems/bad-url', title: 'Bad Request', status: 400, detail: err.message, instance: req.url, reason: 'bad-url' })
    },
    clientErrorHandler: clientError,
    schemaController: { compilersFactory: { buildValidator: buildValidator() as any, buildSerializer: buildSerializer() as any } }
  }
  const app = Fastify(fastifyOptions).withTypeProvider<TypeBoxTypeProvider>()

  const engine = new Engine(openDb(opts.db, opts.sync), opts.hostVectors, { storageProbeMs: opts.storageProbeMs })
  app.decorate('engine', engine)
  app.decorate('devices', deviceService(engine))
  app.decorate('eventfds', eventfdService(engine))
  app.decorate('interrupts', interruptService(engine))
  app.decorate('streams', streamService(engine))
  engine.repo.trace.retention = opts.traceRetention ?? DEFAULT_TRACE_RETENTION
  if ((opts.flushMs ?? DEFAULT_FLUSH_MS) > 0) engine.startFlusher(opts.flushMs ?? DEFAULT_FLUSH_MS)
  // Open streams would hold close() open: end them first; then flush and close the database.
  app.addHook('preClose', async () => engine.endStreams())
  app.addHook('onClose', async () => engine.close())
  const vfioUserService = new VfioUserService(engine, opts.vfioUserDir ?? DEFAULT_VFIO_USER_DIR)
  app.decorate('vfioUser', vfioUserService)
  // Triggers that named a vfio-user client's eventfds (not persisted) died with it.
  await vfioUserService.reapOrphans()
  // A client is disconnected (its interrupts torn down, durably) before the database closes.
  app.addHook('preClose', async () => vfioUserService.stopAll())

  await app.register(components)

  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req)
    if (isStorageProblem(problem)) {
      // Not ready until a write succeeds again; the client may retry (nothing was changed).
      engine.storageFailed(err)
      reply.header('retry-after', String(STORAGE_RETRY_AFTER_S))
      req.log.warn({ err, reqId: req.id, url: req.url }, 'storage fault')
    } else if (problem.status >= 500) req.log.error({ err, reqId: req.id, url: req.url }, 'request failed')
    return sendProblem(reply, problem)
  })
  // At debug level (--log-level debug), one line per request: method, route, status and
  // duration, never a body, a query string or a header (tokens travel in one). The hook only
  // exists at that level, so the default costs the request path nothing.
  const log = app.log as typeof app.log & { isLevelEnabled?: (level: string) => boolean }
  if (typeof log.isLevelEnabled === 'function' && log.isLevelEnabled('debug')) {
    app.addHook('onResponse', (req, reply, done) => {
      req.log.debug({ reqId: req.id, method: req.method, route: req.routeOptions.url ?? null, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request')
      done()
    })
  }
  app.setNotFoundHandler(routeNotFound)

  // An empty JSON body is "no body": routes without a body schema accept it, the others
  // answer with a validation problem instead of a parser error.
  // Only JSON bodies: text/plain would reach validation as a string; answer 415 instead.
  app.removeContentTypeParser('text/plain')
  app.removeContentTypeParser('application/json')
  // UTF-8 only (415 for another charset); bytes and strings must be valid Unicode (400).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseJsonBody(req, body as Buffer))
    } catch (err) {
      done(err as Error, undefined)
    }
  })

  await app.register(tenancy, {
    adminToken: opts.adminToken,
    maxStreams: opts.maxStreams,
    instanceLimits: {
      devices: opts.maxDevices ?? DEFAULT_LIMITS.devices,
      eventfds: opts.maxEventfds ?? DEFAULT_LIMITS.eventfds,
      tableEntries: opts.maxTableEntries ?? DEFAULT_LIMITS.tableEntries
    }
  })
  await app.register(openapi)
  await app.register(metrics)
  await app.register(service)
  await app.register(devices)
  await app.register(parents)
  await app.register(irqs)
  await app.register(ioctl)
  await app.register(eventfds)
  await app.register(interrupts)
  await app.register(events)
  await app.register(observe)
  await app.register(stream)
  await app.register(admin)
  await app.register(backup)
  await app.register(vfioUser)
  await app.register(ui)
  await app.register(problems)
  // Overload: when the event loop lags past a second, answer 503 + Retry-After instead of
  // queueing more work; /healthz and /readyz keep answering (they are how operators look).
  // Registered last, so that the loop delay of loading everything above is not counted.
  await app.register(overload, { maxEventLoopDelayMs: opts.maxEventLoopDelayMs ?? 1000, sampleMs: opts.pressureSampleMs ?? 1000 })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
