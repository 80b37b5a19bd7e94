import t from 'tap'
import { outcome, trySetIrqs, type Out } from './lib.ts'
import {
  VFIO_IRQ_SET_ACTION_MASK as MASK, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL, VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { getDeviceInfo, getIrqInfo, snapshotDevice, unchangedSince, type Device } from '../../src/core/device.ts'
import type { DriverName } from '../../src/core/drivers/index.ts'
import { driveIntx, fireVector, FireTally } from '../../src/core/interrupts.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { TEMPLATES } from '../../src/core/templates.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 12: the mdev drivers of the seed's patch, cell by cell, each test named after
// the source function it follows: samples/vfio-mdev/mtty.c before the 6.7 rework (commit
// 293fbc288181; Linux 5.10 and 6.1) and after it (torvalds/linux master), and
// drivers/gpu/drm/i915/gvt/kvmgt.c (the same in every era).

const INTX = 0
const MSI = 1
const ERA = (era: string): Abi[] => ABIS.filter((a) => ABI_PROFILES[a].mttyEra === era)
const PRE_67 = ERA('pre-6.7')
const POST_67 = ERA('6.7+')

function setup (abi: Abi, driver: DriverName, opts: { info?: boolean } = {}) {
  const world = new World(64)
  const caps = { ...TEMPLATES[driver as 'mtty' | 'kvmgt'].caps, msixDynamic: false }
  const dev: Device = world.addDevice('d', 'd', '', abi, caps, new Effects(), 'default', { driver })
  if (opts.info ?? true) getDeviceInfo(dev, 16, new Effects())
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (index: number, flags: number, start = 0, count = 1, data: number[] = []): Out =>
    trySetIrqs(world, dev, { flags, index, start, count, data })
  const info = (index: number) => outcome(() => { const i = getIrqInfo(dev, 16, index); return { flags: i.flags, count: i.count } })
  const fire = (index: number) => {
    const tally = new FireTally()
    if (index === INTX) driveIntx(world, dev, 'pulse', new Effects(), tally)
    else fireVector(world, dev, index, 0, 1, new Effects(), tally)
    return { delivered: tally.delivered, lost: tally.lost }
  }
  return { world, dev, efd, set, info, fire }
}

const ok = { ret: 0 }
const E = (errno: string) => ({ errno })
const ACTIONS: Array<[string, number]> = [['MASK', MASK], ['UNMASK', UNMASK], ['TRIGGER', TRIGGER], ['no action', 0], ['MASK|UNMASK', MASK | UNMASK]]
const DATA: Array<[string, number]> = [['NONE', NONE], ['BOOL', BOOL], ['EVENTFD', EVENTFD]]

/**
 * Every (index, action, data type) cell on a fresh device after GET_INFO, start 0, count 1,
 * data [1] for BOOL and a live eventfd for EVENTFD: the answer and whether state changed.
 */
type Cell = { out: 'ok' | string, changes: boolean }
interface Asserts { same: (a: unknown, b: unknown, m: string) => unknown, match: (a: unknown, b: unknown, m: string) => unknown, equal: (a: unknown, b: unknown, m: string) => unknown }
function cellTable (t: Asserts, abi: Abi, driver: DriverName, expect: (index: number, action: number, data: number) => Cell) {
  for (let index = 0; index < 5; index++) {
    for (const [an, action] of ACTIONS) {
      for (const [dn, data] of DATA) {
        const { set, efd, dev } = setup(abi, driver)
        const e = efd()
        const before = snapshotDevice(dev)
        const got = set(index, action | data, 0, 1, data === EVENTFD ? [e.fd] : data === BOOL ? [1] : [])
        const want = expect(index, action, data)
        const name = `index ${index} ${an} ${dn}`
        if (want.out === 'ok') t.same(got, ok, name)
        else t.match(got, E(want.out), name)
        t.equal(!unchangedSince(before, dev), want.changes, `${name}: ${want.changes ? 'changes state' : 'changes nothing'}`)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// mtty, both eras: mtty_ioctl(), mtty_get_irq_info()

for (const abi of ABIS) {
  const pre = ABI_PROFILES[abi].mttyEra === 'pre-6.7'
  const nr = ABI_PROFILES[abi].reportsNoresize ? 0x9 : 0x1
  t.test(`${abi}: mtty_ioctl GET_IRQ_INFO: every index EINVAL until the first GET_INFO (dev_info.num_irqs is 0)`, async (t) => {
    const { info, dev } = setup(abi, 'mtty', { info: false })
    for (let index = 0; index < 5; index++) t.match(info(index), { errno: 'EINVAL', reason: 'no-device-info' }, `index ${index}`)
    t.same(getDeviceInfo(dev, 16, new Effects()), { argsz: 16, flags: 0x2, numRegions: 9, numIrqs: 5 }, 'mtty_get_device_info: PCI only, 9 regions, 5 irqs')
    t.same(info(INTX), { flags: 0x7, count: 1 }, 'mtty_get_irq_info INTx 0x7')
  })
  t.test(`${abi}: mtty_get_irq_info (${pre ? 'before' : 'since'} 6.7) after GET_INFO`, async (t) => {
    const { info } = setup(abi, 'mtty')
    t.same(info(0), { flags: 0x7, count: 1 }, 'INTx count 1, EVENTFD|MASKABLE|AUTOMASKED')
    t.same(info(1), { flags: nr, count: 1 }, `MSI count 1, 0x${nr.toString(16)}`)
    t.match(info(2), E('EINVAL'), 'MSI-X EINVAL')
    t.match(info(3), E('EINVAL'), 'ERR EINVAL')
    t.same(info(4), pre ? { flags: nr, count: 1 } : { errno: 'EINVAL', reason: 'index-unsupported' }, pre ? 'REQ count 1 in the older sample' : 'REQ EINVAL since 6.7')
    t.match(info(5), E('EINVAL'), 'index 5 EINVAL')
  })
  t.test(`${abi}: mtty_ioctl SET_IRQS: vfio_set_irqs_validate_and_prepare with num_irqs on every index`, async (t) => {
    const before = setup(abi, 'mtty', { info: false })
    for (let index = 0; index < 5; index++) t.match(before.set(index, NONE | TRIGGER, 0, 0), { errno: 'EINVAL', reason: 'range-out-of-bounds' }, `index ${index} before GET_INFO: count 0`)
    const { set } = setup(abi, 'mtty')
    t.match(set(INTX, NONE | MASK, 5, 0), { errno: 'EINVAL', reason: 'range-out-of-bounds' }, 'start 5 is past num_irqs')
    t.match(set(MSI, NONE | MASK, 2, 4), { errno: 'EINVAL', reason: 'range-out-of-bounds' }, 'start + count 6 is past num_irqs')
    t.notMatch(set(2, NONE | TRIGGER, 1, 4), { reason: 'range-out-of-bounds' }, 'MSI-X [1, 5) is inside num_irqs 5')
  })
}

// ---------------------------------------------------------------------------------------------
// mtty before 6.7: mtty_set_irqs() as Linux 5.10 and 6.1 ship it

for (const abi of PRE_67) {
  t.test(`${abi}: mtty_set_irqs (pre-6.7), every cell on a fresh device`, async (t) => {
    cellTable(t, abi, 'mtty', (index, action, data) => {
      if (action !== TRIGGER || index > MSI) return { out: 'ok', changes: false } // break / pr_info: 0
      if (data === BOOL) return { out: 'ok', changes: false }
      if (data === EVENTFD) return { out: 'ok', changes: true } // armed
      return { out: 'ok', changes: index === MSI } // NONE: "disable MSI" sets irq_index = INTx
    })
  })
  t.test(`${abi}: mtty_set_irqs (pre-6.7) quirks`, async (t) => {
    t.test('INTx TRIGGER EVENTFD with fd -1 or 0 answers 0 and keeps the old trigger (`if (fd > 0)`)', async (t) => {
      const { set, efd, dev } = setup(abi, 'mtty')
      const e = efd()
      t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [-1]), ok)
      t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [0]), ok)
      t.equal(dev.intx.trigger, e.fd)
      t.match(set(INTX, EVENTFD | TRIGGER, 0, 1, [999]), E('EBADF'), 'an fd > 0 that is not an eventfd: eventfd_ctx_fdget fails')
      t.equal(dev.intx.trigger, e.fd, 'and changes nothing')
    })
    t.test('MASK and UNMASK on INTx and MSI are no-ops answering 0, whatever the data', async (t) => {
      const { set, efd, dev } = setup(abi, 'mtty')
      const e = efd()
      set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd])
      for (const index of [INTX, MSI]) {
        for (const [flags, data] of [[NONE | MASK, []], [BOOL | MASK, [1]], [EVENTFD | MASK, [e.fd]], [NONE | UNMASK, []], [EVENTFD | UNMASK, [999]]] as const) {
          t.same(set(index, flags, 0, 1, [...data]), ok, `index ${index} flags 0x${flags.toString(16)}`)
        }
      }
      t.equal(dev.intx.masked, false)
    })
    t.test('NONE with any count disables; loopback signals nothing', async (t) => {
      for (const count of [0, 1]) {
        const { set, efd, dev, fire } = setup(abi, 'mtty')
        const e = efd()
        set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd])
        t.same(set(INTX, BOOL | TRIGGER, 0, 1, [1]), ok, 'BOOL loopback')
        t.equal(e.value, 0, 'signals nothing')
        t.same(set(INTX, NONE | TRIGGER, 0, count), ok, `NONE count ${count}`)
        t.equal(dev.intx.trigger, -1, 'the trigger is put')
        t.same(fire(INTX), { delivered: 0, lost: 1 })
        t.match(set(INTX, NONE | TRIGGER, 0, count), { errno: 'EINVAL', reason: 'intx-already-disabled' }, 'a second disable (an oops in the sample) answers as 6.7+')
        t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok, 'enable again')
        t.same(set(INTX, NONE | TRIGGER, 0, count), ok, 'and a disable is fine again')
      }
    })
    t.test('enabling MSI while INTx is enabled answers 0 and moves interrupts to MSI; disabling MSI moves them back', async (t) => {
      const { set, efd, dev, fire } = setup(abi, 'mtty')
      const [ei, em] = [efd(), efd()]
      set(INTX, EVENTFD | TRIGGER, 0, 1, [ei.fd])
      t.same(fire(INTX), { delivered: 1, lost: 0 })
      t.same(fire(INTX), { delivered: 1, lost: 0 }, 'mtty_trigger_interrupt (pre-6.7) never masks INTx')
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [em.fd]), ok)
      t.equal(dev.irqType, 'msi')
      t.same(fire(MSI), { delivered: 1, lost: 0 })
      t.same(fire(INTX), { delivered: 0, lost: 1 })
      t.same(set(MSI, NONE | TRIGGER, 0, 1), ok, 'disable MSI: irq_index = INTx')
      t.equal(dev.irqType, 'intx')
      t.same(fire(INTX), { delivered: 1, lost: 0 })
      t.same([ei.value, em.value], [3, 1])
    })
    t.test('once MSI has been armed, later MSI enables answer 0 and change nothing (msi_evtfd is never cleared)', async (t) => {
      const { set, efd, dev } = setup(abi, 'mtty')
      const [a, b] = [efd(), efd()]
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [a.fd]), ok)
      const before = snapshotDevice(dev)
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [b.fd]), ok)
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [999]), ok, 'not even EBADF')
      t.ok(unchangedSince(before, dev))
      t.same(set(MSI, NONE | TRIGGER, 0, 0), ok, 'disable')
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [b.fd]), ok)
      t.equal(dev.msi.trigger[0], -1, 're-enabling after a disable changes nothing either')
      t.match(set(MSI, NONE | TRIGGER, 0, 0), { errno: 'EINVAL', reason: 'msi-already-disabled' }, 'a second put oopses the sample: EINVAL as 6.7+')
    })
    t.test('MSI-X, ERR and REQ answer 0 to everything and store nothing', async (t) => {
      const { set, efd, dev } = setup(abi, 'mtty')
      const e = efd()
      for (const index of [2, 3, 4]) {
        for (const flags of [EVENTFD | TRIGGER, NONE | TRIGGER, BOOL | MASK]) {
          const before = snapshotDevice(dev)
          t.same(set(index, flags, 0, 1, flags & EVENTFD ? [e.fd] : [1]), ok, `index ${index} flags 0x${flags.toString(16)}`)
          t.ok(unchangedSince(before, dev))
        }
      }
    })
    t.test('a count-0 EVENTFD trigger (NULL data: an oops in the sample) answers EINVAL', async (t) => {
      const { set } = setup(abi, 'mtty')
      t.match(set(INTX, EVENTFD | TRIGGER, 0, 0), { errno: 'EINVAL', reason: 'count-zero-eventfd' })
      t.match(set(MSI, EVENTFD | TRIGGER, 0, 0), { errno: 'EINVAL', reason: 'count-zero-eventfd' })
    })
    t.test('mtty_reset: RESET answers 0 without the RESET flag and keeps the trigger', async (t) => {
      const { world, set, efd, dev } = setup(abi, 'mtty')
      const e = efd()
      set(MSI, EVENTFD | TRIGGER, 0, 1, [e.fd])
      world.resetDevice(dev, new Effects())
      t.equal(dev.msi.trigger[0], e.fd)
      t.equal(world.pool.used, 0, 'an mdev holds no host vector')
    })
  })
}

// ---------------------------------------------------------------------------------------------
// mtty since 6.7: mtty_set_irqs() in torvalds/linux master

for (const abi of POST_67) {
  t.test(`${abi}: mtty_set_irqs (6.7+), every cell on a fresh device`, async (t) => {
    cellTable(t, abi, 'mtty', (index, action, data) => {
      if (index > MSI) return { out: 'ENOTTY', changes: false } // MSIX_IRQ, ERR_IRQ, REQ_IRQ: -ENOTTY
      if (action !== MASK && action !== UNMASK && action !== TRIGGER) return { out: 'ok', changes: false } // no case
      if (index === MSI && action !== TRIGGER) return { out: 'ENOTTY', changes: false }
      if (action !== TRIGGER) return { out: 'EINVAL', changes: false } // !is_intx
      if (data === EVENTFD) return { out: 'ok', changes: true }
      return { out: 'EINVAL', changes: false } // loopback needs the index enabled
    })
  })
  t.test(`${abi}: mtty_set_irqs (6.7+) rules`, async (t) => {
    t.test('INTx MASK/UNMASK: is_intx, start 0, count 1; EVENTFD is ENOTTY; UNMASK does not redeliver', async (t) => {
      const { set, efd, dev, fire } = setup(abi, 'mtty')
      const e = efd()
      set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd])
      t.match(set(INTX, NONE | MASK, 0, 2), E('EINVAL'), 'count 2')
      t.match(set(INTX, EVENTFD | UNMASK, 0, 1, [e.fd]), E('ENOTTY'))
      t.same(fire(INTX), { delivered: 1, lost: 0 }, 'mtty_trigger_interrupt: signal, then intx_mask')
      t.equal(dev.intx.masked, true)
      t.same(fire(INTX), { delivered: 0, lost: 0 }, 'nothing while masked')
      t.same(set(INTX, BOOL | UNMASK, 0, 1, [1]), ok)
      t.equal(e.value, 1, 'unmask delivers nothing by itself')
      t.same(set(INTX, NONE | TRIGGER, 0, 1), ok, 'loopback signals (unmasked), then masks')
      t.same([e.value, dev.intx.masked], [2, true])
    })
    t.test('INTx TRIGGER EVENTFD: mtty_disable_intx runs first, so a bad fd leaves INTx disabled', async (t) => {
      const { set, efd, dev } = setup(abi, 'mtty')
      const e = efd()
      set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd])
      t.match(set(INTX, EVENTFD | TRIGGER, 0, 1, [999]), E('EBADF'))
      t.same([dev.irqType, dev.intx.trigger], ['none', -1])
      set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd])
      t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [-1]), ok, 'fd -1 disables')
      t.same([dev.irqType, dev.intx.trigger], ['none', -1])
      t.match(set(INTX, NONE | TRIGGER, 0, 0), E('EINVAL'), 'a second disable is EINVAL')
    })
    t.test('MSI while INTx is enabled is EINVAL; MSI fires its eventfd; NONE count 0 disables', async (t) => {
      const { set, efd, dev, fire } = setup(abi, 'mtty')
      const [ei, em] = [efd(), efd()]
      set(INTX, EVENTFD | TRIGGER, 0, 1, [ei.fd])
      t.match(set(MSI, EVENTFD | TRIGGER, 0, 1, [em.fd]), E('EINVAL'))
      set(INTX, NONE | TRIGGER, 0, 0)
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [em.fd]), ok)
      t.same(fire(MSI), { delivered: 1, lost: 0 })
      t.same(set(MSI, NONE | TRIGGER, 0, 0), ok)
      t.same([dev.irqType, dev.msi.trigger[0]], ['none', -1])
      t.same(fire(MSI), { delivered: 0, lost: 1 })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// kvmgt: intel_vgpu_ioctl(), intel_vgpu_get_irq_count(), intel_vgpu_set_irqs()

for (const abi of ABIS) {
  const nr = ABI_PROFILES[abi].reportsNoresize ? 0x9 : 0x1
  t.test(`${abi}: kvmgt intel_vgpu_ioctl GET_INFO and GET_IRQ_INFO`, async (t) => {
    const { info, dev } = setup(abi, 'kvmgt', { info: false })
    t.same(info(0), { flags: 0x7, count: 1 }, 'INTx 0x7 count 1, even before GET_INFO')
    t.same(info(1), { flags: nr, count: 1 }, `MSI 0x${nr.toString(16)} count 1`)
    for (const index of [2, 3, 4, 5]) t.match(info(index), E('EINVAL'), `index ${index} EINVAL`)
    t.same(getDeviceInfo(dev, 16), { argsz: 16, flags: 0x3, numRegions: 11, numIrqs: 5 }, 'PCI|RESET, 9 + the vGPU regions')
  })
  t.test(`${abi}: kvmgt intel_vgpu_set_irqs, every cell on a fresh device`, async (t) => {
    cellTable(t, abi, 'kvmgt', (index, action, data) => {
      // Without DATA_NONE: validated against intel_vgpu_get_irq_count (0 beyond MSI).
      if (data !== NONE && index > MSI) return { out: 'EINVAL', changes: false }
      if (index === INTX && (action === MASK || action === UNMASK || action === TRIGGER)) return { out: 'ok', changes: false } // stubs
      if (index !== MSI || action !== TRIGGER) return { out: 'ENOTTY', changes: false } // func == NULL
      return { out: 'ok', changes: data === EVENTFD } // intel_vgpu_set_msi_trigger
    })
  })
  t.test(`${abi}: kvmgt rules`, async (t) => {
    t.test('DATA_NONE skips vfio_set_irqs_validate_and_prepare: no argsz, range or flag check', async (t) => {
      const { world, dev, set } = setup(abi, 'kvmgt')
      t.same(set(MSI, NONE | TRIGGER, 7, 9), ok, 'MSI start 7 count 9')
      t.same(trySetIrqs(world, dev, { argsz: 0, flags: NONE | MASK, index: INTX, start: 3, count: 3, data: [] }), ok, 'argsz 0')
      t.match(set(9, NONE | TRIGGER), E('ENOTTY'), 'index 9 reaches intel_vgpu_set_irqs: ENOTTY')
      t.match(set(MSI, BOOL | TRIGGER, 0, 2, [1, 1]), E('EINVAL'), 'BOOL is validated: count 2 > 1')
    })
    t.test('MSI: EVENTFD stores one eventfd (fd -1 is EBADF), NONE count 0 releases it, device interrupts signal it', async (t) => {
      const { world, set, efd, dev, fire } = setup(abi, 'kvmgt')
      const e = efd()
      t.match(set(MSI, EVENTFD | TRIGGER, 0, 1, [-1]), E('EBADF'), 'eventfd_ctx_fdget(-1)')
      t.same(set(MSI, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(fire(MSI), { delivered: 1, lost: 0 })
      t.same(set(MSI, NONE | TRIGGER, 0, 1), ok, 'NONE count 1: nothing')
      t.equal(dev.msi.trigger[0], e.fd)
      world.resetDevice(dev, new Effects())
      t.equal(dev.msi.trigger[0], e.fd, 'VFIO_DEVICE_RESET keeps it')
      t.same(set(MSI, NONE | TRIGGER, 0, 0), ok, 'release')
      t.same(fire(MSI), { delivered: 0, lost: 1 })
      t.match(set(MSI, NONE | EVENTFD | TRIGGER, 0, 1), { errno: 'EINVAL', reason: 'count-zero-eventfd' }, 'NONE|EVENTFD copies no data: an oops in the source, EINVAL here')
      t.equal(e.value, 1)
    })
    t.test('INTx: MASK, UNMASK and TRIGGER are stubs; INTx never fires', async (t) => {
      const { set, efd, fire, dev } = setup(abi, 'kvmgt')
      const e = efd()
      t.same(set(INTX, EVENTFD | TRIGGER, 0, 1, [e.fd]), ok)
      t.same(set(INTX, NONE | MASK), ok)
      t.same([dev.irqType, dev.intx.trigger], ['none', -1])
      t.same(fire(INTX), { delivered: 0, lost: 1 })
    })
  })
}
