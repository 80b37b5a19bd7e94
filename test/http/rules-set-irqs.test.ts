import t from 'tap'
import type { App } from '../../src/app.ts'
import { ABI_PROFILES, ABIS, build, createDevice, createEventfd, ioctlSetIrqs, sendSetIrqs } from '../helper.ts'

// SET_IRQS end to end: docs/model.md 4 (validation, dispatch), 5.3/5.4 (enable, blocks, rollback),
// 5.5 (ERR/REQ) and 6 (host vector pool), through the raw and the friendly routes.

const FULL = { pcie: true, reset: true, intx: true, msi: { vectors: 8 }, msix: { tableSize: 64 } }

async function triggers (app: App, id: string, index: string, n: number): Promise<Array<number | null>> {
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/${index}/vectors` })
  return res.json().items.slice(0, n).map((v: { trigger: number | null }) => v.trigger)
}
async function host (app: App) {
  return (await app.inject({ method: 'GET', url: '/v1/host' })).json().hostVectors
}

for (const abi of ABIS) {
  const p = ABI_PROFILES[abi]

  t.test(`${abi}: 4 validation and dispatch over the raw route`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const version = async () => (await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().version
    const before = await version()
    const cases: Array<[string, object, number, string, string]> = [
      ['4.1 argsz below 20', { argsz: 19, flags: 0x40 | 0x21, index: 9, start: 0, count: 1 }, 400, 'EINVAL', 'argsz-too-small'],
      ['4.2 index 5', { flags: 0x21, index: 5, start: 0, count: 0xffffffff }, 400, 'EINVAL', 'index-out-of-range'],
      ['4.3 count overflow guard', { flags: 0x40 | 0x21, index: 2, start: 0x10, count: 0xffffffef }, 400, 'EINVAL', 'count-overflow'],
      ['4.4 flag bit outside 0x3f', { flags: 0x61, index: 2, start: 64, count: 0 }, 400, 'EINVAL', 'unknown-flags'],
      ['4.5 start + count past the table', { flags: 0x20, index: 2, start: 63, count: 2 }, 400, 'EINVAL', 'range-out-of-bounds'],
      ['4.6 two data types', { argsz: 20, flags: 0x23, index: 2, start: 0, count: 1 }, 400, 'EINVAL', 'data-type'],
      ['4.7 EVENTFD data shorter than count', { flags: 0x24, index: 2, start: 0, count: 2, data: [-1] }, 400, 'EINVAL', 'data-too-short'],
      ['4 MSI-X MASK is ENOTTY', { flags: 0x09, index: 2, start: 0, count: 1 }, 400, 'ENOTTY', 'no-handler'],
      ['4 REQ UNMASK is ENOTTY', { flags: 0x11, index: 4, start: 0, count: 1 }, 400, 'ENOTTY', 'no-handler'],
      ['4 zero action bits is ENOTTY', { flags: 0x01, index: 0, start: 0, count: 1 }, 400, 'ENOTTY', 'no-handler'],
      ['4 several action bits is ENOTTY', { flags: 0x31, index: 0, start: 0, count: 1 }, 400, 'ENOTTY', 'no-handler']
    ]
    for (const [name, body, status, errno, reason] of cases) {
      const r = await ioctlSetIrqs(app, id, body)
      t.equal(r.status, status, name)
      t.match(r.body, { errno, reason, result: -1 }, name)
    }
    const dev = (await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json()
    t.same([dev.irqType, dev.version], ['none', before], 'rejected requests changed nothing')
    t.same(await ioctlSetIrqs(app, id, { argsz: 32, flags: 0x24, index: 2, start: 0, count: 1, data: [-1, 5, 6] }), { status: 200, body: { result: 0 } }, '4.7 longer data is accepted')
  })

  t.test(`${abi}: 5.3 enable, ERANGE, count-0 with start > 0`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const r0 = await sendSetIrqs(app, id, 'msix', { action: 'trigger', start: 0, count: 0, data: { type: 'eventfd', fds: [] } })
    t.equal(r0.status, 400)
    t.match(r0.body, { errno: 'ERANGE', errnoValue: 34 }, '5.3.3 nvec 0 is ERANGE')
    const r1 = await sendSetIrqs(app, id, 'msix', { action: 'trigger', start: 5, count: 0, data: { type: 'eventfd', fds: [] } })
    if (!p.staticRangeCheck) {
      t.equal(r1.status, 200)
      t.match(r1.body, { result: 0, irq: { enabled: true, enabledVectors: 5, hostVectors: 5, triggers: 0 } })
    } else {
      t.equal(r1.status, 400)
      t.match(r1.body, { errno: 'EINVAL' })
    }
    t.equal((await host(app)).used, p.staticRangeCheck ? 0 : 5)
    const off = await sendSetIrqs(app, id, 'msi', { action: 'trigger', count: 0, data: { type: 'none' } })
    t.equal(off.status, 400, '5.3.5 count-0 disable of an index that is not enabled')
    t.match(off.body, { errno: 'EINVAL' })
  })

  t.test(`${abi}: 5.4 rollback on bad fd, committed`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const [e0, e1, e3] = [await createEventfd(app), await createEventfd(app), await createEventfd(app)]
    await sendSetIrqs(app, id, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: [e3, e3, e3, e3] } })
    const r = await sendSetIrqs(app, id, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: [e0, e1, 999] } })
    t.equal(r.status, 400)
    t.match(r.body, { errno: 'EBADF', errnoValue: 9, reason: 'bad-fd' })
    t.same(await triggers(app, id, 'msix', 5), [null, null, null, e3, null])
    const bound = (await app.inject({ method: 'GET', url: `/v1/eventfds/${e0}` })).json()
    t.same(bound.bindings, [], 'e0 is bound to nothing')
    const now = (await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().version
    t.match(r.body, { stateChanged: true, version: now }, 'the problem says the device changed anyway, and its new version')
    t.match(r.body.detail, new RegExp(`the device still changed .* version ${now}$`))
    const clean = await sendSetIrqs(app, id, 'msix', { action: 'trigger', start: 99, data: { type: 'eventfd', fds: [e0] } })
    t.equal(clean.status, 400)
    t.notOk('stateChanged' in clean.body, 'a failure that changed nothing does not say it did')
  })

  t.test(`${abi}: 5.4 add vector 10 → ${p.dynamicMsix ? '0' : 'EINVAL'}`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const [e0, e] = [await createEventfd(app), await createEventfd(app)]
    t.equal((await ioctlSetIrqs(app, id, { flags: 0x24, index: 2, start: 0, count: 3, data: [e0, -1, -1] })).body.result, 0)
    const r = await ioctlSetIrqs(app, id, { flags: 0x24, index: 2, start: 10, count: 1, data: [e] })
    t.same(r.body.result, p.dynamicMsix ? 0 : -1)
    const vecs = await triggers(app, id, 'msix', 11)
    t.same([vecs[0], vecs[10]], [e0, p.dynamicMsix ? e : null])
    t.equal((await host(app)).used, p.dynamicMsix ? 4 : 3)
  })

  t.test(`${abi}: 5.5 ERR fd -2 → ${p.errReqBelowMinusOneIgnored ? 'ignored' : 'EINVAL'}`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, ...FULL })
    const e = await createEventfd(app)
    t.equal((await sendSetIrqs(app, id, 'err', { action: 'trigger', data: { type: 'eventfd', fds: [e] } })).status, 200)
    const r = await sendSetIrqs(app, id, 'err', { action: 'trigger', data: { type: 'eventfd', fds: [-2] } })
    t.equal(r.status, p.errReqBelowMinusOneIgnored ? 200 : 400)
    const irq = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/err` })).json()
    t.match(irq, { enabled: true, trigger: e })
    const loop = await sendSetIrqs(app, id, 'err', { action: 'trigger', count: 1, data: { type: 'none' } })
    t.equal(loop.status, 200)
    t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${e}` })).json().value, 1, '5.5 NONE count 1 signals')
  })
}

t.test('6 host vector pool over HTTP', async (t) => {
  const app = await build(t, { hostVectors: 6 })
  const a = await createDevice(app, { msi: { vectors: 8 }, msix: { tableSize: 16 } })
  const b = await createDevice(app, { msi: { vectors: 8 }, msix: { tableSize: 16 } })
  const exact = await sendSetIrqs(app, a, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: [-1, -1, -1, -1] } })
  t.match(exact, { status: 200, body: { result: 0, irq: { enabled: true, hostVectors: 4 } } }, '6 exact fit')
  const partial = await sendSetIrqs(app, b, 'msi', { action: 'trigger', data: { type: 'eventfd', fds: new Array(8).fill(-1) } })
  t.match(partial, { status: 200, body: { result: 2, irq: { enabled: false, hostVectors: 0 } } }, '6 partial answer')
  t.same(await host(app), { capacity: 6, used: 4, free: 2 })
  const e = await createEventfd(app)
  t.equal((await sendSetIrqs(app, a, 'msix', { action: 'trigger', start: 9, data: { type: 'eventfd', fds: [e] } })).status, 200, '6 dynamic vector')
  t.same(await host(app), { capacity: 6, used: 5, free: 1 })
  t.equal((await ioctlSetIrqs(app, b, { flags: 0x24, index: 1, start: 0, count: 1, data: [-1] })).body.result, 0)
  const full = await ioctlSetIrqs(app, a, { flags: 0x24, index: 2, start: 10, count: 1, data: [e] })
  t.equal(full.status, 507, '6 ENOSPC on a dynamic vector')
  t.match(full.body, { errno: 'ENOSPC', errnoValue: 28, result: -1 })
  t.equal((await sendSetIrqs(app, b, 'msi', { action: 'trigger', count: 0, data: { type: 'none' } })).status, 200)
  t.equal((await sendSetIrqs(app, a, 'msix', { action: 'trigger', count: 0, data: { type: 'none' } })).status, 200)
  t.same(await host(app), { capacity: 6, used: 0, free: 6 }, '6 disable returns all')
  const c = await createDevice(app, { msix: { tableSize: 16 } })
  await sendSetIrqs(app, c, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: new Array(6).fill(-1) } })
  const none = await sendSetIrqs(app, a, 'msi', { action: 'trigger', data: { type: 'eventfd', fds: [-1] } })
  t.match(none, { status: 507, body: { errno: 'ENOSPC', reason: 'host-vectors-exhausted' } }, '6 ENOSPC at 0 free')
})
