import t from 'tap'
import type { App } from '../../src/app.ts'
import { ABI_PROFILES, ABIS, build, createDevice } from '../helper.ts'

// docs/model.md 3 (GET_INFO / GET_IRQ_INFO) end to end, friendly and raw routes, every profile.

async function irqInfo (app: App, id: string, index: number | string, argsz?: number) {
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/get-irq-info`, payload: { index, ...(argsz !== undefined ? { argsz } : {}) } })
  return { status: res.statusCode, body: res.json() }
}

const FULL = { pcie: true, reset: true, intx: true, msi: { vectors: 4 }, msix: { tableSize: 64 } }

for (const abi of ABIS) {
  const p = ABI_PROFILES[abi]
  // NORESIZE (0x8) where vfio-pci sets it, unless the profile is the seed's patch (docs/model.md 12).
  const nr = p.reportsNoresize ? 0x9 : 0x1
  const dynFlags = p.dynamicMsix ? 0x1 : nr

  t.test(`${abi}: 3 GET_INFO`, async (t) => {
    const app = await build(t)
    const withReset = await createDevice(app, { abi, ...FULL })
    const noReset = await createDevice(app, { abi, intx: true })
    const raw = async (id: string, argsz: number) => {
      const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/get-info`, payload: { argsz } })
      return { status: res.statusCode, body: res.json() }
    }
    t.same((await raw(withReset, 16)).body, { argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 }, '3 GET_INFO flags PCI|RESET')
    t.same((await raw(noReset, 16)).body, { argsz: 16, flags: 2, numRegions: 9, numIrqs: 5 }, '3 GET_INFO flags PCI')
    const small = await raw(withReset, 15)
    t.equal(small.status, 400)
    t.match(small.body, { errno: 'EINVAL', errnoValue: 22, reason: 'argsz-too-small' }, '3 GET_INFO argsz 15 is EINVAL')
    const dev = (await app.inject({ method: 'GET', url: `/v1/devices/${withReset}` })).json()
    t.same(dev.info, { flags: ['reset', 'pci'], flagsValue: 3, numRegions: 9, numIrqs: 5 }, 'the device resource carries GET_INFO')
  })

  t.test(`${abi}: 3 GET_IRQ_INFO (raw)`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const bare = await createDevice(app, { abi })
    const cases: Array<[string, string, number, object]> = [
      ['3 INTx 0x7', id, 0, { argsz: 16, flags: 0x7, index: 0, count: 1 }],
      ['3 INTx without a pin still answers, count 0', bare, 0, { argsz: 16, flags: 0x7, index: 0, count: 0 }],
      [`3 MSI 0x${nr.toString(16)}`, id, 1, { argsz: 16, flags: nr, index: 1, count: 4 }],
      ['3 MSI absent: count 0', bare, 1, { argsz: 16, flags: nr, index: 1, count: 0 }],
      [`3 MSI-X 0x${dynFlags.toString(16)}`, id, 2, { argsz: 16, flags: dynFlags, index: 2, count: 64 }],
      [`3 no MSI-X device reports 0x${nr.toString(16)}`, bare, 2, { argsz: 16, flags: nr, index: 2, count: 0 }],
      [`3 ERR on PCIe 0x${nr.toString(16)}`, id, 3, { argsz: 16, flags: nr, index: 3, count: 1 }],
      [`3 REQ 0x${nr.toString(16)} count 1 everywhere`, bare, 4, { argsz: 16, flags: nr, index: 4, count: 1 }]
    ]
    for (const [name, dev, index, want] of cases) {
      const r = await irqInfo(app, dev, index)
      t.equal(r.status, 200, name)
      t.same(r.body, want, name)
    }
    for (const [name, dev, index, argsz, reason] of [
      ['3 ERR on non-PCIe is EINVAL', bare, 3, 16, 'not-pcie'],
      ['3 index 5 is EINVAL', id, 5, 16, 'index-out-of-range'],
      ['3 argsz 15 is EINVAL', id, 0, 15, 'argsz-too-small']
    ] as const) {
      const r = await irqInfo(app, dev, index, argsz)
      t.equal(r.status, 400, name)
      t.match(r.body, { errno: 'EINVAL', errnoValue: 22, reason, result: -1 }, name)
    }
  })

  t.test(`${abi}: 3 GET_IRQ_INFO (friendly)`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const notPcie = await createDevice(app, { abi, intx: true, msix: { tableSize: 8 } })
    const msix = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix` })).json()
    t.match(msix, { index: 2, name: 'msix', count: 64, flagsValue: dynFlags, dynamic: p.dynamicMsix, enabled: false })
    t.same(msix.flags, dynFlags === 0x1 ? ['eventfd'] : ['eventfd', 'noresize'])
    const intx = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/0` })).json()
    t.same(intx.flags, ['eventfd', 'maskable', 'automasked'])
    const err = await app.inject({ method: 'GET', url: `/v1/devices/${notPcie}/irqs/err` })
    t.equal(err.statusCode, 400, '3 ERR on non-PCIe is EINVAL')
    t.match(err.json(), { errno: 'EINVAL', reason: 'not-pcie' })
    const list = (await app.inject({ method: 'GET', url: `/v1/devices/${notPcie}/irqs` })).json()
    t.same(list.items.map((i: { name: string }) => i.name), ['intx', 'msi', 'msix', 'req'], 'ERR left out of the list')
    const full = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs` })).json()
    t.same(full.items.map((i: { flagsValue: number }) => i.flagsValue), [0x7, nr, dynFlags, nr, nr])
  })
}

t.test('3 MSI-X dynamic false under linux-6.12 reports NORESIZE; dynamic true is refused under linux-6.1', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { abi: 'linux-6.12', msix: { tableSize: 16, dynamic: false } })
  t.same((await irqInfo(app, id, 2)).body, { argsz: 16, flags: 0x9, index: 2, count: 16 })
  const res = await app.inject({ method: 'POST', url: '/v1/devices', payload: { abi: 'linux-6.1', msix: { tableSize: 16, dynamic: true } } })
  t.equal(res.statusCode, 400)
})
