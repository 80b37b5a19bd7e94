import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { sendProblem } from './problem.ts'

// The overload guard: when the event loop lags past a limit, requests get 503 + Retry-After
// instead of queueing more work; probes (route config `probe`) keep answering, since they are
// how operators look. It samples the loop delay as @fastify/under-pressure did (a histogram
// at 10 ms resolution, its mean read and reset every sample period), but its hook on every
// request only compares two numbers: under-pressure read `req.routeOptions` on every request,
// a getter that builds an object of eleven fields each time, to find a per-route handler
// virq never sets. The route's config is read only once the loop is over the limit.

export interface OverloadOptions {
  /** Event-loop delay (ms) past which requests are refused; 0 turns the guard off (no hook, no timer). */
  maxEventLoopDelayMs: number
  /** How often the delay is sampled (ms). */
  sampleMs: number
}

/** The histogram's resolution (ms); its mean includes it, so it is taken off. */
const RESOLUTION_MS = 10

async function overload (app: FastifyInstance, opts: OverloadOptions): Promise<void> {
  const max = opts.maxEventLoopDelayMs
  if (!(max > 0)) return
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  let delay = 0
  // A period without a sample (a loop blocked for all of it) reads NaN: that is Infinity, not 0.
  const sample = (): void => {
    delay = Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS)
    if (Number.isNaN(delay)) delay = Infinity
    histogram.reset()
    timer.refresh()
  }
  const timer = setTimeout(sample, Math.max(RESOLUTION_MS, opts.sampleMs))
  timer.unref()
  app.addHook('onClose', async () => {
    clearTimeout(timer)
    histogram.disable()
  })
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (delay <= max || req.routeOptions.config?.probe === true) return done()
    reply.header('retry-after', '1')
    sendProblem(reply, {
      type: '/problems/overloaded',
      title: 'Service Unavailable',
      status: 503,
      instance: req.url,
      reason: 'overloaded',
      detail: `virq is overloaded (eventLoopDelay ${Math.round(delay)}); retry after a second`
    })
  })
}

export default fp(overload, { name: 'virq-overload' })
