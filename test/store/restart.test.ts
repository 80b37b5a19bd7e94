import Database from 'better-sqlite3'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { type App, build, createDevice, fireOk, createEventfd, getJson, ok, setIrqs, snapshot, type Tap, tempDir, type TestApp, triggerFds } from '../helper.ts'

// Everything the API shows survives a restart on the same database file, and eventfd numbers
// are never reused across it.

const HOST_VECTORS = 64

/** An app on `file`, closed at the end of the test unless the test closed it first (closeOnce). */
const open = async (t: Tap, file: string): Promise<TestApp> => await build(t, { db: file, hostVectors: HOST_VECTORS })

const none = (start: number, count: number, action = 'trigger') => ({ action, start, count, data: { type: 'none' } })

/** Every kind of state the API can hold. Returns names for later checks and every fd issued. */
async function buildRichState (app: App) {
  const issued: number[] = []
  const efd = async (body: object = {}): Promise<number> => {
    const fd = await createEventfd(app, body)
    issued.push(fd)
    return fd
  }
  const q0 = await efd({ label: 'dyn-q0' })
  const q3 = await efd({ label: 'dyn-q3' })
  const q9 = await efd()
  const gone1 = await efd({ label: 'to be deleted' })
  const s0 = await efd({ label: 'static-q0' })
  const s3 = await efd()
  const msi = await efd({ label: 'msi' })
  const intxTrig = await efd()
  const unmask = await efd({ label: 'unmask' })
  const errFd = await efd({ label: 'err' })
  const sem = await efd({ semaphore: true, label: 'req-sem' })
  const unbound = await efd({ semaphore: true })
  const forced = await efd({ label: 'force-closed while bound' })

  // linux-6.12, dynamic MSI-X: enabled with one vector, then vectors added one at a time.
  const dyn = await createDevice(app, { name: 'dyn', abi: 'linux-6.12', pcie: true, reset: true, msix: { tableSize: 64 } })
  await setIrqs(app, dyn, 'msix', triggerFds(0, [q0]))
  await setIrqs(app, dyn, 'msix', triggerFds(3, [q3]))
  await setIrqs(app, dyn, 'msix', triggerFds(9, [q9]))
  await setIrqs(app, dyn, 'msix', triggerFds(12, [q9]))
  await setIrqs(app, dyn, 'msix', triggerFds(12, [-1])) // allocated, no trigger
  await setIrqs(app, dyn, 'msix', triggerFds(5, [forced]))
  await setIrqs(app, dyn, 'err', triggerFds(0, [errFd]))
  await setIrqs(app, dyn, 'msix', none(0, 64)) // loopback: q0, q3 = 1, q9 = 1
  await setIrqs(app, dyn, 'msix', none(0, 10)) // q0, q3 = 2, q9 = 2

  // linux-6.1, NORESIZE: enable 2, then disable and re-enable with 4 to reach vector 3.
  const stat = await createDevice(app, { name: 'static', abi: 'linux-6.1', pcie: true, msix: { tableSize: 16 } })
  await setIrqs(app, stat, 'msix', triggerFds(0, [s0, -1]))
  await setIrqs(app, stat, 'msix', none(0, 0))
  await setIrqs(app, stat, 'msix', triggerFds(0, [s0, -1, -1, s3]))
  await setIrqs(app, stat, 'req', triggerFds(0, [sem]))

  // MSI with 8 vectors, one eventfd on two of them.
  const msiDev = await createDevice(app, { name: 'msi', abi: 'linux-6.12', msi: { vectors: 8 }, msix: { tableSize: 4, dynamic: false } })
  await setIrqs(app, msiDev, 'msi', triggerFds(0, [msi, -1, msi, -1, -1, -1, -1, -1]))

  // INTx: enabled, masked, an unmask eventfd, ERR and REQ triggers.
  const intx = await createDevice(app, { name: 'intx', abi: 'linux-6.1', intx: true, pcie: true, reset: true })
  await setIrqs(app, intx, 'intx', triggerFds(0, [intxTrig]))
  await setIrqs(app, intx, 'intx', none(0, 1, 'mask'))
  await setIrqs(app, intx, 'intx', { action: 'unmask', start: 0, count: 1, data: { type: 'eventfd', fds: [unmask] } })
  await setIrqs(app, intx, 'err', triggerFds(0, [errFd]))
  await setIrqs(app, intx, 'req', triggerFds(0, [sem]))
  await setIrqs(app, intx, 'intx', none(0, 1)) // loopback: intxTrig = 1

  // A device that comes and goes (its host vectors return), one that stays idle.
  const doomed = await createDevice(app, { name: 'doomed', msix: { tableSize: 8 } })
  await setIrqs(app, doomed, 'msix', triggerFds(0, [q0, q3]))
  await ok(app, 'DELETE', `/v1/devices/${doomed}`)
  const idle = await createDevice(app, { name: 'idle' })

  // Counters: writes, a semaphore read, a deleted eventfd in the middle and one at the end.
  await ok(app, 'POST', `/v1/eventfds/${sem}/write`, { value: 5 })
  await ok(app, 'POST', `/v1/eventfds/${sem}/read`) // 5 -> 4
  await ok(app, 'POST', `/v1/eventfds/${msi}/write`, { value: 41 })
  await ok(app, 'POST', `/v1/eventfds/${unbound}/write`, { value: 3 })
  await ok(app, 'DELETE', `/v1/eventfds/${gone1}`)
  await ok(app, 'DELETE', `/v1/eventfds/${forced}?force=true`) // vector 5 keeps its host vector, loses its trigger
  const last = await efd({ label: 'highest, deleted' })
  await ok(app, 'DELETE', `/v1/eventfds/${last}`)
  return { issued, dyn, stat, msiDev, intx, idle, doomed, q0, q9, unmask, intxTrig, msi, sem, gone1, last }
}

t.test('a rich state survives a restart exactly', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const app1 = await open(t, file)
  const s = await buildRichState(app1)
  const before = await snapshot(app1, { pageSize: 2 })

  // The state is as rich as intended, or the comparison below proves little.
  const byName = Object.fromEntries(before.devices.map((d: any) => [d.device.name, d]))
  t.same(Object.keys(byName).sort(), ['dyn', 'idle', 'intx', 'msi', 'static'])
  t.same(byName.dyn.vectors.msix.items.filter((v: any) => v.allocated).map((v: any) => v.vector), [0, 3, 5, 9, 12], 'dynamic vectors, one at a time')
  t.equal(byName.dyn.vectors.msix.items[5].trigger, null, 'vector 5 lost its force-closed trigger')
  t.equal(byName.dyn.device.irqType, 'msix')
  t.same(byName.static.vectors.msix.items.filter((v: any) => v.allocated).map((v: any) => [v.vector, v.trigger]),
    [[0, s.issued[4]], [1, null], [2, null], [3, s.issued[5]]], 'static MSI-X re-enabled with 4')
  t.equal(byName.msi.device.irqType, 'msi')
  t.match(byName.intx.irqs.find((i: any) => i.name === 'intx'), { enabled: true, masked: true, unmaskEventfd: s.unmask, trigger: s.intxTrig })
  t.match(byName.intx.irqs.find((i: any) => i.name === 'err'), { enabled: true })
  t.equal(before.host.hostVectors.used, 5 + 4 + 8, 'host vectors in use')
  const values = Object.fromEntries(before.eventfds.map((e: any) => [e.fd, e.value]))
  t.equal(values[s.q0], 2)
  t.equal(values[s.msi], 41)
  t.equal(values[s.sem], 4)
  t.notOk(s.gone1 in values, 'a deleted eventfd')
  t.notOk(s.last in values, 'the highest number was deleted too')
  t.ok(before.eventfds.some((e: any) => e.semaphore === true && e.bindings.length > 0))

  await app1.closeOnce()
  const app2 = await open(t, file)
  const after = await snapshot(app2, { pageSize: 2 })
  t.strictSame(after, before, 'every device, irq, vector, eventfd and the host are as they were')
  t.strictSame(await snapshot(app2, { pageSize: 100 }), before, 'the same through one page')

  // Numbers are never reused: not the deleted ones, not the highest deleted one.
  const fresh = await createEventfd(app2)
  t.ok(s.issued.every((fd) => fresh > fd), `new eventfd ${fresh} is above every number issued (${Math.max(...s.issued)})`)
  t.equal(fresh, s.last + 1)

  // Derived state was rebuilt, not just the rows: the unmask eventfd still unmasks,
  // the pool still counts, linux-6.1 still knows its enabled range.
  await ok(app2, 'POST', `/v1/eventfds/${s.unmask}/write`, { value: 1 })
  const intxIrq = await getJson(app2, `/v1/devices/${s.intx}/irqs/intx`)
  t.equal(intxIrq.masked, false, 'the unmask eventfd unmasked INTx after the restart')
  t.equal((await getJson(app2, `/v1/eventfds/${s.unmask}`)).value, 0, 'and consumed the write')
  const beyond = await app2.inject({ method: 'POST', url: `/v1/devices/${s.stat}/irqs/msix`, payload: triggerFds(4, [fresh]) })
  t.equal(beyond.statusCode, 400)
  t.equal(beyond.json().reason, 'beyond-enabled-vectors', 'linux-6.1 enabled range restored')
  await setIrqs(app2, s.dyn, 'msix', triggerFds(20, [fresh]))
  t.equal((await getJson(app2, '/v1/host')).hostVectors.used, 18, 'a dynamic vector more')
  await setIrqs(app2, s.dyn, 'msix', none(0, 0))
  t.equal((await getJson(app2, '/v1/host')).hostVectors.used, 12, 'disable returns all six')
  t.equal((await app2.inject({ method: 'GET', url: `/v1/devices/${s.doomed}` })).statusCode, 404, 'the deleted device stays deleted')

  // And the restart after that keeps the new state too.
  const again = await snapshot(app2)
  await app2.closeOnce()
  const app3 = await open(t, file)
  t.strictSame(await snapshot(app3), again, 'second restart')
  t.ok(await createEventfd(app3) > fresh)
})

t.test('13 parents, IMS slots and backings survive a restart exactly', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const app1 = await open(t, file)
  const e = await createEventfd(app1)
  const full = (await ok(app1, 'POST', '/v1/parents', { name: 'dsa0', imsSlots: 3 })).id
  const spare = (await ok(app1, 'POST', '/v1/parents', { name: 'dsa1', imsSlots: 8 })).id
  const gone = (await ok(app1, 'POST', '/v1/parents', { name: 'gone', imsSlots: 1 })).id
  await ok(app1, 'DELETE', `/v1/parents/${gone}`)
  const a = await createDevice(app1, { name: 'wq-a', template: 'idxd-vdev', parent: full, msix: { tableSize: 8, emulated: [0, 7] } })
  const b = await createDevice(app1, { name: 'wq-b', template: 'idxd-vdev', parent: full, abi: 'linux-6.1' })
  await createDevice(app1, { name: 'wq-idle', template: 'idxd-vdev', parent: spare })
  await setIrqs(app1, a, 'msix', triggerFds(0, [e, e, -1, e, -1, -1, -1, e])) // 0, 7 emulated; 1, 3 slots
  await setIrqs(app1, a, 'msix', triggerFds(5, [e])) // a third slot, beyond the enable block
  await setIrqs(app1, a, 'msix', triggerFds(3, [-1])) // gives one back
  await setIrqs(app1, b, 'msix', triggerFds(0, [e, e])) // the store's last slot
  const busy = await app1.inject({ method: 'POST', url: `/v1/devices/${a}/irqs/msix`, payload: triggerFds(2, [e]) })
  t.equal(busy.statusCode, 409)
  t.equal(busy.json().errno, 'EBUSY')
  const before = await snapshot(app1)
  const parentsBefore = Object.fromEntries(before.parents.items.map((p: any) => [p.name, p]))
  t.same(Object.keys(parentsBefore).sort(), ['dsa0', 'dsa1'])
  t.same(parentsBefore.dsa0.slots, { total: 3, used: 3, free: 0 })
  t.same(parentsBefore.dsa0.devices.map((d: any) => [d.name, d.slots]), [['wq-a', 2], ['wq-b', 1]])
  t.same(parentsBefore.dsa1.devices.map((d: any) => [d.name, d.slots]), [['wq-idle', 0]])
  const backings = before.devices.find((d: any) => d.device.name === 'wq-a').vectors.msix.items.map((v: any) => v.backing)
  t.same(backings, ['emulated', 'ims', null, null, null, 'ims', null, 'emulated'])
  t.equal(before.host.hostVectors.used, 3, 'a host vector per slot, none for emulated vectors')

  await app1.closeOnce()
  const app2 = await open(t, file)
  t.strictSame(await snapshot(app2), before, 'parents, slots, backings, devices and the host as they were')
  // Derived state was rebuilt: the store is still full, fd -1 still frees a slot for another device.
  const still = await app2.inject({ method: 'POST', url: `/v1/devices/${a}/irqs/msix`, payload: triggerFds(2, [e]) })
  t.equal(still.json().errno, 'EBUSY', 'the store is still full')
  await setIrqs(app2, b, 'msix', triggerFds(1, [-1]))
  await setIrqs(app2, a, 'msix', triggerFds(2, [e]))
  t.same((await getJson(app2, `/v1/parents/${full}`)).devices.map((d: any) => d.slots), [3, 0])
  const delParent = await app2.inject({ method: 'DELETE', url: `/v1/parents/${full}` })
  t.equal(delParent.statusCode, 409, 'a parent with devices stays after a restart')
  await ok(app2, 'DELETE', `/v1/devices/${a}`)
  t.same((await getJson(app2, `/v1/parents/${full}`)).slots, { total: 3, used: 0, free: 3 })
  t.equal((await getJson(app2, '/v1/host')).hostVectors.used, 0)
})

t.test('11.5 masking survives a restart: options, user masks, pending bits and their counters', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const app1 = await open(t, file)
  const e = await createEventfd(app1)
  const e2 = await createEventfd(app1)
  // MSI-X MASKABLE, a table of two PBA words: user masks, pending bits (one beyond any host vector), coalesced fires.
  const mx = await createDevice(app1, { name: 'maskable', abi: 'linux-6.12', msix: { tableSize: 100, maskable: true } })
  await setIrqs(app1, mx, 'msix', triggerFds(0, [e, -1, -1]))
  await setIrqs(app1, mx, 'msix', { action: 'mask', start: 0, count: 4, data: { type: 'bool', values: [true, false, false, true] } })
  await fireOk(app1, mx, { index: 'msix', vectors: [0, 0, 1, 1, 1, 2, 70] })
  await setIrqs(app1, mx, 'msix', triggerFds(2, [e2])) // vector 2's pending message is sent now
  // MSI with per-vector masking under linux-6.1.
  const pv = await createDevice(app1, { name: 'per-vector', abi: 'linux-6.1', msi: { vectors: 8, perVectorMask: true } })
  await setIrqs(app1, pv, 'msi', triggerFds(0, [e, -1]))
  await fireOk(app1, pv, { index: 'msi', vectors: [1, 1, 5] })
  const before = await snapshot(app1)
  const pba = await getJson(app1, `/v1/devices/${mx}/irqs/msix/pba`)
  const pvPba = await getJson(app1, `/v1/devices/${pv}/irqs/msi/pba`)

  // The state is what it should be, or the comparison proves little.
  t.same(pba, { pending: [0, 1, 70], words: ['0x0000000000000003', '0x0000000000000040'] })
  t.same(pvPba, { pending: [1, 5], words: ['0x0000000000000022'] })
  const mxVectors = before.devices.find((d: any) => d.device.name === 'maskable').vectors.msix.items
  t.match(mxVectors[0], { maskedBy: ['user'], pending: true, pended: 1, coalesced: 1 })
  t.match(mxVectors[2], { pending: false, deliveredFromPending: 1, trigger: e2 })
  t.match(mxVectors[3], { maskedBy: ['host', 'user'] })
  t.match(before.devices.find((d: any) => d.device.name === 'maskable').device.msix, { maskable: true })
  t.match(before.devices.find((d: any) => d.device.name === 'per-vector').device.msi, { perVectorMask: true })

  await app1.closeOnce()
  const app2 = await open(t, file)
  t.strictSame(await snapshot(app2), before, 'every option, mask, pending bit and counter as it was')
  t.same(await getJson(app2, `/v1/devices/${mx}/irqs/msix/pba`), pba)
  t.same(await getJson(app2, `/v1/devices/${pv}/irqs/msi/pba`), pvPba)
  // And they still act: clearing vector 0's user mask sends its pending message.
  const value = (await getJson(app2, `/v1/eventfds/${e}`)).value
  await ok(app2, 'POST', `/v1/devices/${mx}/irqs/msix`, { action: 'unmask', start: 0, count: 1, data: { type: 'none' } })
  t.equal((await getJson(app2, `/v1/eventfds/${e}`)).value, value + 1)
  t.same((await getJson(app2, `/v1/devices/${mx}/irqs/msix/pba`)).pending, [1, 70])
})

t.test('the migrations table records each migration once; re-opening applies nothing', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const migrationFiles = readdirSync(fileURLToPath(new URL('../../migrations/', import.meta.url))).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
  t.ok(migrationFiles.includes('001_init.sql'))

  const read = () => {
    const db = new Database(file, { readonly: true })
    try {
      return {
        rows: db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as Array<{ version: number, name: string, applied_at: string }>,
        numbering: db.prepare('SELECT owner, next_fd FROM eventfd_numbering').all()
      }
    } finally {
      db.close()
    }
  }

  const app1 = await open(t, file)
  await createEventfd(app1)
  await app1.closeOnce()
  const first = read()
  t.equal(first.rows.filter((r) => r.version === 1).length, 1, '001 recorded once')
  t.match(first.rows.find((r) => r.version === 1), { name: '001_init.sql' })
  t.same(first.rows.map((r) => r.name), migrationFiles, 'every migration file, once, in order')
  t.equal(new Set(first.rows.map((r) => r.version)).size, first.rows.length, 'no version twice')
  t.same(first.numbering, [{ owner: 'default', next_fd: 2 }], 'one numbering row for the tenant')

  await new Promise((resolve) => setTimeout(resolve, 5)) // a re-application would carry a later applied_at
  const app2 = await open(t, file)
  t.equal((await getJson(app2, '/v1/host')).eventfds, 1, 'the data is still there')
  await app2.closeOnce()
  const second = read()
  t.strictSame(second.rows, first.rows, 're-opening applied nothing (same rows, same applied_at)')
  t.same(second.numbering, first.numbering)
})
