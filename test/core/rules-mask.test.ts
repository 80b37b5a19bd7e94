import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_MASK as MASK, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { getIrqInfo, type Abi, type DeviceCaps } from '../../src/core/device.ts'
import { FireTally, fireVector } from '../../src/core/interrupts.ts'
import { isMasked, maskedBy, pendingBitArray } from '../../src/core/masking.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 11: mask bits and pending bits, on both abis. After every step each case checks
// the counting identity of 11.3, per vector and in total: fired = delivered + lost + coalesced + pendingNow.

const MSI = 1
const MSIX = 2
const ABIS: Abi[] = ['linux-6.12', 'linux-6.1']

function setup (abi: Abi, caps: Partial<DeviceCaps> = {}) {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi,
    { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 16, msixDynamic: abi === 'linux-6.12', ...caps }, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const identity = (): string[] => {
    const bad: string[] = []
    for (const index of [MSI, MSIX]) {
      const c = dev.counters[index]
      let fired = 0
      let rest = 0
      for (let v = 0; v < c.size; v++) {
        const r = c.delivered[v] + c.lostTotal(v) + c.coalesced[v] + c.pending[v]
        if (c.fired[v] !== r) bad.push(`index ${index} vector ${v}: fired ${c.fired[v]} != ${r}`)
        if (c.pended[v] !== c.deliveredFromPending[v] + c.pending[v]) bad.push(`index ${index} vector ${v}: pended != deliveredFromPending + pending`)
        fired += c.fired[v]
        rest += r
      }
      if (fired !== rest) bad.push(`index ${index}: total fired ${fired} != ${rest}`)
    }
    return bad
  }
  let tt: T | undefined
  const check = (): void => { tt?.same(identity(), [], 'fired = delivered + lost + coalesced + pendingNow') }
  const set = (index: number, flags: number, start: number, count: number, data: number[] = [], fx = new Effects()): Out => {
    const out = trySetIrqs(world, dev, { flags, index, start, count, data }, fx)
    check()
    return out
  }
  const fire = (index: number, v: number, n = 1) => {
    const tally = new FireTally()
    fireVector(world, dev, index, v, n, new Effects(), tally)
    check()
    return { fired: tally.fired, delivered: tally.delivered, lost: tally.lost, pended: tally.pended, coalesced: tally.coalesced }
  }
  const vec = (index: number, v: number) => {
    const c = dev.counters[index]
    return {
      pending: c.pending[v] === 1,
      masked: isMasked(dev, index, v),
      maskedBy: maskedBy(dev, index, v),
      pended: c.pended[v],
      coalesced: c.coalesced[v],
      delivered: c.delivered[v],
      deliveredFromPending: c.deliveredFromPending[v],
      lost: c.lostTotal(v)
    }
  }
  return { world, dev, efd, set, fire, vec, bind: (tap: T) => { tt = tap } }
}
type T = typeof t
type H = ReturnType<typeof setup>

const ok = { ret: 0 }
const delivered = (n = 1) => ({ fired: n, delivered: n, lost: 0, pended: 0, coalesced: 0 })
const pended = (n = 1) => ({ fired: n, delivered: 0, lost: 0, pended: 1, coalesced: n - 1 })
const coalesced = (n = 1) => ({ fired: n, delivered: 0, lost: 0, pended: 0, coalesced: n })
const lost = (n = 1) => ({ fired: n, delivered: 0, lost: n, pended: 0, coalesced: 0 })

interface Case {
  name: string
  abis?: Abi[]
  caps?: Partial<DeviceCaps>
  run: (h: H, t: T, abi: Abi) => void
}

const cases: Case[] = [
  // ---- 11.1 which vectors are masked
  {
    name: '11.1 a vector with a trigger is unmasked: a fire is delivered',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.match(vec(MSIX, 0), { masked: false, maskedBy: [] })
      t.same(fire(MSIX, 0), delivered())
      t.equal(e.value, 1)
    }
  },
  {
    name: '11.1 a vector holding a host vector but never given a trigger is masked',
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.match(vec(MSIX, 1), { masked: true, maskedBy: ['host'] })
      t.same(fire(MSIX, 1), pended())
    }
  },
  {
    name: '11.1 a vector de-assigned with -1 is masked again',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, e.fd]), ok)
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 1, [-1]), ok)
      t.match(vec(MSIX, 1), { masked: true, maskedBy: ['host'] })
      t.same(fire(MSIX, 1), pended())
      t.equal(e.value, 0)
    }
  },
  {
    name: '11.1 a vector with no host vector is masked (6.12: not yet allocated; 6.1: beyond nvec)',
    run: ({ set, fire, vec, dev, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      t.equal(dev.msix.allocated[5], 0)
      t.match(vec(MSIX, 5), { masked: true, maskedBy: ['host'] })
      t.same(fire(MSIX, 5), pended())
    }
  },
  {
    name: '11.1 MSI with per-vector masking follows the same rule',
    caps: { msiPerVectorMask: true },
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 2, [e.fd, -1]), ok)
      t.same(fire(MSI, 0), delivered())
      t.match(vec(MSI, 1), { masked: true, maskedBy: ['host'] })
      t.same(fire(MSI, 1), pended())
      t.same(fire(MSI, 5), pended(), 'beyond nvec: no host vector, masked')
    }
  },
  {
    name: '11.1 MSI without per-vector masking has no mask: section 7 losses',
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.same(fire(MSI, 1), lost())
      t.same(fire(MSI, 5), lost())
      t.match(vec(MSI, 1), { masked: false, maskedBy: [], pending: false })
      t.same(fire(MSI, 5, 3), lost(3), 'and never a pending bit')
    }
  },
  // ---- 11.2 what a fire does
  {
    name: '11.2 masked and pending clear: the pending bit is set, nothing signalled',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      t.match(vec(MSIX, 1), { pending: true, pended: 1, coalesced: 0, delivered: 0, lost: 0 })
      t.equal(e.value, 0)
    }
  },
  {
    name: '11.2 masked and pending set: the fire joins the pending message (a latch, not a counter)',
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      t.same(fire(MSIX, 5), pended())
      t.same(fire(MSIX, 5), coalesced())
      t.same(fire(MSIX, 5, 4), coalesced(4))
      t.same(fire(MSIX, 6, 3), pended(3), 'count 3 on a clear bit: one pends, two coalesce')
      t.match(vec(MSIX, 5), { pending: true, pended: 1, coalesced: 5 })
    }
  },
  {
    name: '11.2 a disabled index pends nothing: lost index-disabled',
    run: ({ set, fire, vec, efd, dev }, t) => {
      t.same(fire(MSIX, 0, 2), lost(2))
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
      t.same(fire(MSIX, 3), lost())
      t.match(vec(MSIX, 3), { pending: false, masked: true })
      t.equal(dev.counters[MSIX].lost[0][3], 1)
    }
  },
  // ---- 11.3 when a pending bit is sent
  {
    name: '11.3 a dynamic add sends the pending message inside that SET_IRQS',
    abis: ['linux-6.12'],
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      t.same(fire(MSIX, 5, 3), pended(3))
      const e5 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 5, 1, [e5.fd]), ok)
      t.equal(e5.value, 1, 'signalled once')
      t.match(vec(MSIX, 5), { pending: false, masked: false, delivered: 1, deliveredFromPending: 1, coalesced: 2 })
    }
  },
  {
    name: '11.3 a re-assignment after -1 sends it',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      const e1 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 1, [e1.fd]), ok)
      t.equal(e1.value, 1)
      t.match(vec(MSIX, 1), { pending: false, deliveredFromPending: 1 })
      t.same(fire(MSIX, 1), delivered(), 'then fires are delivered as usual')
      t.equal(e1.value, 2)
    }
  },
  {
    name: '11.3 a pending bit survives disable + re-enable; the new trigger receives it (the NORESIZE path)',
    run: ({ set, fire, vec, efd }, t) => {
      const e0 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e0.fd]), ok)
      t.same(fire(MSIX, 3, 2), pended(2), 'vector 3 has no host vector')
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
      t.same(fire(MSIX, 3), lost(), 'fired while disabled: lost, the bit stays as it was')
      t.match(vec(MSIX, 3), { pending: true })
      const e3 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 4, [e0.fd, -1, -1, e3.fd]), ok)
      t.equal(e3.value, 1)
      t.match(vec(MSIX, 3), { pending: false, delivered: 1, deliveredFromPending: 1, coalesced: 1, lost: 1 })
    }
  },
  {
    name: '11.3 a re-enable without a trigger for the vector keeps it pending',
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.match(vec(MSIX, 1), { pending: true, masked: true })
      t.same(fire(MSIX, 1), coalesced())
    }
  },
  {
    name: '11.3 a pending bit survives VFIO_DEVICE_RESET',
    run: ({ set, fire, vec, efd, world, dev }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      world.resetDevice(dev, new Effects())
      t.match(vec(MSIX, 1), { pending: true })
      const e1 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 1, [e1.fd]), ok)
      t.equal(e1.value, 1)
    }
  },
  {
    name: '11.3 only deleting the device drops it',
    run: ({ set, fire, efd, world, dev }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      const fx = new Effects()
      world.deleteDevice(dev, fx)
      t.notOk(world.devices.has(dev.id))
      t.ok(fx.deletedDevices.has(dev), 'its counters and pending bits go with its rows')
    }
  },
  {
    name: '11.3 loopback (NONE/BOOL trigger) does not send a pending message',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      t.same(set(MSIX, NONE | TRIGGER, 0, 2), ok)
      t.equal(e.value, 1, 'vector 0 looped back')
      t.match(vec(MSIX, 1), { pending: true, deliveredFromPending: 0 })
    }
  },
  {
    name: '11.3 a block that fails later has already sent the pending message of an earlier vector',
    run: ({ set, fire, vec, efd }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [efd().fd, -1, -1]), ok)
      t.same(fire(MSIX, 1), pended())
      const e1 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 2, [e1.fd, 999]), { errno: 'EBADF', reason: 'bad-fd' })
      t.equal(e1.value, 1, 'the handler was installed, the message went out, then the block was undone')
      t.match(vec(MSIX, 1), { pending: false, masked: true, deliveredFromPending: 1 })
    }
  },
  {
    name: '11.3 the identity holds across delivered, lost, coalesced and pending on one vector',
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(fire(MSIX, 2, 2), lost(2))
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [e.fd, -1, -1]), ok)
      t.same(fire(MSIX, 2, 3), pended(3))
      t.same(set(MSIX, EVENTFD | TRIGGER, 2, 1, [e.fd]), ok)
      t.same(fire(MSIX, 2, 4), delivered(4))
      t.same(set(MSIX, EVENTFD | TRIGGER, 2, 1, [-1]), ok)
      t.same(fire(MSIX, 2), pended())
      t.match(vec(MSIX, 2), { pending: true, delivered: 5, lost: 2, coalesced: 2, pended: 2, deliveredFromPending: 1 })
    }
  },
  // ---- 11.4 MSI-X MASKABLE
  {
    name: '11.4 without the opt-in: no MASKABLE, MSI-X MASK and UNMASK are ENOTTY',
    run: ({ set, dev, efd }, t, abi) => {
      t.equal(getIrqInfo(dev, 16, MSIX).flags, abi === 'linux-6.12' ? 0x1 : 0x9)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      for (const action of [MASK, UNMASK]) {
        for (const type of [NONE, BOOL]) t.same(set(MSIX, type | action, 0, 1, [1]), { errno: 'ENOTTY', reason: 'no-handler' })
      }
    }
  },
  {
    name: '11.4 GET_IRQ_INFO on MSI-X adds MASKABLE: 0x3 dynamic, 0xb NORESIZE',
    caps: { msixMaskable: true },
    run: ({ dev }, t, abi) => {
      t.equal(getIrqInfo(dev, 16, MSIX).flags, abi === 'linux-6.12' ? 0x3 : 0xb)
      t.equal(getIrqInfo(dev, 16, MSI).flags, 0x9, 'MSI unchanged')
    }
  },
  {
    name: '11.4 MASK and UNMASK need MSI-X enabled (EINVAL)',
    caps: { msixMaskable: true },
    run: ({ set }, t) => {
      t.same(set(MSIX, NONE | MASK, 0, 1), { errno: 'EINVAL', reason: 'index-not-enabled' })
      t.same(set(MSIX, NONE | UNMASK, 0, 1), { errno: 'EINVAL', reason: 'index-not-enabled' })
    }
  },
  {
    name: '11.4 DATA_EVENTFD on MASK/UNMASK is ENOTTY',
    caps: { msixMaskable: true },
    run: ({ set, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(set(MSIX, EVENTFD | MASK, 0, 1, [e.fd]), { errno: 'ENOTTY', reason: 'mask-eventfd-unsupported' })
      t.same(set(MSIX, EVENTFD | UNMASK, 0, 1, [e.fd]), { errno: 'ENOTTY', reason: 'unmask-eventfd-unsupported' })
    }
  },
  {
    name: '11.4 NONE masks every vector in range; a user-masked vector with a trigger pends',
    caps: { msixMaskable: true },
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, e.fd]), ok)
      t.same(set(MSIX, NONE | MASK, 0, 2), ok)
      t.match(vec(MSIX, 0), { masked: true, maskedBy: ['user'] })
      t.match(vec(MSIX, 3), { masked: true, maskedBy: ['host'] }, 'vectors out of range untouched')
      t.same(fire(MSIX, 0, 2), pended(2))
      t.equal(e.value, 0)
    }
  },
  {
    name: '11.4 BOOL masks and unmasks where the byte is non-zero',
    caps: { msixMaskable: true },
    run: ({ set, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 3, [e.fd, e.fd, e.fd]), ok)
      t.same(set(MSIX, BOOL | MASK, 0, 3, [1, 0, 255]), ok)
      t.same([0, 1, 2].map((v) => vec(MSIX, v).maskedBy), [['user'], [], ['user']])
      t.same(set(MSIX, BOOL | UNMASK, 0, 3, [0, 1, 1]), ok)
      t.same([0, 1, 2].map((v) => vec(MSIX, v).maskedBy), [['user'], [], []])
    }
  },
  {
    name: '11.4 clearing the user mask of a pending, otherwise unmasked vector sends it',
    caps: { msixMaskable: true },
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(set(MSIX, NONE | MASK, 0, 1), ok)
      t.same(fire(MSIX, 0, 3), pended(3))
      t.same(set(MSIX, NONE | UNMASK, 0, 1), ok)
      t.equal(e.value, 1)
      t.match(vec(MSIX, 0), { pending: false, masked: false, deliveredFromPending: 1, coalesced: 2 })
    }
  },
  {
    name: '11.4 masks combine: clearing the user mask of a host-masked vector sends nothing; nor does a trigger on a user-masked one',
    caps: { msixMaskable: true },
    run: ({ set, fire, vec, efd }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [e.fd, -1]), ok)
      t.same(set(MSIX, NONE | MASK, 1, 1), ok)
      t.match(vec(MSIX, 1), { maskedBy: ['host', 'user'] })
      t.same(fire(MSIX, 1), pended())
      t.same(set(MSIX, NONE | UNMASK, 1, 1), ok)
      t.match(vec(MSIX, 1), { pending: true, maskedBy: ['host'] })
      t.same(set(MSIX, NONE | MASK, 1, 1), ok)
      const e1 = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 1, [e1.fd]), ok)
      t.equal(e1.value, 0, 'still user-masked')
      t.same(set(MSIX, NONE | UNMASK, 1, 1), ok)
      t.equal(e1.value, 1, 'sent when the last mask clears')
    }
  },
  {
    name: '11.4 user masks start clear at enable and are dropped at disable',
    caps: { msixMaskable: true },
    run: ({ set, vec, efd, dev }, t) => {
      const e = efd()
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(set(MSIX, NONE | MASK, 0, 4), ok)
      t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
      t.equal(dev.msix.userMask.reduce((a, b) => a + b, 0), 0)
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.match(vec(MSIX, 0), { masked: false, maskedBy: [] })
    }
  },
  {
    name: '11.4 MSI stays ENOTTY, per-vector mask or not',
    caps: { msixMaskable: true, msiPerVectorMask: true },
    run: ({ set, efd }, t) => {
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      t.same(set(MSI, NONE | MASK, 0, 1), { errno: 'ENOTTY', reason: 'no-handler' })
      t.same(set(MSI, NONE | UNMASK, 0, 1), { errno: 'ENOTTY', reason: 'no-handler' })
    }
  },
  // ---- 11.5 state and visibility
  {
    name: '11.5 a user mask is configuration (the device changes); a pending bit is not',
    caps: { msixMaskable: true },
    run: ({ set, fire, efd, dev }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 2, [efd().fd, -1]), ok)
      let fx = new Effects()
      t.same(set(MSIX, NONE | MASK, 0, 1, [], fx), ok)
      t.ok(fx.devices.has(dev), 'MASK changed the device: durable before the answer')
      fx = new Effects()
      t.same(set(MSIX, NONE | MASK, 0, 1, [], fx), ok)
      t.notOk(fx.devices.has(dev), 'masking a masked vector changes nothing')
      fire(MSIX, 1)
      fx = new Effects()
      t.same(set(MSIX, EVENTFD | TRIGGER, 1, 1, [efd().fd], fx), ok)
      t.ok(fx.counters.has(dev), 'the sent pending message is written with the counters of that SET_IRQS')
      t.same([...dev.counters[MSIX].touched()].includes(1), true)
    }
  },
  {
    name: '11.5 the Pending Bit Array: pending vectors and 64-bit little-endian words',
    caps: { msixTableSize: 130 },
    run: ({ set, fire, efd, dev }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      for (const v of [3, 17, 64, 129]) fire(MSIX, v)
      t.same(pendingBitArray(dev, MSIX), {
        pending: [3, 17, 64, 129],
        words: ['0x0000000000020008', '0x0000000000000001', '0x0000000000000002']
      })
    }
  },
  {
    name: '11.5 the done-when sequence: table 16, vector 0 enabled, vector 5 fired three times',
    run: ({ set, fire, vec, efd, dev }, t) => {
      t.same(set(MSIX, EVENTFD | TRIGGER, 0, 1, [efd().fd]), ok)
      for (let i = 0; i < 3; i++) fire(MSIX, 5)
      t.match(vec(MSIX, 5), { pending: true, pended: 1, coalesced: 2 })
      t.same(pendingBitArray(dev, MSIX).words, ['0x0000000000000020'])
      if (dev.abi === 'linux-6.12') {
        const e5 = efd()
        t.same(set(MSIX, EVENTFD | TRIGGER, 5, 1, [e5.fd]), ok)
        t.equal(e5.value, 1)
      } else {
        t.same(set(MSIX, NONE | TRIGGER, 0, 0), ok)
        const e5 = efd()
        t.same(set(MSIX, EVENTFD | TRIGGER, 0, 6, [-1, -1, -1, -1, -1, e5.fd]), ok)
        t.equal(e5.value, 1)
      }
      t.same(pendingBitArray(dev, MSIX), { pending: [], words: ['0x0000000000000000'] })
    }
  }
]

for (const c of cases) {
  for (const abi of c.abis ?? ABIS) {
    t.test(`${c.name} (${abi})`, async (t) => {
      const h = setup(abi, c.caps)
      h.bind(t as T)
      c.run(h, t as T, abi)
    })
  }
}
