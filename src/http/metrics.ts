import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, onResponseHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { IRQ_INDEX_NAMES } from '../core/constants.ts'
import { RouteHistogram, type Series } from './route-histogram.ts'
import { LOST_REASONS } from '../core/counters.ts'
import type { InterruptTotals } from '../core/totals.ts'

/**
 * GET /metrics in Prometheus text. Each app has its own registry (several apps may share a
 * process in tests). Model figures are read at scrape time from totals the model keeps (a few
 * additions on the interrupt path), so a scrape costs the same however many devices there are.
 */
async function metrics (app: FastifyInstance): Promise<void> {
  const { engine } = app
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const http = new RouteHistogram()
  registry.registerMetric(http.asMetric())
  // Each route gets its own hook holding its labels and its series per status: the request
  // path does no label hashing, no routeOptions lookup (which allocates) and no allocation.
  app.addHook('onRoute', (route) => {
    const url = route.url
    const method = String(route.method)
    const byStatus = new Map<number, Series>()
    const observe: onResponseHookHandler = (_req, reply, done) => {
      let series = byStatus.get(reply.statusCode)
      if (series === undefined) {
        series = http.create(url, method, reply.statusCode)
        byStatus.set(reply.statusCode, series)
      }
      series.observe(reply.elapsedTime / 1000)
      done()
    }
    const existing = route.onResponse
    route.onResponse = existing === undefined ? [observe] : [...(Array.isArray(existing) ? existing : [existing]), observe]
  })

  // Interrupt figures are running totals the model keeps as its counters change: a scrape
  // reads 5 numbers per metric, however many devices and vectors there are.
  const byIndex = (name: string, help: string, pick: (t: InterruptTotals) => Float64Array) => new Counter({
    name,
    help,
    labelNames: ['index'],
    registers: [registry],
    collect () {
      this.reset()
      pick(engine.world.totals).forEach((n, i) => this.inc({ index: IRQ_INDEX_NAMES[i] }, n))
    }
  })
  byIndex('virq_interrupts_fired_total', 'Device-originated interrupts fired', (t) => t.fired)
  byIndex('virq_interrupts_delivered_total', 'Interrupts that signalled a trigger eventfd', (t) => t.delivered)
  byIndex('virq_interrupts_pended_total', 'Fires on a masked vector that set its pending bit', (t) => t.pended)
  byIndex('virq_interrupts_coalesced_total', 'Fires on a masked vector that joined a pending bit already set', (t) => t.coalesced)
  byIndex('virq_interrupts_delivered_from_pending_total', 'Pending messages sent when their vector was unmasked', (t) => t.deliveredFromPending)
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'virq_vectors_pending',
    help: 'Vectors whose pending bit is set now, by index',
    labelNames: ['index'],
    registers: [registry],
    collect () {
      this.reset()
      engine.world.totals.pending.forEach((n, i) => this.set({ index: IRQ_INDEX_NAMES[i] }, n))
    }
  })
  // eslint-disable-next-line no-new
  new Counter({
    name: 'virq_interrupts_lost_total',
    help: 'Interrupts lost, by index and reason',
    labelNames: ['index', 'reason'],
    registers: [registry],
    collect () {
      this.reset()
      const { lost } = engine.world.totals
      LOST_REASONS.forEach((reason, r) => lost[r].forEach((n, i) => this.inc({ index: IRQ_INDEX_NAMES[i], reason }, n)))
    }
  })
  // eslint-disable-next-line no-new
  new Counter({
    name: 'virq_eventfd_signals_total',
    help: 'Signals added to eventfds (interrupts delivered, loopback, writes)',
    registers: [registry],
    collect () {
      this.reset()
      this.inc(engine.world.eventfds.signals)
    }
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'virq_stream_subscribers',
    help: 'Eventfd readers on open SSE and WebSocket streams',
    registers: [registry],
    collect () { this.set(engine.readers.size) }
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'virq_eventfd_reads_waiting',
    help: 'Long-poll reads waiting for an eventfd to become readable',
    registers: [registry],
    collect () { this.set(engine.waiting) }
  })
  // One metric per meaning (a gauge summed over a `state` label would add capacity to use).
  const poolGauge = (name: string, help: string, read: () => number) => new Gauge({
    name, help, registers: [registry], collect () { this.set(read()) }
  })
  poolGauge('virq_host_vectors_capacity', 'Host vectors in the pool (--host-vectors)', () => engine.world.pool.capacity)
  poolGauge('virq_host_vectors_used', 'Host vectors held by devices now', () => engine.world.pool.used)
  // One series per parent in each: a scrape reads two numbers a parent, never the devices (docs/model.md 13).
  const slotGauge = (name: string, help: string, read: (p: { used: number, imsSlots: number }) => number) => new Gauge({
    name,
    help,
    labelNames: ['parent', 'name'],
    registers: [registry],
    collect () {
      this.reset()
      for (const p of engine.world.parents.values()) this.set({ parent: p.id, name: p.name }, read(p))
    }
  })
  slotGauge('virq_ims_slots_capacity', 'IMS slots in each parent\'s store', (p) => p.imsSlots)
  slotGauge('virq_ims_slots_used', 'IMS slots of each parent held by its virtual devices\' vectors', (p) => p.used)
  const flush = new Histogram({
    name: 'virq_sqlite_flush_seconds',
    help: 'Duration of each flush of interrupt-path state to SQLite',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
    registers: [registry]
  })
  engine.onFlush = (seconds) => flush.observe(seconds)

  const schema = { operationId: 'metrics', summary: 'Prometheus metrics', tags: ['service'], produces: ['text/plain'] }
  app.get('/metrics', { schema: schema as FastifySchema, config: { access: 'admin' } }, async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.type(registry.contentType)
    return await registry.metrics()
  })
}

export default fp(metrics, { name: 'virq-metrics' })
