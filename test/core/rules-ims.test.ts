import t from 'tap'
import { outcome, trySetIrqs, type Out } from './lib.ts'
import {
  SIZEOF_VFIO_IRQ_INFO, VFIO_IRQ_INFO_NORESIZE, VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD, VFIO_IRQ_SET_DATA_NONE as NONE
} from '../../src/core/constants.ts'
import { getIrqInfo } from '../../src/core/device.ts'
import { FireTally, fireVector } from '../../src/core/interrupts.ts'
import { ABIS, type Abi } from '../../src/core/profiles.ts'
import { resolveDevice } from '../../src/core/templates.ts'
import { BACKING_NAMES } from '../../src/core/vectors.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 13: IMS-backed MSI-X. A parent's store of slots backs the MSI-X vectors of
// the devices under it: a slot (and a host vector) per vector with an eventfd; emulated
// vectors hold an eventfd and nothing else. Every rule on every abi.

const MSIX = 2
/** The errno and reason an operation throws, or 'ok'. */
const errnoOf = (op: () => unknown): Out | 'ok' => outcome(() => { op(); return 'ok' as const })
const ok = { ret: 0 }

function setup (abi: Abi, opts: { slots?: number, pool?: number, tableSize?: number, emulated?: number[] } = {}) {
  const world = new World(opts.pool ?? 4096)
  const parent = world.addParent('p', 'dsa0', 'default', '', opts.slots ?? 4, new Effects())
  let n = 0
  const device = (emulated = opts.emulated ?? [0]) => {
    const spec = resolveDevice({ abi, template: 'idxd-vdev', parent: 'p', msix: { tableSize: opts.tableSize ?? 8, emulated } })
    if (!spec.ok) throw new Error(spec.detail)
    return world.addDevice(`d${n++}`, 'd', '', abi, spec.caps, new Effects(), 'default', spec)
  }
  const dev = device()
  const efd = () => world.eventfds.create({ semaphore: false, label: null, createdAt: '' })
  const set = (d: typeof dev, start: number, fds: number[]): Out =>
    trySetIrqs(world, d, { flags: EVENTFD | TRIGGER, index: MSIX, start, count: fds.length, data: fds })
  const disable = (d: typeof dev): Out => trySetIrqs(world, d, { flags: NONE | TRIGGER, index: MSIX, start: 0, count: 0, data: [] })
  const backing = (d: typeof dev, n: number) => Array.from(d.msix.backing.slice(0, n), (b) => BACKING_NAMES[b])
  const fds = (d: typeof dev, n: number) => Array.from(d.msix.trigger.slice(0, n))
  return { world, parent, dev, device, efd, set, disable, backing, fds }
}

for (const abi of ABIS) {
  t.test(`${abi}: 13 IMS-backed MSI-X`, async (t) => {
    t.test('13 always dynamic: GET_IRQ_INFO on MSI-X reports no NORESIZE, whatever the abi', async (t) => {
      const { dev } = setup(abi)
      t.equal(getIrqInfo(dev, SIZEOF_VFIO_IRQ_INFO, MSIX).flags & VFIO_IRQ_INFO_NORESIZE, 0)
      t.equal(getIrqInfo(dev, SIZEOF_VFIO_IRQ_INFO, MSIX).count, 8)
    })

    t.test('13 enable takes nothing up front: slots and host vectors come with eventfds', async (t) => {
      const { dev, set, world, parent, backing } = setup(abi)
      t.same(set(dev, 0, [-1, -1, -1]), ok)
      t.equal(dev.irqType, 'msix')
      t.equal(world.pool.used, 0)
      t.equal(parent.used, 0)
      t.same(backing(dev, 3), [null, null, null])
    })

    t.test('13 a trigger on a vector without a slot takes a slot and a host vector', async (t) => {
      const { dev, set, world, parent, efd, backing, fds } = setup(abi)
      const e = efd()
      t.same(set(dev, 0, [-1, e.fd, e.fd]), ok)
      t.same(backing(dev, 3), [null, 'ims', 'ims'])
      t.same(fds(dev, 3), [-1, e.fd, e.fd])
      t.equal(parent.used, 2)
      t.same([...parent.usedBy], [[dev.id, 2]])
      t.equal(world.pool.used, 2)
      // Growing past the enable block works on every abi (dynamic).
      t.same(set(dev, 5, [e.fd]), ok)
      t.equal(parent.used, 3)
    })

    t.test('13 fd -1 frees the slot and the host vector at once', async (t) => {
      const { dev, set, world, parent, efd, backing } = setup(abi)
      const e = efd()
      set(dev, 0, [-1, e.fd, e.fd])
      t.same(set(dev, 1, [-1]), ok)
      t.same(backing(dev, 3), [null, null, 'ims'])
      t.equal(dev.msix.allocated[1], 0)
      t.equal(parent.used, 1)
      t.equal(world.pool.used, 1)
    })

    t.test('13 replacing a trigger keeps one slot, even with the store full', async (t) => {
      const { dev, set, parent, efd, fds } = setup(abi, { slots: 1 })
      const [a, b] = [efd(), efd()]
      set(dev, 1, [a.fd])
      t.same(set(dev, 1, [b.fd]), ok)
      t.same(fds(dev, 2), [-1, b.fd])
      t.equal(parent.used, 1)
    })

    t.test('13 a full store answers EBUSY and leaves that vector as it was; 5.4 rolls the block back', async (t) => {
      const { dev, device, set, world, parent, efd, backing, fds } = setup(abi, { slots: 3 })
      const other = device()
      const e = efd()
      set(other, 1, [e.fd])
      set(dev, 0, [-1, -1, -1, -1, -1, e.fd]) // vector 5 holds a slot, outside the next block
      const before = world.pool.used
      t.same(set(dev, 1, [e.fd, e.fd, e.fd]), { errno: 'EBUSY', reason: 'ims-slots-exhausted' })
      t.same(fds(dev, 6), [-1, -1, -1, -1, -1, e.fd], 'vectors before it de-assigned, it unchanged, the rest untouched')
      t.same(backing(dev, 6), [null, null, null, null, null, 'ims'])
      t.equal(parent.used, 2)
      t.equal(world.pool.used, before)
      t.same([...parent.usedBy].sort(), [[dev.id, 1], [other.id, 1]].sort())
    })

    t.test('13 an empty host pool answers ENOSPC and the slot goes back', async (t) => {
      const { dev, set, parent, efd, backing } = setup(abi, { pool: 1 })
      const e = efd()
      t.same(set(dev, 1, [e.fd]), ok)
      t.same(set(dev, 2, [e.fd]), { errno: 'ENOSPC', reason: 'host-vectors-exhausted' })
      t.equal(parent.used, 1)
      t.same(backing(dev, 3), [null, 'ims', null])
    })

    t.test('13 an unknown eventfd answers EBADF and gives back the slot and host vector', async (t) => {
      const { dev, set, world, parent, backing } = setup(abi)
      t.same(set(dev, 1, [999]), { errno: 'EBADF', reason: 'bad-fd' })
      t.equal(parent.used, 0)
      t.equal(world.pool.used, 0)
      t.same(backing(dev, 2), [null, null])
    })

    t.test('13 emulated vectors hold an eventfd but no slot and no host vector', async (t) => {
      const { dev, set, world, parent, efd, backing } = setup(abi, { emulated: [0, 3] })
      const e = efd()
      t.same(set(dev, 0, [e.fd, e.fd, -1, e.fd]), ok)
      t.same(backing(dev, 4), ['emulated', 'ims', null, 'emulated'])
      t.equal(parent.used, 1)
      t.equal(world.pool.used, 1)
      t.same(set(dev, 0, [-1]), ok)
      t.same(backing(dev, 1), [null])
    })

    t.test('13 emulated vectors need no free slot', async (t) => {
      const { dev, device, set, parent, efd, backing } = setup(abi, { slots: 1 })
      const e = efd()
      set(device(), 1, [e.fd])
      t.equal(parent.free, 0)
      t.same(set(dev, 0, [e.fd]), ok)
      t.same(backing(dev, 1), ['emulated'])
    })

    t.test('13 a fire on an emulated vector with a trigger is delivered; on an IMS vector too', async (t) => {
      const { dev, set, world, efd } = setup(abi)
      const e = efd()
      set(dev, 0, [e.fd, e.fd])
      const tally = new FireTally()
      fireVector(world, dev, MSIX, 0, 2, new Effects(), tally)
      fireVector(world, dev, MSIX, 1, 1, new Effects(), tally)
      t.same({ fired: tally.fired, delivered: tally.delivered }, { fired: 3, delivered: 3 })
      t.equal(e.value, 3)
      t.equal(dev.counters[MSIX].delivered[0], 2)
    })

    t.test('13 disable gives back every slot and host vector', async (t) => {
      const { dev, set, disable, world, parent, efd, backing } = setup(abi)
      const e = efd()
      set(dev, 0, [e.fd, e.fd, e.fd])
      t.same(disable(dev), ok)
      t.equal(parent.used, 0)
      t.same([...parent.usedBy], [])
      t.equal(world.pool.used, 0)
      t.same(backing(dev, 3), [null, null, null])
    })

    t.test('13 delete gives back every slot, and the parent forgets the device', async (t) => {
      const { dev, set, world, parent, efd } = setup(abi)
      const e = efd()
      set(dev, 0, [e.fd, e.fd, e.fd])
      world.deleteDevice(dev, new Effects())
      t.equal(parent.used, 0)
      t.equal(world.pool.used, 0)
      t.equal(parent.devices.size, 0)
    })

    t.test('13 closing a bound eventfd with force frees its slot', async (t) => {
      const { dev, set, world, parent, efd, backing } = setup(abi)
      const e = efd()
      set(dev, 0, [e.fd, e.fd])
      world.deleteEventfd(e, true, new Effects())
      t.equal(parent.used, 0)
      t.equal(world.pool.used, 0)
      t.same(backing(dev, 2), [null, null])
    })

    t.test('13 a parent with devices cannot be deleted (EBUSY); without, it can', async (t) => {
      const { dev, world, parent } = setup(abi)
      t.same(errnoOf(() => world.deleteParent(parent, new Effects())), { errno: 'EBUSY', reason: 'parent-has-devices' })
      world.deleteDevice(dev, new Effects())
      world.deleteParent(parent, new Effects())
      t.equal(world.parents.size, 0)
    })
  })
}

t.test('13 idxd-vdev and the create fields of IMS-backed devices', async (t) => {
  const cases: Array<[string, Parameters<typeof resolveDevice>[0], string | { tableSize: number, emulated: readonly number[] | undefined, intx: boolean, msi: number }]> = [
    ['idxd-vdev is MSI-X 2, vector 0 emulated, no MSI, no INTx', { abi: 'linux-6.12', template: 'idxd-vdev', parent: 'p' }, { tableSize: 2, emulated: [0], intx: false, msi: 0 }],
    ['idxd-vdev needs a parent', { abi: 'linux-6.12', template: 'idxd-vdev' }, 'parent-required'],
    ['idxd-vdev takes a bigger table and its own emulated set', { abi: 'linux-6.1', template: 'idxd-vdev', parent: 'p', msix: { tableSize: 16, emulated: [0, 15] } }, { tableSize: 16, emulated: [0, 15], intx: false, msi: 0 }],
    ['a bigger idxd-vdev table keeps vector 0 emulated', { abi: 'linux-6.12', template: 'idxd-vdev', parent: 'p', msix: { tableSize: 16 } }, { tableSize: 16, emulated: [0], intx: false, msi: 0 }],
    ['idxd-vdev fixes intx', { abi: 'linux-6.12', template: 'idxd-vdev', parent: 'p', intx: true }, 'template-fixed-field'],
    ['emulated needs a parent', { abi: 'linux-6.12', msix: { tableSize: 4, emulated: [0] } }, 'emulated-needs-parent'],
    ['emulated vectors lie inside the table', { abi: 'linux-6.12', parent: 'p', msix: { tableSize: 4, emulated: [4] } }, 'emulated-out-of-range'],
    ['an emulated vector is named once', { abi: 'linux-6.12', parent: 'p', msix: { tableSize: 4, emulated: [1, 1] } }, 'emulated-duplicate'],
    ['a parent needs MSI-X', { abi: 'linux-6.12', parent: 'p', msi: { vectors: 1 } }, 'parent-needs-msix'],
    ['a parent needs vfio-pci', { abi: 'linux-6.12', parent: 'p', driver: 'mtty' }, 'parent-needs-vfio-pci'],
    ['IMS-backed MSI-X cannot be made static', { abi: 'linux-6.12', parent: 'p', msix: { tableSize: 4, dynamic: false } }, 'ims-always-dynamic'],
    ['IMS-backed MSI-X is dynamic under linux-6.1 too', { abi: 'linux-6.1', parent: 'p', msix: { tableSize: 4 } }, { tableSize: 4, emulated: [], intx: false, msi: 0 }]
  ]
  for (const [name, req, want] of cases) {
    const spec = resolveDevice(req)
    if (typeof want === 'string') t.same(spec.ok ? 'ok' : spec.reason, want, name)
    else if (!spec.ok) t.fail(`${name}: ${spec.reason}`)
    else {
      t.same({ tableSize: spec.caps.msixTableSize, emulated: spec.caps.msixEmulated, intx: spec.caps.intx, msi: spec.caps.msiVectors }, want, name)
      t.equal(spec.caps.parent, 'p', `${name}: parent`)
      t.equal(spec.caps.msixDynamic, true, `${name}: dynamic`)
    }
  }
})

t.test('13 a device names an existing parent of its own tenant', async (t) => {
  const world = new World(64)
  world.addParent('p', 'dsa0', 'alice', '', 2, new Effects())
  const spec = resolveDevice({ abi: 'linux-6.12', template: 'idxd-vdev', parent: 'p' })
  if (!spec.ok) throw new Error(spec.detail)
  t.same(errnoOf(() => world.addDevice('d', 'd', '', 'linux-6.12', spec.caps, new Effects(), 'bob', spec)), { errno: 'EINVAL', reason: 'unknown-parent' })
  t.same(errnoOf(() => world.addDevice('d', 'd', '', 'linux-6.12', { ...spec.caps, parent: 'q' }, new Effects(), 'alice', spec)), { errno: 'EINVAL', reason: 'unknown-parent' })
  world.addDevice('d', 'd', '', 'linux-6.12', spec.caps, new Effects(), 'alice', spec)
  t.same([...world.parents.get('p')?.devices ?? []], ['d'])
})
