import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { type DeviceCaps } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 5.3 (MSI/MSI-X trigger) and 5.4 (assigning a block), under every abi.

const MSI = 1
const MSIX = 2
function setup (abi: Abi, caps: Partial<DeviceCaps> = {}) {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi,
    { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 64, msixDynamic: ABI_PROFILES[abi].dynamicMsix, ...caps }, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (index: number, flags: number, start: number, count: number, data: number[] = []): Out => {
    return trySetIrqs(world, dev, { flags, index, start, count, data }, new Effects())
  }
  const fds = (index: number, n: number) => Array.from((index === MSIX ? dev.msix : dev.msi).trigger.slice(0, n))
  return { world, dev, efd, set, fds }
}

const ok = { ret: 0 }
const err = (errno: string, reason: string) => ({ errno, reason })
const einval = (reason: string) => err('EINVAL', reason)

for (const abi of ABIS) {
  const p = ABI_PROFILES[abi]
  /** Before 6.5 a block is checked against the enabled vectors up front (docs/model.md 5.4). */
  const upfront = p.staticRangeCheck

  t.test(`${abi}: 5.3 MSI and MSI-X trigger`, async (t) => {
    t.test('5.3.1 NONE count 0 disables: triggers dropped, every host vector freed', async (t) => {
      const { set, efd, dev, world, fds } = setup(abi)
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 4, [e.fd, -1, e.fd, -1]), ok)
      t.equal(world.pool.used, 4)
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
      t.equal(dev.irqType, 'none')
      t.same(fds(MSIX, 4), [-1, -1, -1, -1])
      t.equal(dev.msix.allocatedCount, 0)
      t.equal(world.pool.used, 0)
    })
    t.test('5.3.2 another type enabled is EINVAL', async (t) => {
      const { set, dev, world } = setup(abi)
      set(0, EVENTFD | TRIGGER, 0, 1, [-1])
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [-1]), einval('irq-type-conflict'))
      set(0, NONE | TRIGGER, 0, 0)
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [-1]), ok)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [-1]), einval('irq-type-conflict'))
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), einval('irq-type-conflict'))
      t.equal(dev.irqType, 'msi')
      t.equal(world.pool.used, 1)
    })
    t.test('5.3.3 enable allocates all of [0, start+count), fd -1 included', async (t) => {
      const { set, efd, dev, world, fds } = setup(abi)
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 2, 2, [-1, e.fd]), ok)
      t.equal(dev.irqType, 'msix')
      t.same(Array.from(dev.msix.allocated.slice(0, 5)), [1, 1, 1, 1, 0])
      t.equal(dev.msix.enabledNvec, 4)
      t.same(fds(MSIX, 4), [-1, -1, -1, e.fd])
      t.equal(world.pool.used, 4)
    })
    t.test('5.3.3 a failing block on enable disables the index again', async (t) => {
      const { set, efd, dev, world } = setup(abi)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, 999]), err('EBADF', 'bad-fd'))
      t.equal(dev.irqType, 'none')
      t.equal(dev.msix.allocatedCount, 0)
      t.equal(world.pool.used, 0)
    })
    t.test('5.3.3 nvec 0 (start 0, count 0) is ERANGE, nothing enabled', async (t) => {
      const { set, dev, world } = setup(abi)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 0), err('ERANGE', 'no-vectors'))
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 0), err('ERANGE', 'no-vectors'))
      t.equal(dev.irqType, 'none')
      t.equal(world.pool.used, 0)
    })
    t.test(`5.3.3 count 0 with start > 0: ${!upfront ? 'enabled with start vectors' : 'EINVAL, stays disabled'}`, async (t) => {
      const { set, dev, world, fds } = setup(abi)
      if (!upfront) {
        t.same(set(MSIX, EVENTFD | TRIGGER, 3, 0), ok)
        t.equal(dev.irqType, 'msix')
        t.equal(dev.msix.allocatedCount, 3)
        t.same(fds(MSIX, 3), [-1, -1, -1])
        t.equal(world.pool.used, 3)
      } else {
        t.same(set(MSIX, EVENTFD | TRIGGER, 3, 0), einval('beyond-enabled-vectors'))
        t.equal(dev.irqType, 'none')
        t.equal(dev.msix.allocatedCount, 0)
        t.equal(world.pool.used, 0)
      }
    })
    t.test('5.3.4 enabled: EVENTFD assigns the block, no new enable', async (t) => {
      const { set, efd, world, fds } = setup(abi)
      const [a, b] = [efd(), efd()]
      set(MSIX, EVENTFD | TRIGGER, 0, 3, [a.fd, -1, -1])
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 2, [b.fd, a.fd]), ok)
      t.same(fds(MSIX, 3), [a.fd, b.fd, a.fd], 'one eventfd may trigger several vectors')
      t.equal(world.pool.used, 3)
    })
    t.test('5.3.5 NONE/BOOL with the index not enabled is EINVAL (count-0 disable too)', async (t) => {
      const { set, dev } = setup(abi)
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), einval('index-not-enabled'))
      t.same(set(MSIX, NONE | TRIGGER, 0, 1), einval('index-not-enabled'))
      t.same(set(MSI, BOOL | TRIGGER, 0, 1, [1]), einval('index-not-enabled'))
      t.equal(dev.irqType, 'none')
    })
    t.test('5.3.5 loopback signals vectors with a trigger, BOOL where non-zero', async (t) => {
      const { set, efd } = setup(abi)
      const [a, b] = [efd(), efd()]
      set(MSI, EVENTFD | TRIGGER, 0, 4, [a.fd, -1, b.fd, a.fd])
      t.same(set(MSI, NONE | TRIGGER, 0, 4), ok)
      t.same([a.value, b.value], [2, 1])
      t.same(set(MSI, BOOL | TRIGGER, 0, 4, [1, 1, 0, 1]), ok)
      t.same([a.value, b.value], [4, 1])
    })
    t.test(`5.4 loopback past the enabled vectors: ${!upfront ? 'signals those with a trigger' : 'EINVAL'}`, async (t) => {
      const { set, efd } = setup(abi)
      const a = efd()
      set(MSIX, EVENTFD | TRIGGER, 0, 2, [-1, a.fd])
      t.same(set(MSIX, NONE | TRIGGER, 1, 4), !upfront ? ok : einval('beyond-enabled-vectors'))
      t.same(set(MSIX, BOOL | TRIGGER, 0, 3, [1, 1, 1]), !upfront ? ok : einval('beyond-enabled-vectors'))
      t.equal(a.value, !upfront ? 2 : 0)
    })
  })

  t.test(`${abi}: 5.4 assigning a block`, async (t) => {
    t.test('5.4.1 a new fd replaces the trigger; the host vector stays allocated', async (t) => {
      const { set, efd, dev, world, fds } = setup(abi)
      const [a, b] = [efd(), efd()]
      set(MSIX, EVENTFD | TRIGGER, 0, 2, [a.fd, a.fd])
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [b.fd, -1]), ok)
      t.same(fds(MSIX, 2), [b.fd, -1])
      t.equal(dev.msix.allocated[1], 1)
      t.equal(world.pool.used, 2)
    })
    t.test('5.4.2 any negative fd de-assigns; de-assigning an empty vector is a no-op', async (t) => {
      const { set, efd, fds, world } = setup(abi)
      const a = efd()
      set(MSIX, EVENTFD | TRIGGER, 0, 3, [a.fd, -1, a.fd])
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [-1000, -1, -2147483648]), ok)
      t.same(fds(MSIX, 3), [-1, -1, -1])
      t.equal(world.pool.used, 3)
    })
    t.test('5.4.3 MSI-X without dynamic allocation cannot grow: EINVAL', async (t) => {
      const { set, efd, fds, dev } = setup(abi, { msixDynamic: false })
      const a = efd()
      set(MSIX, EVENTFD | TRIGGER, 0, 2, [a.fd, -1])
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 2, [a.fd, a.fd]), einval(!upfront ? 'vector-not-allocated' : 'beyond-enabled-vectors'))
      t.same(fds(MSIX, 3), [a.fd, -1, -1], !upfront ? 'vector 1 rolled back' : 'nothing changed')
      t.equal(dev.msix.allocatedCount, 2)
    })
    t.test(`5.4 worked: add vector 10 with an eventfd → ${p.dynamicMsix ? '0 (dynamic)' : 'EINVAL, nothing changed'}`, async (t) => {
      const { set, efd, dev, world, fds } = setup(abi)
      const [e0, e] = [efd(), efd()]
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [e0.fd, -1, -1]), ok)
      t.same(set(MSIX, EVENTFD | TRIGGER, 10, 1, [e.fd]), p.dynamicMsix ? ok : einval('beyond-enabled-vectors'))
      t.equal(dev.msix.trigger[10], p.dynamicMsix ? e.fd : -1)
      t.equal(dev.msix.allocated[10], p.dynamicMsix ? 1 : 0)
      t.equal(world.pool.used, p.dynamicMsix ? 4 : 3)
      t.same(fds(MSIX, 3), [e0.fd, -1, -1])
      t.equal(dev.msix.enabledNvec, 3)
    })
    t.test('5.4 worked: MSI with 1 vector, set vector 1 with an eventfd → EINVAL', async (t) => {
      const { set, efd, dev, world } = setup(abi)
      const [e0, e1] = [efd(), efd()]
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [e0.fd]), ok)
      t.same(set(MSI, EVENTFD | TRIGGER, 1, 1, [e1.fd]), einval(!upfront ? 'vector-not-allocated' : 'beyond-enabled-vectors'))
      t.same(Array.from(dev.msi.trigger.slice(0, 2)), [e0.fd, -1])
      t.equal(dev.msi.allocated[1], 0)
      t.equal(world.pool.used, 1)
    })
    t.test(`5.4 worked: MSI with 1 vector, set vector 1 with fd -1 → ${!upfront ? '0' : 'EINVAL'}`, async (t) => {
      const { set, efd, dev, world } = setup(abi)
      const e0 = efd()
      set(MSI, EVENTFD | TRIGGER, 0, 1, [e0.fd])
      t.same(set(MSI, EVENTFD | TRIGGER, 1, 1, [-1]), !upfront ? ok : einval('beyond-enabled-vectors'))
      t.same(Array.from(dev.msi.trigger.slice(0, 2)), [e0.fd, -1])
      t.equal(world.pool.used, 1, 'no host vector taken')
    })
    t.test('5.4 worked: block [e0, e1, 999] → EBADF; 0 and 1 de-assigned, 2 lost its trigger', async (t) => {
      const { set, efd, fds } = setup(abi)
      const [e0, e1] = [efd(), efd()]
      set(MSIX, EVENTFD | TRIGGER, 0, 3, [e0.fd, -1, -1])
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [e0.fd, e1.fd, 999]), err('EBADF', 'bad-fd'))
      t.same(fds(MSIX, 3), [-1, -1, -1])
    })
    t.test('5.4 rollback: old triggers in range lost, vectors from 3 on untouched', async (t) => {
      const { set, efd, fds } = setup(abi)
      const [e0, e1, e2, e3, e4] = [efd(), efd(), efd(), efd(), efd()]
      set(MSIX, EVENTFD | TRIGGER, 0, 5, [e4.fd, e4.fd, e2.fd, e3.fd, e4.fd])
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [e0.fd, e1.fd, 999]), err('EBADF', 'bad-fd'))
      t.same(fds(MSIX, 5), [-1, -1, -1, e3.fd, e4.fd])
    })
    t.test(`5.4 up-front range check with fd -1: ${!upfront ? 'de-assigns' : 'EINVAL, nothing changed'}`, async (t) => {
      const { set, efd, fds, world } = setup(abi)
      const e = efd()
      set(MSIX, EVENTFD | TRIGGER, 0, 3, [e.fd, -1, e.fd])
      t.same(set(MSIX, EVENTFD | TRIGGER, 2, 2, [-1, -1]), !upfront ? ok : einval('beyond-enabled-vectors'))
      t.same(fds(MSIX, 4), !upfront ? [e.fd, -1, -1, -1] : [e.fd, -1, e.fd, -1])
      t.equal(world.pool.used, 3)
    })
  })
}
