import t from 'tap'
import { type App, build, createDevice, createEventfd, send, triggerFds } from '../helper.ts'
import { secured } from '../security/lib.ts'

// docs/model.md 13 end to end: parents, IMS-backed devices through the friendly and the raw
// SET_IRQS, emulated vectors, backing per vector, slots in /v1/parents, /v1/host and /metrics.

const newParent = async (app: App, imsSlots: number, name = 'dsa0'): Promise<string> => (await send(app, 'POST', '/v1/parents', { name, imsSlots })).body.id
/** The friendly form: the errno, or 0. */
const friendly = async (app: App, id: string, start: number, fds: number[]) => {
  const res = await send(app, 'POST', `/v1/devices/${id}/irqs/msix`, triggerFds(start, fds))
  return res.status === 200 ? 0 : res.body.errno
}
/** The raw form (VFIO_IRQ_SET_DATA_EVENTFD | ACTION_TRIGGER on index 2): the result, or the errno. */
const raw = async (app: App, id: string, start: number, fds: number[]) => {
  const res = await send(app, 'POST', `/v1/devices/${id}/ioctl/set-irqs`, { argsz: 20 + 4 * fds.length, flags: 0x24, index: 2, start, count: fds.length, data: fds })
  return res.status === 200 ? res.body.result : res.body.errno
}
const slots = async (app: App, parent: string) => (await send(app, 'GET', `/v1/parents/${parent}`)).body
const backings = async (app: App, id: string) => (await send(app, 'GET', `/v1/devices/${id}/irqs/msix/vectors`)).body.items.map((v: any) => v.backing)
const fire = async (app: App, id: string, vector: number) => (await send(app, 'POST', `/v1/devices/${id}/interrupts`, { index: 'msix', vector })).body

for (const [form, set] of [['friendly', friendly], ['raw', raw]] as const) {
  t.test(`13 done-when (${form} SET_IRQS): two slots, three idxd-vdev devices, fd -1 frees a slot for the third`, async (t) => {
    const app = await build(t)
    const parent = await newParent(app, 2)
    const [d1, d2, d3] = [await createDevice(app, { name: 'wq1', template: 'idxd-vdev', parent }),
      await createDevice(app, { name: 'wq2', template: 'idxd-vdev', parent }),
      await createDevice(app, { name: 'wq3', template: 'idxd-vdev', parent })]
    const [e1, e2, e3] = [await createEventfd(app), await createEventfd(app), await createEventfd(app)]
    // Each guest enables MSI-X with vector 0 (emulated) and vector 1 (IMS).
    t.equal(await set(app, d1, 0, [e1, e1]), 0, 'wq1 vector 1 takes a slot')
    t.equal(await set(app, d2, 0, [e2, e2]), 0, 'wq2 vector 1 takes the last slot')
    t.equal(await set(app, d3, 0, [e3, e3]), 'EBUSY', 'wq3 vector 1: the store is full')
    t.same(await backings(app, d3), [null, null], 'wq3: the block rolled back (5.4), vector 1 unchanged')
    t.same((await send(app, 'GET', `/v1/devices/${d3}`)).body.irqType, 'none', 'an enable whose block fails leaves nothing enabled')
    t.match(await slots(app, parent), { slots: { total: 2, used: 2, free: 0 }, devices: [{ id: d1, slots: 1 }, { id: d2, slots: 1 }, { id: d3, slots: 0 }] })
    t.equal(await set(app, d1, 1, [-1]), 0, 'fd -1 on wq1 vector 1')
    t.same(await backings(app, d1), ['emulated', null], 'its slot and host vector are gone at once')
    t.match(await slots(app, parent), { slots: { used: 1, free: 1 } })
    t.equal(await set(app, d3, 0, [e3, e3]), 0, "wq3's next try succeeds")
    t.same(await backings(app, d3), ['emulated', 'ims'])
    t.match(await slots(app, parent), { slots: { used: 2, free: 0 }, devices: [{ slots: 0 }, { slots: 1 }, { slots: 1 }] })
    // Vector 0 of each delivers without a slot.
    for (const [id, e] of [[d1, e1], [d2, e2], [d3, e3]] as const) {
      t.match(await fire(app, id, 0), { fired: 1, delivered: 1 }, 'vector 0 (emulated) delivers')
      t.equal((await send(app, 'GET', `/v1/eventfds/${e}`)).body.value, 1)
    }
    t.match(await slots(app, parent), { slots: { used: 2 } }, 'firing emulated vectors used no slot')
    t.equal((await send(app, 'GET', '/v1/host')).body.hostVectors.used, 2, 'one host vector per slot')
  })
}

t.test('13 GET_IRQ_INFO on IMS-backed MSI-X reports no NORESIZE under every abi; the device shows its parent', async (t) => {
  const app = await build(t)
  const parent = await newParent(app, 4)
  for (const abi of ['linux-6.12', 'linux-6.1', 'linux-5.10', 'tglx-2021']) {
    const id = await createDevice(app, { template: 'idxd-vdev', parent, abi })
    const info = (await send(app, 'POST', `/v1/devices/${id}/ioctl/get-irq-info`, { argsz: 16, index: 2 })).body
    t.same(info, { argsz: 16, flags: 0x1, index: 2, count: 2 }, `${abi}: EVENTFD only`)
    const dev = (await send(app, 'GET', `/v1/devices/${id}`)).body
    t.match(dev, { parent, template: 'idxd-vdev', intx: false, pcie: true, msix: { tableSize: 2, dynamic: true, emulated: [0] } }, abi)
    t.notOk('msi' in dev, `${abi}: no MSI`)
  }
})

t.test('13 create: idxd-vdev needs a parent of the caller; emulated needs a parent', async (t) => {
  const app = await build(t)
  const parent = await newParent(app, 4)
  const cases: Array<[string, object, number, string?]> = [
    ['idxd-vdev without a parent', { template: 'idxd-vdev' }, 400, 'parent-required'],
    ['an unknown parent', { template: 'idxd-vdev', parent: 'nope' }, 400, 'unknown-parent'],
    ['emulated without a parent', { msix: { tableSize: 4, emulated: [0] } }, 400, 'emulated-needs-parent'],
    ['an emulated vector outside the table', { template: 'idxd-vdev', parent, msix: { tableSize: 4, emulated: [4] } }, 400, 'emulated-out-of-range'],
    ['a static IMS-backed table', { parent, msix: { tableSize: 4, dynamic: false } }, 400, 'ims-always-dynamic'],
    ['a parent on a device without MSI-X', { parent, intx: true }, 400, 'parent-needs-msix'],
    ['a bigger idxd-vdev', { template: 'idxd-vdev', parent, msix: { tableSize: 16, emulated: [0] } }, 201]
  ]
  for (const [rule, body, status, reason] of cases) {
    const res = await send(app, 'POST', '/v1/devices', body)
    t.equal(res.status, status, rule)
    if (reason !== undefined) t.equal(res.body.reason, reason, rule)
  }
  t.equal((await slots(app, parent)).devices.length, 1, 'refused creates left nothing under the parent')
})

t.test('13 parents: create, list, get, delete (409 EBUSY while it has devices)', async (t) => {
  const app = await build(t)
  const created = await send(app, 'POST', '/v1/parents', { name: 'dsa0', imsSlots: 2048 })
  t.equal(created.status, 201)
  t.match(created.body, { name: 'dsa0', imsSlots: 2048, slots: { total: 2048, used: 0, free: 2048 }, devices: [] })
  const id = created.body.id
  t.equal((await send(app, 'POST', '/v1/parents', { imsSlots: 0 })).status, 400, 'a store has at least one slot')
  t.equal((await send(app, 'POST', '/v1/parents', { imsSlots: 4, extra: 1 })).status, 400, 'unknown fields')
  t.same((await send(app, 'GET', '/v1/parents')).body.items.map((p: any) => p.id), [id])
  const dev = await createDevice(app, { template: 'idxd-vdev', parent: id })
  const busy = await send(app, 'DELETE', `/v1/parents/${id}`)
  t.match(busy, { status: 409, body: { errno: 'EBUSY', reason: 'parent-has-devices' } })
  t.equal((await send(app, 'DELETE', `/v1/devices/${dev}`)).status, 204)
  t.equal((await send(app, 'DELETE', `/v1/parents/${id}`)).status, 204)
  t.equal((await send(app, 'GET', `/v1/parents/${id}`)).status, 404)
  t.same((await send(app, 'GET', '/v1/parents')).body.items, [])
})

t.test('13 disable and delete give every slot back; the host view and /metrics show the slots', async (t) => {
  const app = await build(t)
  const parent = await newParent(app, 8, 'dsa9')
  const id = await createDevice(app, { template: 'idxd-vdev', parent, msix: { tableSize: 8 } })
  const e = await createEventfd(app)
  t.equal(await friendly(app, id, 0, [e, e, e, e]), 0)
  t.match(await slots(app, parent), { slots: { used: 3 } })
  t.match((await send(app, 'GET', '/v1/host')).body.parents, [{ id: parent, name: 'dsa9', total: 8, used: 3, free: 5 }])
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, new RegExp(`virq_ims_slots_used\\{parent="${parent}",name="dsa9"\\} 3`))
  t.match(metrics, new RegExp(`virq_ims_slots_capacity\\{parent="${parent}",name="dsa9"\\} 8`))
  const irq = (await send(app, 'GET', `/v1/devices/${id}/irqs/msix`)).body
  t.match(irq, { hostVectors: 3, triggers: 4 })
  t.equal((await send(app, 'POST', `/v1/devices/${id}/irqs/msix`, { action: 'trigger', start: 0, count: 0, data: { type: 'none' } })).status, 200)
  t.match(await slots(app, parent), { slots: { used: 0 } }, 'disable')
  t.equal(await friendly(app, id, 0, [e, e, e]), 0)
  t.equal((await send(app, 'DELETE', `/v1/eventfds/${e}?force=true`)).status, 204)
  t.match(await slots(app, parent), { slots: { used: 0 } }, 'a force-closed eventfd frees its slots')
  const e2 = await createEventfd(app)
  t.equal(await friendly(app, id, 1, [e2, e2]), 0)
  t.equal((await send(app, 'DELETE', `/v1/devices/${id}`)).status, 204)
  t.match(await slots(app, parent), { slots: { used: 0, free: 8 }, devices: [] }, 'delete')
  t.equal((await send(app, 'GET', '/v1/host')).body.hostVectors.used, 0)
})

t.test('13 a masked IMS vector pends, and its new slot sends the pending message (11.3)', async (t) => {
  const app = await build(t)
  const parent = await newParent(app, 1)
  const id = await createDevice(app, { template: 'idxd-vdev', parent })
  const e = await createEventfd(app)
  t.equal(await friendly(app, id, 0, [e]), 0)
  t.match(await fire(app, id, 1), { fired: 1, pended: 1 }, 'no slot, no trigger: masked')
  t.equal(await friendly(app, id, 1, [e]), 0)
  t.equal((await send(app, 'GET', `/v1/eventfds/${e}`)).body.value, 1, 'sent when the vector got its slot and trigger')
})

t.test('13 tenants: a parent belongs to its creator, like a device', async (t) => {
  const { token, as } = await secured(t)
  const alice = as((await token('alice')).token)
  const bob = as((await token('bob')).token)
  const parent = (await alice('POST', '/v1/parents', { name: 'dsa0', imsSlots: 2 })).json().id
  t.equal((await bob('GET', `/v1/parents/${parent}`)).statusCode, 404, "another tenant's parent is not found")
  t.equal((await bob('DELETE', `/v1/parents/${parent}`)).statusCode, 404)
  t.same((await bob('GET', '/v1/parents')).json().items, [])
  const refused = await bob('POST', '/v1/devices', { template: 'idxd-vdev', parent })
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().reason, 'unknown-parent', "a device cannot be created under another tenant's parent")
  t.equal((await alice('POST', '/v1/devices', { template: 'idxd-vdev', parent })).statusCode, 201)
  t.same((await bob('GET', '/v1/host')).json().parents, [])
  t.equal((await alice('GET', '/v1/host')).json().parents.length, 1)
})
