import { join } from 'node:path'
import t from 'tap'
import { buildApp, type App } from '../../src/app.ts'
import { TEMPLATE_NAMES } from '../../src/core/templates.ts'
import { build, createDevice, createEventfd, tempDir } from '../helper.ts'

// docs/model.md 12 end to end: drivers, templates and the seed's patch as a profile, through
// the raw ioctl routes and device create.

async function raw (app: App, id: string, op: string, payload: object) {
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/${op}`, payload })
  const body = res.json()
  return res.statusCode === 200 ? body : { result: -1, errno: body.errno, reason: body.reason }
}
const create = async (app: App, payload: object) => await app.inject({ method: 'POST', url: '/v1/devices', payload })

t.test('12 mtty (mtty_ioctl): GET_IRQ_INFO index 1 is EINVAL before GET_INFO, {count 1, flags 0x9} after', async (t) => {
  for (const [abi, flags] of [['linux-6.1', 0x9], ['linux-5.10', 0x9], ['linux-6.12', 0x9], ['tglx-2021', 0x1]] as const) {
    const app = await build(t)
    const id = await createDevice(app, { template: 'mtty', abi })
    t.match(await raw(app, id, 'get-irq-info', { argsz: 16, index: 1 }), { result: -1, errno: 'EINVAL', reason: 'no-device-info' }, `${abi}: before GET_INFO`)
    t.same(await raw(app, id, 'get-info', { argsz: 16 }), { argsz: 16, flags: 0x2, numRegions: 9, numIrqs: 5 }, `${abi}: GET_INFO flags PCI only`)
    t.same(await raw(app, id, 'get-irq-info', { argsz: 16, index: 1 }), { argsz: 16, flags, index: 1, count: 1 }, `${abi}: after GET_INFO`)
    const dev = (await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json()
    t.match(dev, { driver: 'mtty', template: 'mtty', parent: null, abi })
  }
})

t.test('12 kvmgt (intel_vgpu_set_irqs): INTx MASK is a stub answering 0', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { template: 'kvmgt' })
  t.same(await raw(app, id, 'set-irqs', { flags: 0x09, index: 0, start: 0, count: 1 }), { result: 0 })
  t.same(await raw(app, id, 'get-info', { argsz: 16 }), { argsz: 16, flags: 0x3, numRegions: 11, numIrqs: 5 })
})

t.test('12 tglx-2021 vfio-pci MSI-X: flags 0x1, and a dynamic add of vector 5 is EINVAL', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { abi: 'tglx-2021', template: 'virtio-net' })
  t.same(await raw(app, id, 'get-irq-info', { argsz: 16, index: 2 }), { argsz: 16, flags: 0x1, index: 2, count: 64 })
  const [e0, e5] = [await createEventfd(app), await createEventfd(app)]
  t.same(await raw(app, id, 'set-irqs', { flags: 0x24, index: 2, start: 0, count: 1, data: [e0] }), { result: 0 })
  t.match(await raw(app, id, 'set-irqs', { flags: 0x24, index: 2, start: 5, count: 1, data: [e5] }), { result: -1, errno: 'EINVAL', reason: 'beyond-enabled-vectors' })
})

t.test('12 GET /v1/templates lists the seven templates', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/v1/templates' })
  t.equal(res.statusCode, 200)
  t.same(res.json().items.map((i: { name: string }) => i.name), ['virtio-net', 'e1000e', 'nec-xhci', 'edu', 'mtty', 'kvmgt', 'idxd-vdev'])
  t.same([...TEMPLATE_NAMES], ['virtio-net', 'e1000e', 'nec-xhci', 'edu', 'mtty', 'kvmgt', 'idxd-vdev'])
  t.match(res.json().items[6], { pci: { id: '8086:0b25' }, driver: 'vfio-pci', intx: false, msix: { tableSize: 2 }, overridable: ['msix'] }, 'docs/model.md 13')
  t.match(res.json().items[0], { pci: { id: '1af4:1041' }, driver: 'vfio-pci', msix: { tableSize: 64 } })
})

t.test('12 templates: filled capabilities, overrides where allowed, 400 elsewhere', async (t) => {
  const app = await build(t)
  const cases: Array<{ name: string, body: object, status: number, want: object }> = [
    { name: 'virtio-net fills INTx, MSI-X 64, PCIe, reset', body: { template: 'virtio-net' }, status: 201, want: { driver: 'vfio-pci', template: 'virtio-net', pcie: true, reset: true, intx: true, msix: { tableSize: 64, dynamic: true } } },
    { name: 'e1000e fills MSI 1 and MSI-X 5', body: { template: 'e1000e' }, status: 201, want: { msi: { vectors: 1 }, msix: { tableSize: 5 }, pcie: true } },
    { name: 'nec-xhci fills MSI 16 and MSI-X 16', body: { template: 'nec-xhci' }, status: 201, want: { msi: { vectors: 16 }, msix: { tableSize: 16 } } },
    { name: 'edu is conventional PCI without reset', body: { template: 'edu' }, status: 201, want: { pcie: false, reset: false, intx: true, msi: { vectors: 1 } } },
    { name: 'an explicit field overrides a vfio-pci template', body: { template: 'virtio-net', msix: { tableSize: 8, dynamic: false }, pcie: false }, status: 201, want: { pcie: false, msix: { tableSize: 8, dynamic: false } } },
    { name: 'a template under linux-6.1 has no dynamic MSI-X', body: { template: 'nec-xhci', abi: 'linux-6.1' }, status: 201, want: { msix: { tableSize: 16, dynamic: false } } },
    { name: 'driver mtty alone takes its fixed answers', body: { driver: 'mtty' }, status: 201, want: { driver: 'mtty', template: null, intx: true, msi: { vectors: 1 }, pcie: false } },
    { name: 'mtty has fixed capabilities', body: { template: 'mtty', msi: { vectors: 2 } }, status: 400, want: { reason: 'template-fixed-field' } },
    { name: 'kvmgt has fixed capabilities', body: { driver: 'kvmgt', pcie: true }, status: 400, want: { reason: 'template-fixed-field' } },
    { name: 'a template of another driver', body: { template: 'e1000e', driver: 'mtty' }, status: 400, want: { reason: 'template-driver-mismatch' } },
    { name: 'an unknown template', body: { template: 'idxd-vdev' }, status: 400, want: { status: 400 } },
    { name: 'an unknown driver', body: { driver: 'vfio-platform' }, status: 400, want: { status: 400 } }
  ]
  for (const c of cases) {
    const res = await create(app, c.body)
    t.equal(res.statusCode, c.status, c.name)
    t.match(res.json(), c.want, c.name)
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/devices' })).json().items.length, 7, 'the rejected requests created nothing')
})

t.test('12 driver, template and the driver\'s own state survive a restart (mtty: dev_info, the armed MSI)', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const first = await buildApp({ db: file, hostVectors: 64 })
  const id = await createDevice(first, { template: 'mtty', abi: 'linux-6.1' })
  const kvm = await createDevice(first, { driver: 'kvmgt' })
  const e = await createEventfd(first)
  await raw(first, id, 'get-info', { argsz: 16 })
  t.same(await raw(first, id, 'set-irqs', { flags: 0x24, index: 1, start: 0, count: 1, data: [e] }), { result: 0 })
  await first.close()
  const app = await buildApp({ db: file, hostVectors: 64 })
  t.teardown(async () => await app.close())
  t.match((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json(), { driver: 'mtty', template: 'mtty', abi: 'linux-6.1', irqType: 'msi' })
  t.match((await app.inject({ method: 'GET', url: `/v1/devices/${kvm}` })).json(), { driver: 'kvmgt', template: null })
  t.same(await raw(app, id, 'get-irq-info', { argsz: 16, index: 1 }), { argsz: 16, flags: 0x9, index: 1, count: 1 }, 'GET_INFO was remembered')
  const other = await createEventfd(app)
  t.same(await raw(app, id, 'set-irqs', { flags: 0x24, index: 1, start: 0, count: 1, data: [other] }), { result: 0 })
  const vectors = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msi/vectors` })).json()
  t.equal(vectors.items[0].trigger, e, 'MSI stayed armed with its first eventfd (pre-6.7 msi_evtfd is never replaced)')
  t.equal((await app.inject({ method: 'GET', url: '/v1/host' })).json().hostVectors.used, 0, 'an mdev holds no host vector')
})
