import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { App } from '../../src/app.ts'
import { applyToModel, createDevice, createEventfd, fireOk, flushCounters, getJson, ok, setIrqs, storeDb, tempDir, triggerFds, until } from '../helper.ts'
import { openApp } from './lib.ts'

// Storage faults while the service runs, made real: the database file made read-only
// (chattr +i: root ignores permission bits, not the immutable flag) and a full database
// (PRAGMA max_page_count caps it: SQLITE_FULL, as a full disk gives). While writes fail:
// every write answers 503 (507 when full) problem+json with Retry-After and changes nothing,
// /readyz answers 503, and interrupt-path state acknowledged before (eventfd counters and
// interrupt counters moved by fires) is not rolled back by the failed commit of another
// operation. When the fault clears the service is ready again without a restart, and a
// restart finds every acknowledged change and none of the refused ones.

interface Fault {
  name: string
  status: number
  reason: string
  /** Whether a write that needs no new page (an eventfd write) fails too. */
  inPlace: boolean
  /** Makes writes fail (a full database still takes rows until its last page is full). */
  inject: (app: App, file: string) => void
  clear: (app: App, file: string) => void
}

const chattr = (flag: string, file: string): void => {
  const files = [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f))
  execFileSync('chattr', [flag, ...files])
}

const FAULTS: Fault[] = [
  {
    name: 'the database file made read-only (chattr +i)',
    status: 503,
    reason: 'storage-unavailable',
    inPlace: true,
    inject: (_app, file) => chattr('+i', file),
    clear: (_app, file) => chattr('-i', file)
  },
  {
    name: 'the database full (max_page_count: SQLITE_FULL)',
    status: 507,
    reason: 'storage-full',
    inPlace: false,
    inject: (app) => {
      const pages = storeDb(app).pragma('page_count', { simple: true }) as number
      storeDb(app).pragma(`max_page_count = ${pages}`)
    },
    clear: (app) => { storeDb(app).pragma('max_page_count = 1073741823') }
  }
]

const vector0 = async (app: App, id: string) => (await getJson(app, `/v1/devices/${id}/irqs/msix/vectors`)).items[0]

for (const fault of FAULTS) {
  t.test(fault.name, async (t) => {
    const file = join(tempDir(t), 'virq.db')
    t.teardown(() => { try { chattr('-i', file) } catch {} })
    const app = await openApp(t, file)
    const efd = await createEventfd(app, { label: 'vec0' })
    const dev = await createDevice(app, { name: 'nic0', msix: { tableSize: 8 } })
    await setIrqs(app, dev, 'msix', triggerFds(0, [efd]))
    await fireOk(app, dev, { index: 'msix', vector: 0, count: 1000 })
    flushCounters(app) // 1000 is on disk
    await fireOk(app, dev, { index: 'msix', vector: 0, count: 50 }) // 1050 only in memory, answered
    t.equal((await getJson(app, `/v1/eventfds/${efd}`)).value, 1050)

    fault.inject(app, file)
    // The first write that does not fit (a full database takes rows until its last page is full).
    let refused
    let created = 0
    for (let i = 0; i < 5000 && refused === undefined; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/devices', payload: { name: `filler-${i}-${'y'.repeat(100)}`, msix: { tableSize: 4 } } })
      if (res.statusCode === 201) created++
      else refused = res
    }
    if (refused === undefined) throw new Error('no write failed')
    t.equal(refused.statusCode, fault.status, `a write answers ${fault.status}`)
    t.match(refused.headers['content-type'], /^application\/problem\+json/)
    t.match(refused.json(), { status: fault.status, reason: fault.reason })
    t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After')
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    t.equal(ready.statusCode, 503, '/readyz: not ready while writes fail')
    t.match(ready.json(), { reason: 'not-ready' })

    // Acknowledged interrupt-path state survives the failed commit; the failed operations change nothing.
    t.equal((await getJson(app, `/v1/eventfds/${efd}`)).value, 1050, 'the eventfd counter keeps what fires added')
    t.match(await vector0(app, dev), { fired: 1050, delivered: 1050 }, 'so do the interrupt counters')
    // An operation that writes the eventfd and creates devices (more than the last pages
    // hold) fails as a whole: the counter is as before it.
    const caps = { pcie: false, reset: false, intx: false, msiVectors: 0, msixTableSize: 4, msixDynamic: true }
    const both = applyToModel(app, (world, fx) => {
      world.writeEventfd(world.eventfds.get(efd, 'default')!, 7, fx)
      for (let i = 0; i < 100; i++) world.addDevice(`refused-${i}`, 'r'.repeat(128), new Date().toISOString(), 'linux-6.12', caps, fx)
    })
    await t.rejects(both, { code: fault.status === 507 ? 'SQLITE_FULL' : /^SQLITE_/ }, 'its commit fails')
    t.equal((await getJson(app, `/v1/eventfds/${efd}`)).value, 1050, 'the failed operation is undone, and only it')
    t.equal((await app.inject({ method: 'GET', url: '/v1/devices/refused-0' })).statusCode, 404)
    if (fault.inPlace) {
      const write = await app.inject({ method: 'POST', url: `/v1/eventfds/${efd}/write`, payload: { value: 7 } })
      t.equal(write.statusCode, fault.status, 'an eventfd write fails too')
      t.equal((await getJson(app, `/v1/eventfds/${efd}`)).value, 1050, 'and changes nothing')
      const del = await app.inject({ method: 'DELETE', url: `/v1/devices/${dev}` })
      t.equal(del.statusCode, fault.status, 'so does a device delete')
      t.match(await vector0(app, dev), { fired: 1050, delivered: 1050, trigger: efd }, 'the device is back whole, with the counters of its fires')
    }
    const devices = (await getJson(app, '/v1/devices?limit=1000')).items.length
    t.equal(devices, 1 + created, 'the refused device does not exist')
    // The interrupt path goes on (it writes on its own schedule).
    await fireOk(app, dev, { index: 'msix', vector: 0, count: 10 })
    t.equal((await getJson(app, `/v1/eventfds/${efd}`)).value, 1060)

    fault.clear(app, file)
    await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, '/readyz to answer 200', 20_000)
    t.pass('ready again without a restart')
    await createDevice(app, { name: 'after' })
    const read = await ok(app, 'POST', `/v1/eventfds/${efd}/read`)
    t.equal(read.value, 1060, 'a read takes everything the fires added')
    await fireOk(app, dev, { index: 'msix', vector: 0, count: 5 })

    await app.closeOnce()
    const again = await openApp(t, file)
    t.equal((await getJson(again, `/v1/eventfds/${efd}`)).value, 5, 'after a restart: the counter as answered')
    t.match(await vector0(again, dev), { fired: 1065, delivered: 1065 }, 'and the interrupt counters')
    const names = (await getJson(again, '/v1/devices?limit=1000')).items.map((d: { name: string }) => d.name)
    t.equal(names.length, 2 + created, 'every device answered 201, and no other')
    t.ok(names.includes('after'))
  })
}
