import t from 'tap'
import { build } from '../helper.ts'

t.test('GET /healthz answers ok', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /readyz is ready while the database answers', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
})

t.test('GET /v1/host reports the pool', async (t) => {
  const app = await build(t, { hostVectors: 17 })
  const res = await app.inject({ method: 'GET', url: '/v1/host' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { hostVectors: { capacity: 17, used: 0, free: 17 }, devices: 0, eventfds: 0 })
})

t.test('unknown routes answer problem+json 404', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /application\/problem\+json/)
  t.equal(res.json().reason, 'route-not-found')
})

t.test('overload: a saturated event loop answers 503 problem+json with Retry-After; /healthz still answers', async (t) => {
  const { buildApp } = await import('../../src/app.ts')
  const app = await buildApp({ db: ':memory:', hostVectors: 8, maxEventLoopDelayMs: 20, pressureSampleMs: 25 })
  t.teardown(() => app.close())
  await app.ready()
  // Saturate: block the loop 100 ms at a time (the guard samples the delay on its own
  // timer) and ask in between, until it notices or 5 s have passed.
  let res = await app.inject({ method: 'GET', url: '/v1/host' })
  t.equal(res.statusCode, 200, 'not overloaded at first')
  for (const end = Date.now() + 5000; res.statusCode !== 503 && Date.now() < end;) {
    const until = Date.now() + 100
    while (Date.now() < until) { /* saturate */ }
    await new Promise((resolve) => setImmediate(resolve))
    res = await app.inject({ method: 'GET', url: '/v1/host' })
  }
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.json().reason, 'overloaded')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
})
