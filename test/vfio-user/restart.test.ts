import { openSync } from 'node:fs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { applyToModel, deviceModel } from '../helper.ts'

// External eventfds (a vfio-user client's) are not persisted: they die with the connection
// (docs/model.md 14). A restart finds triggers that named them and tears those devices down as
// a disconnect would, so that no trigger names an eventfd that does not exist.

t.test('after a restart, a device whose triggers named a client\'s eventfds is torn down; nothing external is listed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'virq-vu-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = join(dir, 'virq.db')
  const app = await buildApp({ db, hostVectors: 64, maxEventLoopDelayMs: 0, vfioUserDir: join(dir, 'vu') })
  await app.ready()
  const dev = (await app.inject({ method: 'POST', url: '/v1/devices', payload: { msix: { tableSize: 4 } } })).json()
  const own = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json()
  const hostFd = openSync('/dev/null', 'w')
  const model = deviceModel(app, dev.id)
  if (model === undefined) throw new Error('device missing')
  await applyToModel(app, (world, fx) => {
    const efd = world.eventfds.create({ semaphore: false, label: 'client', createdAt: new Date().toISOString(), owner: model.owner, hostFd })
    fx.eventfd(efd)
    world.setIrqs(model, { argsz: 28, flags: 0x24, index: 2, start: 0, count: 2, data: [efd.fd, own.fd] }, fx)
  })
  const listed = (await app.inject({ url: '/v1/eventfds' })).json().items
  t.same(listed.map((e: { external?: boolean }) => e.external === true), [false, true], 'the external one is listed while it lives')
  t.equal((await app.inject({ url: `/v1/devices/${dev.id}` })).json().irqType, 'msix')
  await app.close()

  const again = await buildApp({ db, hostVectors: 64, maxEventLoopDelayMs: 0, vfioUserDir: join(dir, 'vu') })
  t.teardown(() => again.close())
  await again.ready()
  t.equal((await again.inject({ url: `/v1/devices/${dev.id}` })).json().irqType, 'none', 'torn down as a disconnect')
  const after = (await again.inject({ url: '/v1/eventfds' })).json().items
  t.same(after.map((e: { fd: number }) => e.fd), [own.fd], 'only the tenant\'s own eventfd is left')
  t.same((await again.inject({ url: `/v1/eventfds/${own.fd}` })).json().bindings, [], 'and it is no longer bound')
})
