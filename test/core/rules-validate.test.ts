import t from 'tap'
import { trySetIrqs } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_MASK as MASK, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { type DeviceCaps } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 4: the seven validation rules in order, then the ENOTTY dispatch table.

const CAPS: DeviceCaps = { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 64, msixDynamic: true }

interface Req { argsz?: number, flags: number, index: number, start: number, count: number, data?: number[] }

function setup (abi: Abi, caps: Partial<DeviceCaps> = {}) {
  const world = new World(4096)
  const dev = world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi,
    { ...CAPS, msixDynamic: ABI_PROFILES[abi].dynamicMsix, ...caps }, new Effects())
  /** SET_IRQS; argsz defaults to the header plus the data as the flags' type sizes it. */
  const set = (r: Req): { ret: number } | { errno: string, reason: string } => {
    const data = r.data ?? []
    return trySetIrqs(world, dev, { argsz: r.argsz, flags: r.flags, index: r.index, start: r.start, count: r.count, data })
  }
  return { world, dev, set }
}

const einval = (reason: string) => ({ errno: 'EINVAL', reason })
const enotty = { errno: 'ENOTTY', reason: 'no-handler' }

// Each case breaks its own rule and every later one it can, so the earlier rule must be the one that answers.
const RULES: Array<{ name: string, req: Req, caps?: Partial<DeviceCaps>, want: unknown }> = [
  { name: '4.1 argsz below 20', req: { argsz: 19, flags: 0x40 | NONE | BOOL, index: 9, start: 0, count: 0xffffffff }, want: einval('argsz-too-small') },
  { name: '4.1 argsz 0', req: { argsz: 0, flags: NONE | TRIGGER, index: 0, start: 0, count: 1 }, want: einval('argsz-too-small') },
  { name: '4.2 index 5', req: { flags: 0x40 | NONE | BOOL, index: 5, start: 0, count: 0xffffffff }, want: einval('index-out-of-range') },
  { name: '4.2 index 0xffffffff', req: { flags: NONE | TRIGGER, index: 0xffffffff, start: 0, count: 0 }, want: einval('index-out-of-range') },
  { name: '4.3 count overflow guard (count == U32_MAX - start, note >=)', req: { flags: 0x40 | NONE | BOOL, index: 2, start: 1, count: 0xfffffffe }, want: einval('count-overflow') },
  { name: '4.3 count overflow guard with start 0', req: { flags: NONE | TRIGGER, index: 2, start: 0, count: 0xffffffff }, want: einval('count-overflow') },
  { name: '4.3 count one below the guard passes to rule 5', req: { flags: NONE | TRIGGER, index: 2, start: 1, count: 0xfffffffd }, want: einval('range-out-of-bounds') },
  { name: '4.4 flag bit 0x40', req: { flags: 0x40 | NONE | TRIGGER, index: 2, start: 64, count: 0 }, want: einval('unknown-flags') },
  { name: '4.4 flag bit 0x80000000', req: { flags: 0x80000000 + (NONE | TRIGGER), index: 0, start: 0, count: 1 }, want: einval('unknown-flags') },
  { name: '4.5 start == count(index)', req: { flags: 0 /* no data type: rule 6 too */, index: 2, start: 64, count: 0 }, want: einval('range-out-of-bounds') },
  { name: '4.5 start + count > count(index)', req: { flags: BOOL | TRIGGER, index: 2, start: 60, count: 5 }, want: einval('range-out-of-bounds') },
  { name: '4.5 index with count 0 rejects even the count-0 disable', caps: { msiVectors: 0 }, req: { flags: NONE | TRIGGER, index: 1, start: 0, count: 0 }, want: einval('range-out-of-bounds') },
  { name: '4.5 INTx without a pin', caps: { intx: false }, req: { flags: NONE | MASK, index: 0, start: 0, count: 1 }, want: einval('range-out-of-bounds') },
  { name: '4.5 ERR on non-PCIe is EINVAL before dispatch', caps: { pcie: false }, req: { flags: NONE | MASK, index: 3, start: 0, count: 1 }, want: einval('range-out-of-bounds') },
  { name: '4.6 no data type bit', req: { flags: TRIGGER, index: 2, start: 0, count: 1 }, want: einval('data-type') },
  { name: '4.6 two data type bits', req: { flags: NONE | EVENTFD | TRIGGER, index: 2, start: 0, count: 1, data: [-1] }, want: einval('data-type') },
  { name: '4.6 three data type bits', req: { argsz: 20, flags: 0x7 | TRIGGER, index: 2, start: 0, count: 3 }, want: einval('data-type') },
  { name: '4.6 wins over ENOTTY dispatch (no action bit)', req: { flags: NONE | BOOL, index: 1, start: 0, count: 1 }, want: einval('data-type') },
  { name: '4.7 EVENTFD data shorter than count', req: { argsz: 24, flags: EVENTFD | TRIGGER, index: 2, start: 0, count: 2, data: [-1, -1] }, want: einval('data-too-short') },
  { name: '4.7 BOOL data shorter than count', req: { argsz: 22, flags: BOOL | TRIGGER, index: 2, start: 0, count: 3, data: [1, 1, 1] }, want: einval('data-too-short') },
  { name: '4.7 wins over ENOTTY dispatch', req: { argsz: 20, flags: EVENTFD | MASK, index: 2, start: 0, count: 1, data: [-1] }, want: einval('data-too-short') },
  { name: '4.7 longer data is accepted', req: { argsz: 32, flags: EVENTFD | TRIGGER, index: 2, start: 0, count: 1, data: [-1, 7, 8] }, want: { ret: 0 } },
  { name: '4.7 argsz holds count elements but fewer came: the copy faults (EFAULT)', req: { argsz: 28, flags: EVENTFD | TRIGGER, index: 2, start: 0, count: 2, data: [-1] }, want: { errno: 'EFAULT', reason: 'data-missing' } },
  { name: '4.7 argsz too small wins over missing data', req: { argsz: 24, flags: EVENTFD | TRIGGER, index: 2, start: 0, count: 2, data: [-1] }, want: einval('data-too-short') },
  { name: '4.7 NONE needs no data', req: { argsz: 20, flags: NONE | TRIGGER, index: 4, start: 0, count: 0 }, want: einval('no-trigger') }
]

// docs/model.md 4, the dispatch table: which (index, action) pairs reach a handler and which are ENOTTY.
const DISPATCH: Array<{ name: string, req: Req, want: unknown }> = [
  { name: '4 dispatch INTx MASK reaches 5.1', req: { flags: NONE | MASK, index: 0, start: 0, count: 1 }, want: einval('intx-not-enabled') },
  { name: '4 dispatch INTx UNMASK reaches 5.1', req: { flags: NONE | UNMASK, index: 0, start: 0, count: 1 }, want: einval('intx-not-enabled') },
  { name: '4 dispatch INTx TRIGGER reaches 5.2', req: { flags: EVENTFD | TRIGGER, index: 0, start: 0, count: 1, data: [-1] }, want: { ret: 0 } },
  { name: '4 dispatch MSI MASK is ENOTTY', req: { flags: NONE | MASK, index: 1, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch MSI UNMASK is ENOTTY', req: { flags: NONE | UNMASK, index: 1, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch MSI TRIGGER reaches 5.3', req: { flags: NONE | TRIGGER, index: 1, start: 0, count: 1 }, want: einval('index-not-enabled') },
  { name: '4 dispatch MSI-X MASK is ENOTTY', req: { flags: BOOL | MASK, index: 2, start: 3, count: 1, data: [1] }, want: enotty },
  { name: '4 dispatch MSI-X UNMASK is ENOTTY', req: { flags: EVENTFD | UNMASK, index: 2, start: 0, count: 1, data: [-1] }, want: enotty },
  { name: '4 dispatch MSI-X TRIGGER reaches 5.3', req: { flags: BOOL | TRIGGER, index: 2, start: 0, count: 1, data: [1] }, want: einval('index-not-enabled') },
  { name: '4 dispatch ERR MASK is ENOTTY', req: { flags: NONE | MASK, index: 3, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch ERR UNMASK is ENOTTY', req: { flags: NONE | UNMASK, index: 3, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch ERR TRIGGER reaches 5.5', req: { flags: NONE | TRIGGER, index: 3, start: 0, count: 1 }, want: einval('no-trigger') },
  { name: '4 dispatch REQ MASK is ENOTTY', req: { flags: NONE | MASK, index: 4, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch REQ UNMASK is ENOTTY', req: { flags: NONE | UNMASK, index: 4, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch REQ TRIGGER reaches 5.5', req: { flags: NONE | TRIGGER, index: 4, start: 0, count: 1 }, want: einval('no-trigger') },
  { name: '4 dispatch zero action bits is ENOTTY (INTx)', req: { flags: NONE, index: 0, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch zero action bits is ENOTTY (MSI-X)', req: { flags: EVENTFD, index: 2, start: 0, count: 1, data: [-1] }, want: enotty },
  { name: '4 dispatch MASK|UNMASK is ENOTTY', req: { flags: NONE | MASK | UNMASK, index: 0, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch MASK|TRIGGER is ENOTTY', req: { flags: NONE | MASK | TRIGGER, index: 2, start: 0, count: 1 }, want: enotty },
  { name: '4 dispatch all three action bits is ENOTTY', req: { flags: NONE | 0x38, index: 4, start: 0, count: 1 }, want: enotty }
]

for (const abi of ABIS) {
  t.test(`${abi}: 4 validation rules, in order`, async (t) => {
    for (const c of RULES) {
      const { set } = setup(abi, c.caps)
      t.same(set(c.req), c.want, c.name)
    }
  })

  t.test(`${abi}: 4 validation reads no state and changes none`, async (t) => {
    const { set, dev, world } = setup(abi)
    t.same(set({ flags: EVENTFD | TRIGGER, index: 2, start: 0, count: 2, data: [-1, -1] }), { ret: 0 })
    t.equal(dev.irqType, 'msix')
    // With MSI-X enabled, the same rule 5 answer as on a fresh device, and nothing changes.
    t.same(set({ flags: NONE | TRIGGER, index: 2, start: 64, count: 0 }), einval('range-out-of-bounds'), '4.5 count-0 disable needs start < count(index)')
    t.same(set({ flags: 0x40 | NONE | TRIGGER, index: 2, start: 0, count: 0 }), einval('unknown-flags'))
    t.equal(dev.irqType, 'msix')
    t.equal(dev.msix.allocatedCount, 2)
    t.equal(world.pool.used, 2)
  })

  t.test(`${abi}: 4 dispatch table`, async (t) => {
    for (const c of DISPATCH) {
      const { set } = setup(abi)
      t.same(set(c.req), c.want, c.name)
    }
  })
}
