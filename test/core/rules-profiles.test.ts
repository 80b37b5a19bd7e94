import t from 'tap'
import { trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_INFO_NORESIZE as NORESIZE, VFIO_IRQ_SET_ACTION_MASK as MASK, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK as UNMASK, VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { getDeviceInfo, getIrqInfo, snapshotDevice, type Device } from '../../src/core/device.ts'
import { VfioError } from '../../src/core/errno.ts'
import { ABI_PROFILES, ABIS, type Abi, type AbiProfile } from '../../src/core/profiles.ts'
import { TEMPLATE_NAMES, TEMPLATES, type TemplateName } from '../../src/core/templates.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 2 and 12: what each abi profile does differently, one field at a time over
// every profile, and the seed's patch (tglx-2021) against the kernel it was applied to.

function device (abi: Abi, template: TemplateName) {
  const world = new World(4096)
  const tpl = TEMPLATES[template]
  const dev: Device = world.addDevice('d', 'd', '', abi, { ...tpl.caps, msixDynamic: ABI_PROFILES[abi].dynamicMsix }, new Effects(), 'default', { driver: tpl.driver, template })
  getDeviceInfo(dev, 16, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (index: number, flags: number, start: number, count: number, data: number[] = []): Out =>
    trySetIrqs(world, dev, { flags, index, start, count, data })
  const info = (index: number): { flags: number, count: number } | { errno: string } => {
    try {
      const i = getIrqInfo(dev, 16, index)
      return { flags: i.flags, count: i.count }
    } catch (err) {
      if (err instanceof VfioError) return { errno: err.errno }
      throw err
    }
  }
  return { world, dev, efd, set, info }
}

const ok = { ret: 0 }

/** Each field of the profile table, and the answer it decides. */
const FIELDS: Array<{ field: keyof AbiProfile, rule: string, observe: (abi: Abi) => unknown, when: Record<string, unknown> }> = [
  {
    field: 'dynamicMsix',
    rule: '5.4 adding MSI-X vector 10 while enabled',
    observe: (abi) => {
      const { set, efd } = device(abi, 'virtio-net')
      set(2, EVENTFD | TRIGGER, 0, 1, [efd().fd])
      return set(2, EVENTFD | TRIGGER, 10, 1, [efd().fd])
    },
    when: { true: ok, false: { errno: 'EINVAL', reason: 'beyond-enabled-vectors' } }
  },
  {
    field: 'staticRangeCheck',
    rule: '5.3 count 0 with start > 0 enables (or is EINVAL up front)',
    observe: (abi) => device(abi, 'virtio-net').set(2, EVENTFD | TRIGGER, 5, 0),
    when: { true: { errno: 'EINVAL', reason: 'beyond-enabled-vectors' }, false: ok }
  },
  {
    field: 'errReqBelowMinusOneIgnored',
    rule: '5.5 ERR EVENTFD fd -2',
    observe: (abi) => device(abi, 'e1000e').set(3, EVENTFD | TRIGGER, 0, 1, [-2]),
    when: { true: ok, false: { errno: 'EINVAL', reason: 'negative-fd' } }
  },
  {
    field: 'unmaskEventfdConsumesValue',
    rule: '5.1 a write to the INTx unmask eventfd',
    observe: (abi) => {
      const { world, set, efd } = device(abi, 'edu')
      const [e, u] = [efd(), efd()]
      set(0, EVENTFD | TRIGGER, 0, 1, [e.fd])
      set(0, EVENTFD | UNMASK, 0, 1, [u.fd])
      world.writeEventfd(u, 3, new Effects())
      return u.value
    },
    when: { true: 0, false: 3 }
  },
  {
    field: 'reportsNoresize',
    rule: '3 GET_IRQ_INFO flags of MSI, ERR and REQ',
    observe: (abi) => { const { info } = device(abi, 'e1000e'); return [info(1), info(3), info(4)].map((i) => (i as { flags: number }).flags) },
    when: { true: [0x9, 0x9, 0x9], false: [0x1, 0x1, 0x1] }
  },
  {
    field: 'mttyEra',
    rule: '12 mtty GET_IRQ_INFO on REQ',
    observe: (abi) => { const i = device(abi, 'mtty').info(4); return 'count' in i ? { count: i.count } : i },
    when: { 'pre-6.7': { count: 1 }, '6.7+': { errno: 'EINVAL' } }
  }
]

for (const f of FIELDS) {
  t.test(`profile field ${f.field}: ${f.rule}`, async (t) => {
    for (const abi of ABIS) {
      const value = ABI_PROFILES[abi][f.field]
      const want = f.when[String(value)]
      t.same(f.observe(abi), want, `${abi}: ${f.field} ${String(value)}`)
    }
  })
}

// ---------------------------------------------------------------------------------------------
// The seed's patch as a test: tglx-2021 is linux-5.10 with NORESIZE removed, nothing else.

/** A script of SET_IRQS calls touching every index and action; fds are filled in per device. */
const SCRIPT: Array<[index: number, flags: number, start: number, count: number, data: Array<number | 'e'>]> = [
  [0, EVENTFD | TRIGGER, 0, 1, ['e']], [0, NONE | MASK, 0, 1, []], [0, BOOL | UNMASK, 0, 1, [1]], [0, NONE | TRIGGER, 0, 1, []],
  [0, NONE | TRIGGER, 0, 0, []], [1, EVENTFD | TRIGGER, 0, 1, ['e']], [1, EVENTFD | TRIGGER, 0, 2, ['e', -1]],
  [1, BOOL | TRIGGER, 0, 1, [1]], [1, NONE | TRIGGER, 0, 0, []], [2, EVENTFD | TRIGGER, 0, 3, ['e', -1, -1]],
  [2, EVENTFD | TRIGGER, 5, 1, ['e']], [2, NONE | TRIGGER, 0, 4, []], [2, NONE | TRIGGER, 0, 0, []],
  [3, EVENTFD | TRIGGER, 0, 1, ['e']], [3, EVENTFD | TRIGGER, 0, 1, [-2]], [4, EVENTFD | TRIGGER, 0, 1, ['e']],
  [4, NONE | TRIGGER, 0, 1, []], [4, NONE | TRIGGER, 0, 0, []], [1, NONE | MASK, 0, 1, []], [2, 0, 0, 1, []]
]

for (const template of TEMPLATE_NAMES) {
  t.test(`12 the seed's patch on ${template} (${TEMPLATES[template].driver}): GET_IRQ_INFO loses exactly NORESIZE, SET_IRQS is linux-5.10's`, async (t) => {
    const before = device('linux-5.10', template)
    const after = device('tglx-2021', template)
    let removed = 0
    for (let index = 0; index < 6; index++) {
      const [a, b] = [before.info(index), after.info(index)]
      if ('flags' in a && 'flags' in b) {
        t.same(b, { ...a, flags: a.flags & ~NORESIZE }, `index ${index}: the same answer without NORESIZE`)
        if ((a.flags & NORESIZE) !== 0) removed++
      } else {
        t.same(b, a, `index ${index}: the same error`)
      }
    }
    t.ok(removed > 0, `NORESIZE removed on ${removed} index(es)`)
    for (const [i, [index, flags, start, count, data]] of SCRIPT.entries()) {
      const fd = (d: { efd: () => { fd: number } }) => d.efd().fd
      const ra = before.set(index, flags, start, count, data.map((x) => x === 'e' ? fd(before) : x))
      const rb = after.set(index, flags, start, count, data.map((x) => x === 'e' ? fd(after) : x))
      t.same(rb, ra, `step ${i}: index ${index} flags 0x${flags.toString(16)} [${start}, +${count})`)
      const [sa, sb] = [snapshotDevice(before.dev), snapshotDevice(after.dev)]
      t.same(sb, sa, `step ${i}: the same state`)
    }
  })
}
