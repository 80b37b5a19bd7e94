import t from 'tap'
import { DEVICES, imsStory, SLOTS, STEPS, TABLE, UNLOAD_AT } from '../../examples/ims.ts'

// docs/model.md 13, the example: eight idxd-like devices under one 64-slot parent enable
// vectors until the store runs out. The slot accounting holds at every step and at the end;
// EBUSY answers come only once the store is full; wq0's unload frees its slots for the others;
// emulated vector 0 delivers on every device all along, without a slot.

t.test('13 one parent of 64 slots, eight idxd-like devices enabling vectors until the store runs out', async (t) => {
  const r = await imsStory()
  t.equal(r.rows.length, DEVICES)
  t.ok(r.usedByStep.every((n) => n <= SLOTS), 'slots in use never above the store')
  t.ok(r.fullAt > 0, `the store ran out (step ${r.fullAt})`)
  t.equal(r.usedByStep[r.fullAt - 1], SLOTS, 'EBUSY came only once every slot was taken')
  t.ok(r.rows.reduce((n, row) => n + row.ebusy, 0) > 0, 'some enables answered EBUSY')
  t.ok(r.usedByStep[UNLOAD_AT] < SLOTS, "wq0's unload gave its slots back at once")
  t.equal(r.usedByStep[STEPS - 1], SLOTS, 'and the waiting guests took them')
  t.same(r.parent, { total: SLOTS, used: SLOTS, free: 0 })
  t.equal(r.rows.reduce((n, row) => n + row.slots, 0), r.parent.used, 'per-device slots add up to the parent')
  t.equal(r.hostVectorsUsed, r.parent.used, 'one host vector per slot, none for emulated vectors')
  for (const row of r.rows) {
    t.equal(row.slots, row.imsVectors, `${row.name}: slots = IMS-backed vectors with an eventfd`)
    t.ok(row.delivered >= (row.name === 'wq0' ? UNLOAD_AT : STEPS), `${row.name}: emulated vector 0 delivered every step`)
    t.ok(row.delivered <= row.fired)
  }
  t.same(r.rows[0], { ...r.rows[0], slots: 0, enabled: 0, fired: UNLOAD_AT * TABLE }, 'wq0 holds nothing after its unload')
})
