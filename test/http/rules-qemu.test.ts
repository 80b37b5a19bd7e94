import t from 'tap'
import { ABI_PROFILES, ABIS, build, createDevice, createEventfd, fireOk, ioctlSetIrqsResult, irq, peekEventfd, vectors } from '../helper.ts'

// docs/model.md 10: the QEMU sequences, end to end, with QEMU's raw flags.

const NORESIZE = 0x8
const EVENTFD_TRIGGER = 0x24
const NONE_TRIGGER = 0x21
const NONE_MASK = 0x09
const EVENTFD_UNMASK = 0x14

for (const abi of ABIS) {
  const p = ABI_PROFILES[abi]
  // The flag QEMU reads: absent when the kernel can grow MSI-X, and under the seed's patch.
  const noresize = p.reportsNoresize && !p.dynamicMsix

  t.test(`${abi}: 10 probe MSI-X: NORESIZE decides the path`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, msix: { tableSize: 32 } })
    const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/get-irq-info`, payload: { argsz: 16, index: 2 } })
    t.equal(res.statusCode, 200)
    t.equal((res.json().flags & NORESIZE) !== 0, noresize, noresize ? 'NORESIZE: disable and re-enable' : 'no NORESIZE: add vectors one at a time')
    t.equal(res.json().count, 32)
  })

  t.test(`${abi}: 10 enable MSI-X with no live vector (start 0, count 1, fd -1)`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, msix: { tableSize: 32 } })
    t.same(await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 1, data: [-1] }), { result: 0, errno: undefined })
    t.match(await irq(app, id, 'msix'), { enabled: true, enabledVectors: 1, hostVectors: 1, triggers: 0 })
    t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).json().irqType, 'msix')
    t.match(await fireOk(app, id, { index: 'msix', vector: 0 }), { fired: 1, delivered: 0, lost: 0, pended: 1 }, 'no trigger: masked, so pending (11.2)')
    t.match((await vectors(app, id, 'msix'))[0], { allocated: true, trigger: null, masked: true, pending: true })
  })
}

for (const abi of ABIS.filter((a) => ABI_PROFILES[a].dynamicMsix)) {
  t.test(`${abi}: 10 guest unmasks vector k, dynamic: one EVENTFD|TRIGGER start k count 1`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, msix: { tableSize: 32 } })
    const [e0, e7] = [await createEventfd(app), await createEventfd(app)]
    await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 1, data: [-1] })
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 1, data: [e0] })).result, 0)
    t.match(await fireOk(app, id, { index: 'msix', vector: 7 }), { fired: 1, delivered: 0, lost: 0, pended: 1 }, 'not yet allocated: masked, so pending')
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 7, count: 1, data: [e7] })).result, 0)
    t.equal(await peekEventfd(app, e7), 1, 'the add sent the pending message (11.3)')
    t.match(await irq(app, id, 'msix'), { enabled: true, enabledVectors: 1, hostVectors: 2, triggers: 2 })
    t.match(await fireOk(app, id, { index: 'msix', vectors: [0, 7, 7] }), { fired: 3, delivered: 3, lost: 0 })
    t.same([await peekEventfd(app, e0), await peekEventfd(app, e7)], [1, 3])
    const v = await vectors(app, id, 'msix')
    t.match(v[7], { allocated: true, trigger: e7, fired: 3, delivered: 3, lost: 0, deliveredFromPending: 1, pending: false })
    t.match(v[0], { trigger: e0, delivered: 1 }, 'vector 0 never lost its trigger')
    t.equal((await app.inject({ method: 'GET', url: '/v1/host' })).json().hostVectors.used, 2)
  })
}

for (const abi of ABIS.filter((a) => !ABI_PROFILES[a].dynamicMsix)) {
  t.test(`${abi}: 10 guest unmasks vector k beyond the enabled range, NORESIZE: disable, re-enable`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, msix: { tableSize: 32 } })
    const [e0, e5] = [await createEventfd(app), await createEventfd(app)]
    await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 1, data: [-1] })
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 1, data: [e0] })).result, 0)
    t.same(await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 5, count: 1, data: [e5] }), { result: -1, errno: 'EINVAL' },
    `the dynamic way does not work under ${abi}`)
    t.match(await irq(app, id, 'msix'), { enabled: true, enabledVectors: 1, triggers: 1 }, 'and changed nothing')
    t.equal((await ioctlSetIrqsResult(app, id, { flags: NONE_TRIGGER, index: 2, start: 0, count: 0 })).result, 0, 'disable')
    t.match(await irq(app, id, 'msix'), { enabled: false, hostVectors: 0, triggers: 0 })
    t.match(await fireOk(app, id, { index: 'msix', vectors: [0, 0] }), { fired: 2, delivered: 0, lost: 2 }, 'lost in the window')
    const fds = [e0, -1, -1, -1, -1, e5]
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 2, start: 0, count: 6, data: fds })).result, 0, 're-enable with k+1')
    t.match(await irq(app, id, 'msix'), { enabled: true, enabledVectors: 6, hostVectors: 6, triggers: 2 })
    t.match(await fireOk(app, id, { index: 'msix', vectors: [0, 5] }), { fired: 2, delivered: 2, lost: 0 })
    t.same([await peekEventfd(app, e0), await peekEventfd(app, e5)], [1, 1])
    t.match((await vectors(app, id, 'msix'))[0], { fired: 3, delivered: 1, lost: 2, lostBy: { 'index-disabled': 2 } }, 'virq counted the lost ones')
  })
}

for (const abi of ABIS) {
  t.test(`${abi}: 10 MSI all at once; a positive answer means retry with that many`, async (t) => {
    const app = await build(t, { hostVectors: 3 })
    const id = await createDevice(app, { abi, msi: { vectors: 8 } })
    const fds = []
    for (let i = 0; i < 8; i++) fds.push(await createEventfd(app))
    const first = await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 1, start: 0, count: 8, data: fds })
    t.same(first, { result: 3, errno: undefined }, 'only 3 host vectors')
    t.match(await irq(app, id, 'msi'), { enabled: false, hostVectors: 0, triggers: 0 })
    t.equal((await app.inject({ method: 'GET', url: '/v1/host' })).json().hostVectors.used, 0, 'nothing taken')
    const retry = await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 1, start: 0, count: first.result, data: fds.slice(0, first.result) })
    t.equal(retry.result, 0)
    t.match(await irq(app, id, 'msi'), { enabled: true, enabledVectors: 3, hostVectors: 3, triggers: 3 })
    t.match(await fireOk(app, id, { index: 'msi', vectors: [0, 1, 2, 3] }), { fired: 4, delivered: 3, lost: 1 })
    t.same(await Promise.all(fds.slice(0, 4).map((fd) => peekEventfd(app, fd))), [1, 1, 1, 0])
    t.equal((await app.inject({ method: 'GET', url: '/v1/host' })).json().hostVectors.free, 0)
  })

  t.test(`${abi}: 10 INTx: enable with an eventfd, unmask eventfd, unmask on every end of interrupt`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, intx: true })
    const [trig, unmask] = [await createEventfd(app), await createEventfd(app)]
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_TRIGGER, index: 0, start: 0, count: 1, data: [trig] })).result, 0)
    t.equal((await ioctlSetIrqsResult(app, id, { flags: EVENTFD_UNMASK, index: 0, start: 0, count: 1, data: [unmask] })).result, 0)
    t.match(await irq(app, id, 'intx'), { enabled: true, trigger: trig, unmaskEventfd: unmask, masked: false })
    for (let round = 1; round <= 2; round++) {
      t.match(await fireOk(app, id, { index: 'intx', level: 'assert' }), { delivered: 1 }, `round ${round}: interrupt`)
      t.match(await irq(app, id, 'intx'), { masked: true, line: true }, 'automasked')
      t.match(await fireOk(app, id, { index: 'intx', level: 'pulse' }), { delivered: 0 }, 'nothing more while masked')
      const read = await app.inject({ method: 'POST', url: `/v1/eventfds/${trig}/read` })
      t.same(read.json(), { value: 1 })
      await fireOk(app, id, { index: 'intx', level: 'deassert' })
      const eoi = await app.inject({ method: 'POST', url: `/v1/eventfds/${unmask}/write`, payload: { value: 1 } })
      if (ABI_PROFILES[abi].unmaskEventfdConsumesValue) t.same(eoi.json(), { value: 0 }, 'the unmask eventfd consumed the write')
      else t.same(eoi.json(), { value: round }, 'the unmask eventfd kept the write (5.10 virqfd)')
      t.match(await irq(app, id, 'intx'), { masked: false, line: false }, 'end of interrupt unmasked the line')
    }
    // Level-triggered: a line still high at unmask is delivered again and masked again.
    await fireOk(app, id, { index: 'intx', level: 'assert' })
    await app.inject({ method: 'POST', url: `/v1/eventfds/${trig}/read` })
    await app.inject({ method: 'POST', url: `/v1/eventfds/${unmask}/write`, payload: { value: 1 } })
    t.match(await irq(app, id, 'intx'), { masked: true, line: true })
    t.equal(await peekEventfd(app, trig), 1, 'redelivered')
    t.equal((await ioctlSetIrqsResult(app, id, { flags: NONE_MASK, index: 0, start: 0, count: 1 })).result, 0, 'masking a masked line')
  })
}
