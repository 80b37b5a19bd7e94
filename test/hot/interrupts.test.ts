// docs/model.md 7 (device-originated interrupts), rule by rule, through app.inject.
import t from 'tap'
import type { App } from '../../src/app.ts'
import { type Abi, ABI_PROFILES, ABIS, build, countersOf, createDevice, createEventfd, disable, fire, fireOk, irq, peekEventfd, readEventfd, setIrqs, triggerFds, vectors, zeroCounters } from '../helper.ts'

const device = async (app: App, abi: Abi, extra: Record<string, unknown> = {}) =>
  await createDevice(app, { abi, intx: true, pcie: true, msi: { vectors: 8 }, msix: { tableSize: 16, dynamic: ABI_PROFILES[abi].dynamicMsix }, ...extra })

for (const abi of ABIS) {
  for (const index of ['msix', 'msi']) {
    t.test(`7 delivered: ${index} vector with a trigger (${abi})`, async (t) => {
      const app = await build(t)
      const id = await device(app, abi)
      const e = await createEventfd(app)
      await setIrqs(app, id, index, triggerFds(0, [-1, -1, e]))
      t.same(await fireOk(app, id, { index, vector: 2 }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
      t.same(await fireOk(app, id, { index, vector: 2 }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
      t.equal(await readEventfd(app, e), 2, 'back-to-back signals coalesce into one read')
      t.equal(await readEventfd(app, e), 0, 'the read drained the counter')
      const v = await vectors(app, id, index)
      t.same(countersOf(v)[2], { ...zeroCounters(2), fired: 2, delivered: 2 })
      t.same(countersOf(v)[0], zeroCounters(0), 'other vectors untouched')
    })
  }
}

// Each row sets a device up, fires one vector, and names the reason the interrupt is lost.
const lostCases: Array<{ name: string, abis: readonly Abi[], index: string, vector: number, setup: (app: App, id: string, e: number) => Promise<void>, reason: 'index-disabled' | 'not-allocated' | 'no-trigger' }> = [
  { name: 'index-disabled: msix never enabled', abis: ABIS, index: 'msix', vector: 0, reason: 'index-disabled', setup: async () => {} },
  {
    name: 'index-disabled: msix enabled, then disabled',
    abis: ABIS,
    index: 'msix',
    vector: 0,
    reason: 'index-disabled',
    setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e])); await setIrqs(app, id, 'msix', disable) }
  },
  {
    name: 'index-disabled: msix while msi is the enabled type',
    abis: ABIS,
    index: 'msix',
    vector: 0,
    reason: 'index-disabled',
    setup: async (app, id, e) => { await setIrqs(app, id, 'msi', triggerFds(0, [e])) }
  },
  { name: 'index-disabled: msi never enabled', abis: ABIS, index: 'msi', vector: 3, reason: 'index-disabled', setup: async () => {} },
  {
    name: 'not-allocated: msi beyond the vectors enabled',
    abis: ABIS,
    index: 'msi',
    vector: 3,
    reason: 'not-allocated',
    setup: async (app, id, e) => { await setIrqs(app, id, 'msi', triggerFds(0, [e, e])) }
  },
  {
    name: 'no-trigger: msi allocated with fd -1',
    abis: ABIS,
    index: 'msi',
    vector: 1,
    reason: 'no-trigger',
    setup: async (app, id, e) => { await setIrqs(app, id, 'msi', triggerFds(0, [e, -1])) }
  }
]

// On MSI-X (and per-vector-mask MSI) a vector without a trigger or without a host vector is
// masked: section 11.2 replaces the last two loss reasons. The first fire pends, the rest coalesce.
const pendCases: Array<{ name: string, abis: readonly Abi[], vector: number, setup: (app: App, id: string, e: number) => Promise<void> }> = [
  { name: 'beyond the range enabled', abis: ['linux-6.1'], vector: 5, setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e, -1])) } },
  { name: 'dynamic vector never added', abis: ['linux-6.12'], vector: 5, setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e])) } },
  { name: 'allocated with fd -1', abis: ABIS, vector: 1, setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e, -1])) } },
  {
    name: 'trigger de-assigned with fd -1',
    abis: ABIS,
    vector: 0,
    setup: async (app, id, e) => { await setIrqs(app, id, 'msix', triggerFds(0, [e, e])); await setIrqs(app, id, 'msix', triggerFds(0, [-1])) }
  }
]

for (const c of pendCases) {
  for (const abi of c.abis) {
    t.test(`7 and 11.2 masked, so pended, not lost: msix ${c.name} (${abi})`, async (t) => {
      const app = await build(t)
      const id = await device(app, abi)
      const e = await createEventfd(app)
      await c.setup(app, id, e)
      t.same(await fireOk(app, id, { index: 'msix', vector: c.vector, count: 3 }), { fired: 3, delivered: 0, lost: 0, pended: 1, coalesced: 2 })
      t.match((await vectors(app, id, 'msix'))[c.vector], { fired: 3, lost: 0, pending: true, pended: 1, coalesced: 2 })
      t.equal(await peekEventfd(app, e), 0, 'nothing was signalled')
    })
  }
}

for (const c of lostCases) {
  for (const abi of c.abis) {
    t.test(`7 lost: ${c.name} (${abi})`, async (t) => {
      const app = await build(t)
      const id = await device(app, abi)
      const e = await createEventfd(app)
      await c.setup(app, id, e)
      t.same(await fireOk(app, id, { index: c.index, vector: c.vector, count: 3 }), { fired: 3, delivered: 0, lost: 3, pended: 0, coalesced: 0 })
      const v = (await vectors(app, id, c.index))[c.vector]
      const lostBy = { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 0, [c.reason]: 3 }
      t.same(countersOf([v])[0], { vector: c.vector, fired: 3, delivered: 0, lost: 3, lostBy })
      t.equal(await peekEventfd(app, e), 0, 'nothing was signalled')
    })
  }
}

t.test('7 fire: vectors list, in order, repeats fire again', async (t) => {
  const app = await build(t)
  const id = await device(app, 'linux-6.12')
  const [e0, e1, e3] = [await createEventfd(app), await createEventfd(app), await createEventfd(app)]
  await setIrqs(app, id, 'msix', triggerFds(0, [e0, e1, -1, e3]))
  t.same(await fireOk(app, id, { index: 'msix', vectors: [0, 3, 3, 1, 2, 3, 9] }), { fired: 7, delivered: 5, lost: 0, pended: 2, coalesced: 0 })
  t.same([await readEventfd(app, e0), await readEventfd(app, e1), await readEventfd(app, e3)], [1, 1, 3])
  const v = countersOf(await vectors(app, id, 'msix'))
  t.same(v[0], { ...zeroCounters(0), fired: 1, delivered: 1 })
  t.same(v[1], { ...zeroCounters(1), fired: 1, delivered: 1 })
  t.same(v[2], { ...zeroCounters(2), fired: 1 }, 'masked (no trigger): pending, not lost')
  t.same(v[3], { ...zeroCounters(3), fired: 3, delivered: 3 })
  t.same(v[9], { ...zeroCounters(9), fired: 1 }, 'masked (no host vector): pending, not lost')
  const all = await vectors(app, id, 'msix')
  t.same([all[2], all[9]].map((x: any) => [x.pending, x.pended]), [[true, 1], [true, 1]])
})

t.test('7 fire: vector with count fires count times; one eventfd shared by two vectors adds up', async (t) => {
  const app = await build(t)
  const id = await device(app, 'linux-6.1')
  const e = await createEventfd(app)
  await setIrqs(app, id, 'msix', triggerFds(0, [e, e]))
  t.same(await fireOk(app, id, { index: 'msix', vector: 1, count: 1000 }), { fired: 1000, delivered: 1000, lost: 0, pended: 0, coalesced: 0 })
  t.same(await fireOk(app, id, { index: '2', vector: 0 }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 }, 'index as a numeral, count defaults to 1')
  t.equal(await readEventfd(app, e), 1001)
  const v = countersOf(await vectors(app, id, 'msix'))
  t.same([v[0].delivered, v[1].delivered], [1, 1000])
})

// A list's signals are summed per eventfd and made after the list (src/core/interrupts.ts,
// SignalBatch): what anyone can see must be what firing its vectors one by one does. Each case
// runs twice on a fresh app, the list in one request and then one request per vector.
const listCases: Array<{ name: string, list: number[], virqfd: boolean, counters: number[], intxDelivered: number }> = [
  { name: 'eventfds shared by runs of vectors and interleaved', list: [0, 1, 0, 2, 1, 4, 3, 3, 0, 2, 4, 9], virqfd: false, counters: [7, 2, 2], intxDelivered: 0 },
  // e1 is also a virqfd of another device's INTx (line high): each signal runs it, and
  // each run unmasks, redelivers and automasks again.
  { name: 'one eventfd also a virqfd: it runs per signal', list: [2, 2, 0, 2], virqfd: true, counters: [1, 0, 0], intxDelivered: 4 }
]

for (const c of listCases) {
  t.test(`7 fire: a vectors list signals as its vectors fired one by one would: ${c.name}`, async (t) => {
    const run = async (asList: boolean) => {
      const app = await build(t)
      const id = await device(app, 'linux-6.12')
      const [e0, e1, e2] = [await createEventfd(app), await createEventfd(app), await createEventfd(app)]
      // vectors 0, 1, 3 -> e0; 2 -> e1; 4 -> e2 (9: no host vector, pends)
      await setIrqs(app, id, 'msix', triggerFds(0, [e0, e0, e1, e0, e2]))
      let other: string | undefined
      let ey = -1
      if (c.virqfd) {
        other = await createDevice(app, { abi: 'linux-6.12', intx: true, pcie: true })
        ey = await createEventfd(app)
        await setIrqs(app, other, 'intx', triggerFds(0, [ey]))
        await setIrqs(app, other, 'intx', { action: 'unmask', start: 0, count: 1, data: { type: 'eventfd', fds: [e1] } })
        await fireOk(app, other, { index: 'intx', level: 'assert' })
      }
      // A reader already waiting on e0 is woken by the list's signals (and takes some of them).
      const waiting = app.inject({ method: 'POST', url: `/v1/eventfds/${e0}/read?timeoutMs=5000` })
      await new Promise((resolve) => setImmediate(resolve))
      const tallies: Array<Awaited<ReturnType<typeof fireOk>>> = []
      if (asList) tallies.push(await fireOk(app, id, { index: 'msix', vectors: c.list }))
      else for (const v of c.list) tallies.push(await fireOk(app, id, { index: 'msix', vectors: [v] }))
      const woken = await waiting
      const sum = (k: 'fired' | 'delivered' | 'lost' | 'pended' | 'coalesced') => tallies.reduce((n, x) => n + x[k], 0)
      return {
        tally: { fired: sum('fired'), delivered: sum('delivered'), lost: sum('lost'), pended: sum('pended'), coalesced: sum('coalesced') },
        woken: woken.statusCode,
        // What e0 received: what the waiter took and what is left.
        counters: [(woken.statusCode === 200 ? woken.json().value : 0) + await peekEventfd(app, e0), await peekEventfd(app, e1), await peekEventfd(app, e2)],
        intxDelivered: other === undefined ? 0 : countersOf(await vectors(app, other, 'intx'))[0].delivered,
        vectors: countersOf(await vectors(app, id, 'msix'))
      }
    }
    const list = await run(true)
    const oneByOne = await run(false)
    t.same(list, oneByOne, 'the same eventfd counters, virqfd runs, vector counters and tallies')
    // And the values the rules give, so that two equal wrong answers fail too.
    t.equal(list.woken, 200, 'the waiting reader was woken')
    t.same(list.counters, c.counters)
    t.equal(list.intxDelivered, c.intxDelivered)
    const pended = c.list.filter((v) => v === 9).length
    t.same(list.tally, { fired: c.list.length, delivered: c.list.length - pended, lost: 0, pended, coalesced: 0 })
  })
}

const badFires: Array<{ name: string, body: Record<string, unknown>, reason?: string }> = [
  { name: 'vectors list with one vector >= table size', body: { index: 'msix', vectors: [0, 1, 16] }, reason: 'vector-out-of-range' },
  { name: 'vector >= table size with count', body: { index: 'msix', vector: 16, count: 5 }, reason: 'vector-out-of-range' },
  { name: 'msi vector >= msi count', body: { index: 'msi', vectors: [0, 8] }, reason: 'vector-out-of-range' },
  { name: 'vector above any table (schema)', body: { index: 'msix', vector: 2048 } },
  { name: 'vectors and vector together', body: { index: 'msix', vectors: [0], vector: 0 }, reason: 'ambiguous-vectors' },
  { name: 'msix without a vector', body: { index: 'msix' }, reason: 'vector-required' },
  { name: 'count 0', body: { index: 'msix', vector: 0, count: 0 } },
  { name: 'intx with count', body: { index: 'intx', count: 2 }, reason: 'count-not-for-intx' },
  { name: 'intx vector 1', body: { index: 'intx', vector: 1 }, reason: 'vector-out-of-range' },
  { name: 'err with a level', body: { index: 'err', level: 'assert' }, reason: 'level-only-for-intx' },
  { name: 'msix with a level', body: { index: 'msix', vector: 0, level: 'assert' }, reason: 'level-only-for-intx' },
  { name: 'msix list with a level', body: { index: 'msix', vectors: [0], level: 'pulse' }, reason: 'level-only-for-intx' },
  { name: 'intx with a vectors list, even [0]', body: { index: 'intx', vectors: [0] }, reason: 'vectors-only-for-msi' },
  { name: 'err with a vectors list', body: { index: 'err', vectors: [0, 0] }, reason: 'vectors-only-for-msi' },
  { name: 'unknown index name', body: { index: 'nmi' } }
]

for (const c of badFires) {
  t.test(`7 bad fire → 400, nothing fired: ${c.name}`, async (t) => {
    const app = await build(t)
    const id = await device(app, 'linux-6.12')
    const e = await createEventfd(app)
    await setIrqs(app, id, 'msix', triggerFds(0, [e, e]))
    await setIrqs(app, id, 'err', triggerFds(0, [e]))
    const before = await Promise.all(['intx', 'msi', 'msix', 'err'].map(async (i) => countersOf(await vectors(app, id, i))))
    const res = await fire(app, id, c.body)
    t.equal(res.statusCode, 400, res.body)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    if (c.reason !== undefined) t.equal(res.json().reason, c.reason)
    const after = await Promise.all(['intx', 'msi', 'msix', 'err'].map(async (i) => countersOf(await vectors(app, id, i))))
    t.same(after, before, 'counters unchanged')
    t.equal(await peekEventfd(app, e), 0, 'nothing signalled')
  })
}

t.test('7 fire: unknown device → 404; index the device lacks → 400', async (t) => {
  const app = await build(t)
  t.equal((await fire(app, 'nope', { index: 'msix', vector: 0 })).statusCode, 404)
  const id = await createDevice(app, { intx: false })
  const res = await fire(app, id, { index: 'msix', vector: 0 })
  t.equal(res.statusCode, 400)
  t.equal(res.json().reason, 'no-such-index')
})

t.test('7 noresize: QEMU grows MSI-X under linux-6.1 (disable, re-enable) and loses what fires between', async (t) => {
  const app = await build(t)
  const id = await device(app, 'linux-6.1')
  t.equal((await irq(app, id, 'msix')).flagsValue, 0x9, 'NORESIZE reported')
  const [e0, e5] = [await createEventfd(app), await createEventfd(app)]
  await setIrqs(app, id, 'msix', triggerFds(0, [e0]))
  t.same(await fireOk(app, id, { index: 'msix', vector: 0 }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
  // Guest unmasks vector 5: adding it in place is refused, so QEMU disables and re-enables.
  t.equal((await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: triggerFds(5, [e5]) })).statusCode, 400)
  await setIrqs(app, id, 'msix', disable)
  t.same(await fireOk(app, id, { index: 'msix', vectors: [0, 0] }), { fired: 2, delivered: 0, lost: 2, pended: 0, coalesced: 0 }, 'lost in the window')
  await setIrqs(app, id, 'msix', triggerFds(0, [e0, -1, -1, -1, -1, e5]))
  t.same(await fireOk(app, id, { index: 'msix', vectors: [0, 5] }), { fired: 2, delivered: 2, lost: 0, pended: 0, coalesced: 0 })
  t.same([await readEventfd(app, e0), await readEventfd(app, e5)], [2, 1])
  const v = countersOf(await vectors(app, id, 'msix'))
  t.same(v[0], { vector: 0, fired: 4, delivered: 2, lost: 2, lostBy: { 'index-disabled': 2, 'not-allocated': 0, 'no-trigger': 0 } })
  t.same(v[5], { ...zeroCounters(5), fired: 1, delivered: 1 })
})

t.test('7 noresize: linux-6.12 adds vectors one at a time and loses nothing', async (t) => {
  const app = await build(t)
  const id = await device(app, 'linux-6.12')
  t.equal((await irq(app, id, 'msix')).flagsValue, 0x1, 'no NORESIZE')
  const [e0, e5] = [await createEventfd(app), await createEventfd(app)]
  await setIrqs(app, id, 'msix', triggerFds(0, [e0]))
  t.same(await fireOk(app, id, { index: 'msix', vector: 0 }), { fired: 1, delivered: 1, lost: 0, pended: 0, coalesced: 0 })
  await setIrqs(app, id, 'msix', triggerFds(5, [e5]))
  t.same(await fireOk(app, id, { index: 'msix', vectors: [0, 5, 0] }), { fired: 3, delivered: 3, lost: 0, pended: 0, coalesced: 0 })
  t.same([await readEventfd(app, e0), await readEventfd(app, e5)], [3, 1])
  const v = countersOf(await vectors(app, id, 'msix'))
  t.equal(v.reduce((n, x) => n + x.lost, 0), 0, 'no vector lost anything')
})
