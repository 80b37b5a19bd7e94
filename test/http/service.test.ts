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
