import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { type Device, type DeviceCaps } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { VfioError } from '../../src/core/errno.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 6 (the host vector pool) and 9 (reset and close), under every abi.

const MSI = 1
const MSIX = 2
function setup (capacity: number) {
  const world = new World(capacity)
  let n = 0
  const add = (abi: Abi, caps: Partial<DeviceCaps> = {}) => world.addDevice(`d${n++}`, 'd', '2024-01-01T00:00:00.000Z', abi,
    { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 64, msixDynamic: ABI_PROFILES[abi].dynamicMsix, ...caps }, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (dev: Device, index: number, flags: number, start: number, count: number, data: number[] = []): Out => {
    return trySetIrqs(world, dev, { flags, index, start, count, data }, new Effects())
  }
  const enable = (dev: Device, index: number, n: number) => set(dev, index, EVENTFD | TRIGGER, 0, n, new Array(n).fill(-1))
  const pool = () => ({ used: world.pool.used, free: world.pool.free })
  return { world, add, efd, set, enable, pool }
}

const ok = { ret: 0 }
const enospc = { errno: 'ENOSPC', reason: 'host-vectors-exhausted' }

for (const abi of ABIS) {
  t.test(`${abi}: 6 host vector pool`, async (t) => {
    t.test('6 exact fit: all nvec free → 0, all taken', async (t) => {
      const { add, enable, pool } = setup(4)
      const dev = add(abi)
      t.same(enable(dev, MSIX, 4), ok)
      t.same(pool(), { used: 4, free: 0 })
      t.equal(dev.irqType, 'msix')
    })
    t.test('6 partial: fewer free → the positive number, nothing taken, index stays disabled', async (t) => {
      const { add, enable, pool } = setup(3)
      const dev = add(abi)
      t.same(enable(dev, MSI, 8), { ret: 3 })
      t.equal(dev.irqType, 'none')
      t.equal(dev.msi.allocatedCount, 0)
      t.same(pool(), { used: 0, free: 3 })
      t.same(enable(dev, MSI, 3), ok, 'retry with that many')
      t.same(pool(), { used: 3, free: 0 })
    })
    t.test('6 partial answer of 1, as recorded on a real kernel', async (t) => {
      const { add, enable, pool } = setup(5)
      const [a, b] = [add(abi), add(abi)]
      t.same(enable(a, MSIX, 4), ok)
      t.same(enable(b, MSIX, 2), { ret: 1 })
      t.equal(b.irqType, 'none')
      t.same(pool(), { used: 4, free: 1 })
    })
    t.test('6 none free → ENOSPC, nothing enabled', async (t) => {
      const { add, enable, pool } = setup(4)
      const [a, b] = [add(abi), add(abi)]
      enable(a, MSIX, 4)
      t.same(enable(b, MSI, 1), enospc)
      t.same(enable(b, MSIX, 8), enospc)
      t.equal(b.irqType, 'none')
      t.same(pool(), { used: 4, free: 0 })
    })
    t.test('6 disable returns every host vector of the index at once', async (t) => {
      const { add, enable, set, pool, efd } = setup(8)
      const dev = add(abi)
      enable(dev, MSIX, 3)
      const e = efd()
      set(dev, MSIX, EVENTFD | TRIGGER, 0, 3, [-1, -1, -1])
      t.same(pool(), { used: 3, free: 5 }, 'de-assigning returns nothing one by one')
      if (ABI_PROFILES[abi].dynamicMsix) t.same(set(dev, MSIX, EVENTFD | TRIGGER, 20, 1, [e.fd]), ok)
      t.same(set(dev, MSIX, NONE | TRIGGER, 0, 0), ok)
      t.same(pool(), { used: 0, free: 8 })
    })
    if (ABI_PROFILES[abi].dynamicMsix) {
      t.test('6 a dynamic MSI-X vector takes one from the pool when first given a trigger', async (t) => {
        const { add, enable, set, pool, efd } = setup(4)
        const dev = add(abi)
        const e = efd()
        enable(dev, MSIX, 1)
        t.same(set(dev, MSIX, EVENTFD | TRIGGER, 5, 1, [-1]), ok)
        t.same(pool(), { used: 1, free: 3 }, 'fd -1 takes nothing')
        t.same(set(dev, MSIX, EVENTFD | TRIGGER, 5, 1, [e.fd]), ok)
        t.same(pool(), { used: 2, free: 2 })
        t.same(set(dev, MSIX, EVENTFD | TRIGGER, 5, 1, [-1]), ok)
        t.same(set(dev, MSIX, EVENTFD | TRIGGER, 5, 1, [e.fd]), ok)
        t.same(pool(), { used: 2, free: 2 }, 'an allocated vector is not taken twice')
      })
      t.test('6 a dynamic vector with the pool empty → ENOSPC, earlier vectors of the block rolled back', async (t) => {
        const { add, enable, set, pool, efd } = setup(3)
        const dev = add(abi)
        const e = efd()
        enable(dev, MSIX, 2)
        t.same(set(dev, MSIX, EVENTFD | TRIGGER, 1, 3, [e.fd, e.fd, e.fd]), enospc)
        t.same(Array.from(dev.msix.trigger.slice(0, 4)), [-1, -1, -1, -1])
        t.equal(dev.msix.allocated[2], 1, 'vector 2 got the last host vector and keeps it until disable')
        t.same(pool(), { used: 3, free: 0 })
      })
    }
  })

  t.test(`${abi}: 9 reset and close`, async (t) => {
    t.test('9 reset without reset support is EINVAL', async (t) => {
      const { world, add } = setup(8)
      const dev = add(abi, { reset: false })
      let caught: unknown
      try {
        world.resetDevice(dev, new Effects())
      } catch (err) {
        caught = err
      }
      t.ok(caught instanceof VfioError)
      t.match(caught, { errno: 'EINVAL', reason: 'reset-unsupported' })
    })
    t.test('9 reset keeps type, vector triggers, ERR/REQ triggers and eventfds; lowers INTx', async (t) => {
      const { world, add, set, efd } = setup(8)
      const dev = add(abi)
      const [a, b, c] = [efd(), efd(), efd()]
      set(dev, MSIX, EVENTFD | TRIGGER, 0, 3, [a.fd, -1, b.fd])
      set(dev, 3, EVENTFD | TRIGGER, 0, 1, [c.fd])
      set(dev, 4, EVENTFD | TRIGGER, 0, 1, [a.fd])
      a.value = 5
      dev.intx.line = true
      world.resetDevice(dev, new Effects())
      t.equal(dev.irqType, 'msix')
      t.same(Array.from(dev.msix.trigger.slice(0, 3)), [a.fd, -1, b.fd])
      t.equal(dev.msix.allocatedCount, 3)
      t.same([dev.errTrigger, dev.reqTrigger], [c.fd, a.fd])
      t.equal(world.eventfds.size, 3)
      t.equal(a.value, 5)
      t.equal(dev.intx.line, false)
      t.equal(world.pool.used, 3)
    })
    t.test('9 reset keeps INTx enabled with its trigger and unmask eventfd', async (t) => {
      const { world, add, set, efd } = setup(8)
      const dev = add(abi)
      const [trig, unmask] = [efd(), efd()]
      set(dev, 0, EVENTFD | TRIGGER, 0, 1, [trig.fd])
      set(dev, 0, EVENTFD | 0x10, 0, 1, [unmask.fd])
      world.resetDevice(dev, new Effects())
      t.same([dev.irqType, dev.intx.trigger, dev.intx.unmaskFd], ['intx', trig.fd, unmask.fd])
    })
    t.test('9 delete disables the index, releases ERR and REQ, returns host vectors', async (t) => {
      const { world, add, set, enable, efd } = setup(8)
      const [dev, other] = [add(abi), add(abi)]
      const e = efd()
      enable(other, MSI, 2)
      set(dev, MSIX, EVENTFD | TRIGGER, 0, 5, [e.fd, e.fd, -1, -1, e.fd])
      set(dev, 3, EVENTFD | TRIGGER, 0, 1, [e.fd])
      set(dev, 4, EVENTFD | TRIGGER, 0, 1, [e.fd])
      t.equal(world.pool.used, 7)
      t.equal(world.bindingsOf(e).length, 5)
      world.deleteDevice(dev, new Effects())
      t.equal(world.pool.used, 2, "only the other device's vectors remain")
      t.equal(world.devices.has(dev.id), false)
      t.same(world.bindingsOf(e), [])
      t.equal(world.eventfds.get(e.fd, 'default'), e, 'eventfds outlive the device')
    })
  })
}
