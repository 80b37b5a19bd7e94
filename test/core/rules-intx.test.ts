import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_MASK as MASK, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { type Device } from '../../src/core/device.ts'
import { driveIntx, FireTally } from '../../src/core/interrupts.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 5.1 (INTx mask/unmask) and 5.2 (INTx trigger), under every abi. INTx is the same
// under each, except that linux-5.10 and tglx-2021 keep the value written to an unmask eventfd
// (5.1), which the cases that read it say.

function setup (abi: Abi) {
  const world = new World(4096)
  const dev: Device = world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi,
    { pcie: true, reset: true, intx: true, msiVectors: 4, msixTableSize: 8, msixDynamic: ABI_PROFILES[abi].dynamicMsix }, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (flags: number, start: number, count: number, data: number[] = [], index = 0, fx = new Effects()): Out => {
    return trySetIrqs(world, dev, { flags, index, start, count, data }, fx)
  }
  /** INTx enabled with a fresh trigger eventfd. */
  const enable = () => {
    const trig = efd()
    set(EVENTFD | TRIGGER, 0, 1, [trig.fd])
    return trig
  }
  return { world, dev, efd, set, enable }
}

const ok = { ret: 0 }
const err = (errno: string, reason: string) => ({ errno, reason })

for (const abi of ABIS) {
  t.test(`${abi}: 5.1 INTx mask and unmask`, async (t) => {
    t.test('5.1 mask requires INTx enabled', async (t) => {
      const { set, dev } = setup(abi)
      t.same(set(NONE | MASK, 0, 1), err('EINVAL', 'intx-not-enabled'))
      t.same(set(NONE | UNMASK, 0, 1), err('EINVAL', 'intx-not-enabled'))
      t.equal(dev.intx.masked, false)
    })
    t.test('5.1 mask and unmask require count 1', async (t) => {
      const { set, enable, dev } = setup(abi)
      enable()
      t.same(set(NONE | MASK, 0, 0), err('EINVAL', 'intx-range'))
      t.same(set(BOOL | UNMASK, 0, 0), err('EINVAL', 'intx-range'))
      t.equal(dev.intx.masked, false)
    })
    t.test('5.1 NONE masks; masking a masked line is a no-op', async (t) => {
      const { set, enable, dev } = setup(abi)
      enable()
      t.same(set(NONE | MASK, 0, 1), ok)
      t.equal(dev.intx.masked, true)
      const fx = new Effects()
      t.same(set(NONE | MASK, 0, 1, [], 0, fx), ok)
      t.equal(dev.intx.masked, true)
      t.equal(fx.devices.size, 0, 'nothing changed')
    })
    t.test('5.1 BOOL masks only where the byte is non-zero', async (t) => {
      const { set, enable, dev } = setup(abi)
      enable()
      t.same(set(BOOL | MASK, 0, 1, [0]), ok)
      t.equal(dev.intx.masked, false)
      t.same(set(BOOL | MASK, 0, 1, [7]), ok)
      t.equal(dev.intx.masked, true)
    })
    t.test('5.1 mask with EVENTFD is ENOTTY', async (t) => {
      const { set, enable, efd, dev } = setup(abi)
      enable()
      t.same(set(EVENTFD | MASK, 0, 1, [efd().fd]), err('ENOTTY', 'mask-eventfd-unsupported'))
      t.equal(dev.intx.masked, false)
    })
    t.test('5.1 unmask with NONE and BOOL', async (t) => {
      const { set, enable, dev } = setup(abi)
      enable()
      set(NONE | MASK, 0, 1)
      t.same(set(BOOL | UNMASK, 0, 1, [0]), ok)
      t.equal(dev.intx.masked, true, 'BOOL 0 leaves it masked')
      t.same(set(BOOL | UNMASK, 0, 1, [1]), ok)
      t.equal(dev.intx.masked, false)
      set(NONE | MASK, 0, 1)
      t.same(set(NONE | UNMASK, 0, 1), ok)
      t.equal(dev.intx.masked, false)
    })
    const consumes = ABI_PROFILES[abi].unmaskEventfdConsumesValue
    t.test(`5.1 unmask eventfd: a write unmasks and is ${consumes ? 'consumed' : 'kept (5.10 virqfd)'}`, async (t) => {
      const { set, enable, efd, dev, world } = setup(abi)
      enable()
      const u = efd()
      t.same(set(EVENTFD | UNMASK, 0, 1, [u.fd]), ok)
      t.equal(dev.intx.unmaskFd, u.fd)
      set(NONE | MASK, 0, 1)
      world.writeEventfd(u, 5, new Effects())
      t.equal(dev.intx.masked, false)
      t.equal(u.value, consumes ? 0 : 5, consumes ? 'the written value is consumed' : 'the written value stays in the counter')
    })
    t.test('5.1 one eventfd as trigger and unmask eventfd does not loop: the redelivery signals it once more, without running its virqfd again', async (t) => {
      const { set, enable, dev, world } = setup(abi)
      const e = enable()
      t.same(set(EVENTFD | UNMASK, 0, 1, [e.fd]), ok)
      const tally = new FireTally()
      driveIntx(world, dev, 'assert', new Effects(), tally)
      // The raise masks the line and signals e (1); e's virqfd unmasks, consuming e (or not, under
      // 5.10 and tglx-2021); the line is still high, so it is masked and e signalled again (+1),
      // from inside the virqfd: no second run. Unbounded, this recursed until the stack overflowed.
      t.equal(dev.intx.masked, true, 'masked again by the redelivery')
      t.equal(dev.intx.line, true)
      t.equal(e.value, consumes ? 1 : 2, consumes ? 'consumed once, signalled once more' : 'both signals stay')
      t.equal(tally.lost, 0)
    })
    t.test('5.1 unmask eventfd holding a value: unmasks at once, value stays', async (t) => {
      const { set, enable, efd, dev, world } = setup(abi)
      enable()
      set(NONE | MASK, 0, 1)
      const u = efd()
      world.writeEventfd(u, 3, new Effects())
      t.same(set(EVENTFD | UNMASK, 0, 1, [u.fd]), ok)
      t.equal(dev.intx.masked, false)
      t.equal(u.value, 3)
    })
    t.test('5.1 a second unmask eventfd is EBUSY; unknown fd is EBADF', async (t) => {
      const { set, enable, efd, dev } = setup(abi)
      enable()
      const u = efd()
      set(EVENTFD | UNMASK, 0, 1, [u.fd])
      t.same(set(EVENTFD | UNMASK, 0, 1, [efd().fd]), err('EBUSY', 'unmask-eventfd-busy'))
      t.same(set(EVENTFD | UNMASK, 0, 1, [9999]), err('EBADF', 'bad-fd'))
      t.equal(dev.intx.unmaskFd, u.fd)
    })
    t.test('5.1 fd < 0 removes the unmask eventfd, even when there is none', async (t) => {
      const { set, enable, efd, dev, world } = setup(abi)
      enable()
      t.same(set(EVENTFD | UNMASK, 0, 1, [-1]), ok, 'none installed')
      const u = efd()
      set(EVENTFD | UNMASK, 0, 1, [u.fd])
      t.same(set(EVENTFD | UNMASK, 0, 1, [-7]), ok)
      t.equal(dev.intx.unmaskFd, -1)
      set(NONE | MASK, 0, 1)
      world.writeEventfd(u, 1, new Effects())
      t.equal(dev.intx.masked, true, 'no longer unmasks')
      t.equal(u.value, 1, 'no longer consumes')
    })
    t.test('5.1 unmask while the line is still asserted: masked again and redelivered', async (t) => {
      const { set, enable, dev, world } = setup(abi)
      const trig = enable()
      dev.intx.line = true
      world.irq.raiseIntx(dev, new Effects())
      t.equal(dev.intx.masked, true)
      t.equal(trig.value, 1)
      t.same(set(NONE | UNMASK, 0, 1), ok)
      t.equal(dev.intx.masked, true, 'automasked again')
      t.equal(trig.value, 2, 'signalled again')
      dev.intx.line = false
      t.same(set(NONE | UNMASK, 0, 1), ok)
      t.equal(dev.intx.masked, false)
      t.equal(trig.value, 2)
    })
  })

  t.test(`${abi}: 5.2 INTx trigger`, async (t) => {
    t.test('5.2 NONE count 0 disables INTx: trigger, unmask eventfd and type dropped', async (t) => {
      const { set, enable, efd, dev } = setup(abi)
      enable()
      set(EVENTFD | UNMASK, 0, 1, [efd().fd])
      t.same(set(NONE | TRIGGER, 0, 0), ok)
      t.equal(dev.irqType, 'none')
      t.equal(dev.intx.trigger, -1)
      t.equal(dev.intx.unmaskFd, -1)
    })
    t.test('5.2 disabling INTx when it is not enabled is EINVAL', async (t) => {
      const { set, dev } = setup(abi)
      t.same(set(NONE | TRIGGER, 0, 0), err('EINVAL', 'intx-not-enabled'))
      t.equal(dev.irqType, 'none')
    })
    t.test('5.2 another type enabled is EINVAL', async (t) => {
      const { set, efd, dev } = setup(abi)
      t.same(set(EVENTFD | TRIGGER, 0, 1, [-1], 1), ok, 'MSI enabled')
      t.same(set(EVENTFD | TRIGGER, 0, 1, [efd().fd]), err('EINVAL', 'irq-type-conflict'))
      t.same(set(NONE | TRIGGER, 0, 0), err('EINVAL', 'irq-type-conflict'))
      t.equal(dev.irqType, 'msi')
    })
    t.test('5.2 count must be 1 when enabled', async (t) => {
      const { set, enable, dev } = setup(abi)
      const trig = enable()
      t.same(set(BOOL | TRIGGER, 0, 0), err('EINVAL', 'intx-range'))
      t.same(set(EVENTFD | TRIGGER, 0, 0), err('EINVAL', 'intx-range'))
      t.equal(dev.intx.trigger, trig.fd)
    })
    t.test('5.2 enable with an eventfd, line unmasked', async (t) => {
      const { set, efd, dev } = setup(abi)
      const e = efd()
      t.same(set(EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.equal(dev.irqType, 'intx')
      t.equal(dev.intx.trigger, e.fd)
      t.equal(dev.intx.masked, false)
    })
    t.test('5.2 enable with an unknown fd is EBADF and leaves INTx disabled', async (t) => {
      const { set, dev } = setup(abi)
      t.same(set(EVENTFD | TRIGGER, 0, 1, [424242]), err('EBADF', 'bad-fd'))
      t.equal(dev.irqType, 'none')
    })
    t.test('5.2 enable with fd -1: enabled, no trigger', async (t) => {
      const { set, dev } = setup(abi)
      t.same(set(EVENTFD | TRIGGER, 0, 1, [-1]), ok)
      t.equal(dev.irqType, 'intx')
      t.equal(dev.intx.trigger, -1)
    })
    t.test('5.2 enabled: an eventfd swaps the trigger; fd < 0 stays enabled and silent', async (t) => {
      const { set, enable, efd, dev } = setup(abi)
      const first = enable()
      const second = efd()
      t.same(set(EVENTFD | TRIGGER, 0, 1, [second.fd]), ok)
      t.equal(dev.intx.trigger, second.fd)
      t.same(set(EVENTFD | TRIGGER, 0, 1, [999]), err('EBADF', 'bad-fd'))
      t.equal(dev.intx.trigger, second.fd, 'EBADF keeps the trigger')
      t.same(set(EVENTFD | TRIGGER, 0, 1, [-1]), ok)
      t.equal(dev.irqType, 'intx')
      t.equal(dev.intx.trigger, -1)
      t.same(set(NONE | TRIGGER, 0, 1), ok, 'loopback with no trigger')
      t.equal(first.value + second.value, 0)
    })
    t.test('5.2 loopback needs INTx enabled', async (t) => {
      const { set } = setup(abi)
      t.same(set(NONE | TRIGGER, 0, 1), err('EINVAL', 'intx-not-enabled'))
      t.same(set(BOOL | TRIGGER, 0, 1, [1]), err('EINVAL', 'intx-not-enabled'))
    })
    t.test('5.2 loopback signals the trigger and does not automask', async (t) => {
      const { set, enable, dev } = setup(abi)
      const trig = enable()
      t.same(set(NONE | TRIGGER, 0, 1), ok)
      t.equal(trig.value, 1)
      t.equal(dev.intx.masked, false)
      t.same(set(BOOL | TRIGGER, 0, 1, [0]), ok)
      t.equal(trig.value, 1, 'BOOL 0 does not signal')
      t.same(set(BOOL | TRIGGER, 0, 1, [1]), ok)
      t.equal(trig.value, 2)
      t.equal(dev.intx.masked, false)
    })
  })
}
