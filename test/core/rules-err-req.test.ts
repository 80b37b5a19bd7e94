import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 5.5: ERR (index 3) and REQ (index 4), one trigger slot each, under every abi.

function setup (abi: Abi, index: number) {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi,
    { pcie: true, reset: true, intx: true, msiVectors: 1, msixTableSize: 4, msixDynamic: false }, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (flags: number, start: number, count: number, data: number[] = []): Out => {
    return trySetIrqs(world, dev, { flags, index, start, count, data }, new Effects())
  }
  const trigger = () => (index === 3 ? dev.errTrigger : dev.reqTrigger)
  /** A slot holding a fresh eventfd. */
  const armed = () => {
    const e = efd()
    set(EVENTFD | TRIGGER, 0, 1, [e.fd])
    return e
  }
  return { efd, set, trigger, armed }
}

const ok = { ret: 0 }
const einval = (reason: string) => ({ errno: 'EINVAL', reason })

for (const abi of ABIS) {
  for (const [index, name] of [[3, 'ERR'], [4, 'REQ']] as const) {
    t.test(`${abi}: 5.5 ${name}`, async (t) => {
      t.test('5.5 start must be 0 and count at most 1 (rule 5 answers first)', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(EVENTFD | TRIGGER, 1, 1, [e.fd]), einval('range-out-of-bounds'))
        t.same(set(EVENTFD | TRIGGER, 0, 2, [-1, -1]), einval('range-out-of-bounds'))
        t.equal(trigger(), e.fd)
      })
      t.test('5.5 NONE without a trigger is EINVAL (count 1 and count 0)', async (t) => {
        const { set, trigger } = setup(abi, index)
        t.same(set(NONE | TRIGGER, 0, 1), einval('no-trigger'))
        t.same(set(NONE | TRIGGER, 0, 0), einval('no-trigger'))
        t.equal(trigger(), -1)
      })
      t.test('5.5 NONE count 1 signals the trigger (loopback)', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(NONE | TRIGGER, 0, 1), ok)
        t.same(set(NONE | TRIGGER, 0, 1), ok)
        t.equal(e.value, 2)
        t.equal(trigger(), e.fd)
      })
      t.test('5.5 NONE count 0 releases the trigger', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(NONE | TRIGGER, 0, 0), ok)
        t.equal(trigger(), -1)
        t.equal(e.value, 0)
        t.same(set(NONE | TRIGGER, 0, 0), einval('no-trigger'), 'and again: nothing to release')
      })
      t.test('5.5 BOOL count 0 is EINVAL', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(BOOL | TRIGGER, 0, 0), einval('count-zero'))
        t.equal(trigger(), e.fd)
      })
      t.test('5.5 BOOL signals where the byte is non-zero and a trigger exists', async (t) => {
        const { set, armed } = setup(abi, index)
        t.same(set(BOOL | TRIGGER, 0, 1, [1]), ok, 'no trigger: success, nothing signalled')
        const e = armed()
        t.same(set(BOOL | TRIGGER, 0, 1, [0]), ok)
        t.equal(e.value, 0)
        t.same(set(BOOL | TRIGGER, 0, 1, [200]), ok)
        t.equal(e.value, 1)
      })
      t.test('5.5 EVENTFD count 0 is EINVAL', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(EVENTFD | TRIGGER, 0, 0), einval('count-zero'))
        t.equal(trigger(), e.fd)
      })
      t.test('5.5 EVENTFD fd -1 releases, even when there is no trigger', async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        t.same(set(EVENTFD | TRIGGER, 0, 1, [-1]), ok)
        armed()
        t.same(set(EVENTFD | TRIGGER, 0, 1, [-1]), ok)
        t.equal(trigger(), -1)
      })
      t.test('5.5 EVENTFD fd >= 0 replaces; unknown fd is EBADF and keeps the old trigger', async (t) => {
        const { set, trigger, armed, efd } = setup(abi, index)
        const first = armed()
        const second = efd()
        t.same(set(EVENTFD | TRIGGER, 0, 1, [second.fd]), ok)
        t.equal(trigger(), second.fd)
        t.same(set(EVENTFD | TRIGGER, 0, 1, [777]), { errno: 'EBADF', reason: 'bad-fd' })
        t.equal(trigger(), second.fd)
        t.not(first.fd, second.fd)
      })
      t.test(`5.5 EVENTFD fd < -1: ${ABI_PROFILES[abi].errReqBelowMinusOneIgnored ? 'ignored' : 'EINVAL'}, nothing changes`, async (t) => {
        const { set, trigger, armed } = setup(abi, index)
        const e = armed()
        t.same(set(EVENTFD | TRIGGER, 0, 1, [-2]), ABI_PROFILES[abi].errReqBelowMinusOneIgnored ? ok : einval('negative-fd'))
        t.equal(trigger(), e.fd)
        t.same(set(EVENTFD | TRIGGER, 0, 1, [-2147483648]), ABI_PROFILES[abi].errReqBelowMinusOneIgnored ? ok : einval('negative-fd'))
        t.equal(trigger(), e.fd)
      })
    })
  }
}
