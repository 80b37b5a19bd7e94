import t from 'tap'
import { trySetIrqs } from './lib.ts'
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE } from '../../src/core/constants.ts'
import type { DeviceCaps } from '../../src/core/device.ts'
import { IrqCounters } from '../../src/core/counters.ts'
import { FireTally, fireVector } from '../../src/core/interrupts.ts'
import { Effects, World } from '../../src/core/world.ts'

// Memory follows what a device uses, not its table size: an index whose vectors never moved
// holds no counter columns of its own (they read the shared zeros), and nothing on any path
// writes those shared zeros.

const CAPS: DeviceCaps = { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 2048, msixDynamic: true, msiPerVectorMask: true }

t.test('memory: a device that has fired nothing holds no counter columns', async (t) => {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2026-11-28T00:00:00.000Z', 'linux-6.12', CAPS, new Effects())
  t.same(dev.counters.map((c) => c.materialized), [false, false, false, false, false])
})

t.test('memory: a fire gives its index columns of its own, and only that index', async (t) => {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2026-11-28T00:00:00.000Z', 'linux-6.12', CAPS, new Effects())
  fireVector(world, dev, 2, 7, 3, new Effects(), new FireTally())
  t.same(dev.counters.map((c) => c.materialized), [false, false, true, false, false])
  t.equal(dev.counters[2].fired[7], 3)
})

t.test('memory: no path writes the shared zero columns', async (t) => {
  const world = new World(4096)
  const fx = new Effects()
  const devs = [0, 1, 2].map((i) => world.addDevice(`d${i}`, `d${i}`, '2026-11-28T00:00:00.000Z', 'linux-6.12', CAPS, fx))
  const e = world.eventfds.create({ semaphore: false, label: null, createdAt: '2026-11-28T00:00:00.000Z' })
  const tally = new FireTally()
  const T = VFIO_IRQ_SET_ACTION_TRIGGER
  // Every kind of interrupt outcome on device 0: lost (disabled), pended (masked), delivered,
  // coalesced, and delivered from pending when a vector gets its trigger.
  fireVector(world, devs[0], 2, 1, 2, fx, tally)
  trySetIrqs(world, devs[0], { flags: T | VFIO_IRQ_SET_DATA_EVENTFD, index: 2, start: 0, count: 1, data: [e.fd] }, fx)
  fireVector(world, devs[0], 2, 0, 1, fx, tally)
  fireVector(world, devs[0], 2, 5, 3, fx, tally)
  trySetIrqs(world, devs[0], { flags: T | VFIO_IRQ_SET_DATA_EVENTFD, index: 2, start: 5, count: 1, data: [e.fd] }, fx)
  trySetIrqs(world, devs[0], { flags: T | VFIO_IRQ_SET_DATA_NONE, index: 2, start: 0, count: 0, data: [] }, fx)
  fireVector(world, devs[1], 1, 0, 1, fx, tally)
  world.deleteDevice(devs[2], fx)
  t.ok(tally.fired > 0 && tally.delivered > 0 && tally.lost > 0 && tally.pended > 0 && tally.coalesced > 0, 'every outcome happened')
  for (const size of [1, 8, 2048]) {
    const fresh = new IrqCounters(size)
    const all = [fresh.fired, fresh.delivered, ...fresh.lost, fresh.pended, fresh.coalesced, fresh.deliveredFromPending, fresh.pending]
    t.ok(all.every((col) => col.every((x) => x === 0)), `the shared zeros of size ${size} are still zero`)
  }
  t.same(devs[1].counters.map((c) => c.materialized), [false, true, false, false, false], 'device 1: only MSI moved')
})
