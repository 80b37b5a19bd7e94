// docs/model.md 7 for INTx (a level, automasked) and for ERR/REQ, through app.inject.
import t from 'tap'
import type { App } from '../../src/app.ts'
import { type Abi, ABI_PROFILES, ABIS, build, countersOf, createDevice, createEventfd, disable, fireOk, irq, peekEventfd, readEventfd, setIrqs, triggerFds, vectors, zeroCounters } from '../helper.ts'

const unmaskNone = { action: 'unmask', start: 0, count: 1, data: { type: 'none' } }
const maskNone = { action: 'mask', start: 0, count: 1, data: { type: 'none' } }
const assert = { index: 'intx', level: 'assert' }
const deassert = { index: 'intx', level: 'deassert' }

/** A device with INTx enabled (trigger `e`), unmasked, line low. */
async function intxReady (app: App, abi: Abi): Promise<{ id: string, e: number }> {
  const id = await createDevice(app, { abi, intx: true, pcie: true, msix: { tableSize: 4, dynamic: false } })
  const e = await createEventfd(app)
  await setIrqs(app, id, 'intx', triggerFds(0, [e]))
  return { id, e }
}

const intxCounters = async (app: App, id: string) => countersOf(await vectors(app, id, 'intx'))[0]
const state = async (app: App, id: string) => {
  const s = await irq(app, id, 'intx')
  return { masked: s.masked, line: s.line }
}

for (const abi of ABIS) {
  t.test(`7 intx: assert while enabled and unmasked → delivered once, automasked (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    t.same(await state(app, id), { masked: false, line: false })
    t.same(await fireOk(app, id, assert), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
    t.same(await state(app, id), { masked: true, line: true }, 'AUTOMASKED, line still high')
    t.equal(await readEventfd(app, e), 1)
    t.same(await intxCounters(app, id), { ...zeroCounters(0), fired: 1, delivered: 1 })
  })

  t.test(`7 intx: assert again while high → nothing new (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    await fireOk(app, id, assert)
    t.equal(await readEventfd(app, e), 1)
    t.same(await fireOk(app, id, assert), { fired: 0, delivered: 0, lost: 0, pended: 0, coalesced: 0 })
    t.same(await fireOk(app, id, { index: 'intx', level: 'assert' }), { fired: 0, delivered: 0, lost: 0, pended: 0, coalesced: 0 })
    t.equal(await peekEventfd(app, e), 0)
    t.same(await state(app, id), { masked: true, line: true })
    t.same(await intxCounters(app, id), { ...zeroCounters(0), fired: 1, delivered: 1 })
  })

  t.test(`7 intx: unmask (SET_IRQS) while the line is high → masked again and redelivered (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    await fireOk(app, id, assert)
    t.equal(await readEventfd(app, e), 1)
    await setIrqs(app, id, 'intx', unmaskNone)
    t.same(await state(app, id), { masked: true, line: true }, 'masked again at once')
    t.equal(await readEventfd(app, e), 1, 'trigger signalled again')
    await setIrqs(app, id, 'intx', { action: 'unmask', start: 0, count: 1, data: { type: 'bool', values: [true] } })
    t.equal(await readEventfd(app, e), 1, 'each unmask redelivers while the line stays high')
    t.same(await intxCounters(app, id), { ...zeroCounters(0), fired: 3, delivered: 3 })
  })

  t.test(`7 intx: deassert, then unmask → no redelivery (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    await fireOk(app, id, assert)
    t.equal(await readEventfd(app, e), 1)
    t.same(await fireOk(app, id, deassert), { fired: 0, delivered: 0, lost: 0, pended: 0, coalesced: 0 })
    t.same(await state(app, id), { masked: true, line: false }, 'lowering the line does not unmask')
    await setIrqs(app, id, 'intx', unmaskNone)
    t.same(await state(app, id), { masked: false, line: false })
    t.equal(await peekEventfd(app, e), 0, 'nothing redelivered')
    t.same(await fireOk(app, id, assert), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 }, 'the next assert is delivered')
    t.same(await intxCounters(app, id), { ...zeroCounters(0), fired: 2, delivered: 2 })
  })

  t.test(`7 intx: unmask eventfd written while the line is high → redelivery (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    const u = await createEventfd(app)
    await setIrqs(app, id, 'intx', { action: 'unmask', start: 0, count: 1, data: { type: 'eventfd', fds: [u] } })
    await fireOk(app, id, assert)
    t.equal(await readEventfd(app, e), 1)
    const w = await app.inject({ method: 'POST', url: `/v1/eventfds/${u}/write`, payload: { value: 1 } })
    t.equal(w.statusCode, 200)
    t.equal(await peekEventfd(app, u), ABI_PROFILES[abi].unmaskEventfdConsumesValue ? 0 : 1, 'the unmask eventfd consumed the write (5.10: kept it)')
    t.same(await state(app, id), { masked: true, line: true })
    t.equal(await readEventfd(app, e), 1, 'redelivered')
    await fireOk(app, id, deassert)
    await app.inject({ method: 'POST', url: `/v1/eventfds/${u}/write`, payload: { value: 1 } })
    t.same(await state(app, id), { masked: false, line: false }, 'end of interrupt with the line low unmasks')
    t.equal(await peekEventfd(app, e), 0)
    t.same(await intxCounters(app, id), { ...zeroCounters(0), fired: 2, delivered: 2 })
  })

  t.test(`7 intx: line already high when INTx is enabled → delivered at enable (${abi})`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, intx: true })
    const e = await createEventfd(app)
    t.same(await fireOk(app, id, assert), { fired: 1, delivered: 0, lost: 1, pended: 0, coalesced: 0 }, 'lost while disabled')
    await setIrqs(app, id, 'intx', triggerFds(0, [e]))
    t.same(await state(app, id), { masked: true, line: true })
    t.equal(await readEventfd(app, e), 1)
  })

  t.test(`7 intx: a pulse while masked is never seen (${abi})`, async (t) => {
    const app = await build(t)
    const { id, e } = await intxReady(app, abi)
    await setIrqs(app, id, 'intx', maskNone)
    t.same(await fireOk(app, id, { index: 'intx', level: 'pulse' }), { fired: 0, delivered: 0, lost: 0, pended: 0, coalesced: 0 })
    t.same(await state(app, id), { masked: true, line: false })
    await setIrqs(app, id, 'intx', unmaskNone)
    t.equal(await peekEventfd(app, e), 0)
    t.same(await fireOk(app, id, { index: 'intx' }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 }, 'pulse (the default) when unmasked')
    t.same(await state(app, id), { masked: true, line: false })
  })
}

const intxLost: Array<{ name: string, setup: (app: App, id: string, e: number) => Promise<void>, reason: 'index-disabled' | 'no-trigger' }> = [
  { name: 'index-disabled: INTx never enabled', reason: 'index-disabled', setup: async () => {} },
  {
    name: 'index-disabled: INTx enabled then disabled',
    reason: 'index-disabled',
    setup: async (app, id, e) => { await setIrqs(app, id, 'intx', triggerFds(0, [e])); await setIrqs(app, id, 'intx', disable) }
  },
  { name: 'index-disabled: MSI-X is the enabled type', reason: 'index-disabled', setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e])) } },
  { name: 'no-trigger: INTx enabled with fd -1', reason: 'no-trigger', setup: async (app, id) => { await setIrqs(app, id, 'intx', triggerFds(0, [-1])) } }
]

for (const c of intxLost) {
  for (const abi of ABIS) {
    t.test(`7 lost: intx ${c.name} (${abi})`, async (t) => {
      const app = await build(t)
      const id = await createDevice(app, { abi, intx: true, msix: { tableSize: 4, dynamic: false } })
      const e = await createEventfd(app)
      await c.setup(app, id, e)
      t.same(await fireOk(app, id, { index: 'intx', level: 'pulse' }), { fired: 1, delivered: 0, lost: 1, pended: 0, coalesced: 0 })
      const lostBy = { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 0, [c.reason]: 1 }
      t.same(await intxCounters(app, id), { vector: 0, fired: 1, delivered: 0, lost: 1, lostBy })
      t.equal(await peekEventfd(app, e), 0)
    })
  }
}

for (const index of ['err', 'req']) {
  for (const abi of ABIS) {
    t.test(`7 ${index}: fires the ${index} trigger → delivered (${abi})`, async (t) => {
      const app = await build(t)
      const id = await createDevice(app, { abi, pcie: true })
      const e = await createEventfd(app)
      await setIrqs(app, id, index, triggerFds(0, [e]))
      t.same(await fireOk(app, id, { index }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
      t.same(await fireOk(app, id, { index, count: 3 }), { fired: 3, delivered: 3, lost: 0, pended: 0, coalesced: 0 })
      t.equal(await readEventfd(app, e), 4)
      t.same(countersOf(await vectors(app, id, index))[0], { ...zeroCounters(0), fired: 4, delivered: 4 })
    })

    t.test(`7 lost: ${index} no-trigger (never set, then released) (${abi})`, async (t) => {
      const app = await build(t)
      const id = await createDevice(app, { abi, pcie: true })
      const e = await createEventfd(app)
      t.same(await fireOk(app, id, { index }), { fired: 1, delivered: 0, lost: 1, pended: 0, coalesced: 0 })
      await setIrqs(app, id, index, triggerFds(0, [e]))
      await setIrqs(app, id, index, triggerFds(0, [-1]))
      t.same(await fireOk(app, id, { index, count: 2 }), { fired: 2, delivered: 0, lost: 2, pended: 0, coalesced: 0 })
      t.equal(await peekEventfd(app, e), 0)
      t.same(countersOf(await vectors(app, id, index))[0], { vector: 0, fired: 3, delivered: 0, lost: 3, lostBy: { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 3 } })
    })
  }
}
