// Bugs the fuzz tests in this directory found, kept as regression tests (both fixed). Found
// by the fuzzers; each test is named after its finding.
import t from 'tap'
import { build } from '../helper.ts'

// F1. docs/architecture.md, HTTP conventions: "Errors are RFC 9457 problem details
// (application/problem+json)". A path with a malformed percent-encoding is answered by
// fastify's default error format instead: 400, application/json,
// {"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"'/v1/devices/%ff' is not a valid url component","statusCode":400}.
// The router rejects the URL before routing, so neither setErrorHandler nor setNotFoundHandler
// sees it (fastify's `frameworkErrors` option is the hook for it).
// Steps: GET /v1/devices/%ff (or %zz, %, %C0%AF; any route, any method).
// Found by test/fuzz/http-fuzz.test.ts (which tolerates exactly this case until it is fixed).
t.test('F1: a path that is not valid percent-encoding answers problem+json', async (t) => {
  const app = await build(t)
  for (const url of ['/v1/devices/%ff', '/v1/devices/%zz/irqs', '/v1/eventfds/%', '/%C0%AF']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 400, `${url}: 400`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${url}: problem+json`)
    const p = res.json()
    t.equal(p.status, 400, `${url}: problem.status`)
    t.type(p.reason, 'string', `${url}: a reason`)
  }
})

// F2. An INTx whose trigger eventfd is also its unmask eventfd recurses without bound when
// the line is high: raiseIntx signals the trigger, the unmask watcher (runUnmaskWatchers)
// consumes it and unmasks, the line is still high so raiseIntx runs again, and so on until
// "RangeError: Maximum call stack size exceeded". The request answers 500, and the interrupt
// counters are left half-written (fired 1629, delivered 0, lost 0: fired != delivered + lost).
// Every later unmask of that device answers 500 too (and, through Engine.apply, reloads the
// world, failing every other request of the same group commit). The kernel does not recurse
// here: eventfd_signal() refuses to run inside another eventfd wakeup (current->in_eventfd)
// and the virqfd's re-signal runs from a workqueue.
// Steps: POST /v1/devices {"intx":true}; POST /v1/eventfds → E;
//   POST .../irqs/intx {"action":"trigger","start":0,"count":1,"data":{"type":"eventfd","fds":[E]}};
//   POST .../irqs/intx {"action":"unmask","start":0,"count":1,"data":{"type":"eventfd","fds":[E]}};
//   POST .../interrupts {"index":"intx","level":"assert"} → 500.
// Found by test/fuzz/model-invariants.test.ts (pure model: World + driveIntx).
t.test('F2: INTx with the same eventfd as trigger and unmask eventfd: an assert is not a 500', async (t) => {
  const app = await build(t)
  const post = async (url: string, payload: object) => await app.inject({ method: 'POST', url, payload })
  const id = (await post('/v1/devices', { intx: true })).json().id
  const e = (await post('/v1/eventfds', {})).json().fd
  t.equal((await post(`/v1/devices/${id}/irqs/intx`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } })).statusCode, 200)
  t.equal((await post(`/v1/devices/${id}/irqs/intx`, { action: 'unmask', start: 0, count: 1, data: { type: 'eventfd', fds: [e] } })).statusCode, 200)
  const fire = await post(`/v1/devices/${id}/interrupts`, { index: 'intx', level: 'assert' })
  t.ok(fire.statusCode < 500, `assert answers ${fire.statusCode}`, { body: fire.body.slice(0, 300) })
  const v = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/intx/vectors` })).json().items[0]
  t.equal(v.fired, v.delivered + v.lost, `fired ${v.fired} = delivered ${v.delivered} + lost ${v.lost}`)
  const unmask = await post(`/v1/devices/${id}/irqs/intx`, { action: 'unmask', start: 0, count: 1, data: { type: 'none' } })
  t.ok(unmask.statusCode < 500, `a later unmask answers ${unmask.statusCode}`, { body: unmask.body.slice(0, 300) })
})
