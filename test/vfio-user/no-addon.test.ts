import t from 'tap'
import { buildApp } from '../../src/app.ts'

// Without the native addon (a machine where it did not build), virq starts and serves HTTP as
// before; only starting vfio-user fails, with a problem that says why (docs/model.md 14).

process.env.VIRQ_VFIO_USER_ADDON = '/nonexistent/vfio_user_io.node'

t.test('without the addon: the service works, and starting vfio-user answers 503 vfio-user-unavailable', async (t) => {
  const app = await buildApp({ db: ':memory:', hostVectors: 16, maxEventLoopDelayMs: 0 })
  t.teardown(() => app.close())
  const dev = await app.inject({ method: 'POST', url: '/v1/devices', payload: { msix: { tableSize: 4 } } })
  t.equal(dev.statusCode, 201)
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${dev.json().id}/vfio-user` })
  t.equal(res.statusCode, 503)
  t.equal(res.json().reason, 'vfio-user-unavailable')
  t.match(res.json().detail, /nonexistent/)
  t.equal((await app.inject({ url: `/v1/devices/${dev.json().id}/vfio-user` })).statusCode, 404, 'nothing is served')
})
