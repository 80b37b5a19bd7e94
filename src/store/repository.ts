import type Database from 'better-sqlite3'
import type { Abi, Device, IrqType, PciIds } from '../core/device.ts'
import { createDevice } from '../core/create-device.ts'
import type { DriverName } from '../core/drivers/index.ts'
import type { TemplateName } from '../core/templates.ts'
import type { Effects } from '../core/effects.ts'
import { World } from '../core/world.ts'
import { Parent } from '../core/ims.ts'
import type { Backing } from '../core/vectors.ts'
import type { Db } from './db.ts'
import { TraceStore } from './trace.ts'

interface DeviceRow {
  id: string
  owner: string
  name: string
  created_at: string
  abi: Abi
  pcie: number
  reset: number
  intx: number
  msi_vectors: number
  msix_table_size: number
  msix_dynamic: number
  version: number
  irq_type: IrqType
  intx_trigger: number
  intx_unmask_fd: number
  intx_masked: number
  intx_line: number
  msi_enabled_nvec: number
  msix_enabled_nvec: number
  err_trigger: number
  req_trigger: number
  driver: DriverName
  template: TemplateName | null
  driver_state: number
  parent: string | null
  msix_emulated: string | null
}

interface ParentRow { id: string, owner: string, name: string, ims_slots: number, created_at: string }
interface CounterRow {
  device_id: string
  irq_index: number
  vector: number
  fired: number
  delivered: number
  lost_index_disabled: number
  lost_not_allocated: number
  lost_no_trigger: number
  pending: number
  pended: number
  coalesced: number
  delivered_from_pending: number
}
interface MaskingRow { device_id: string, msi_per_vector_mask: number, msix_maskable: number, msix_user_mask: Buffer }
interface EventfdRow { fd: number, value: number, semaphore: number, label: string | null, created_at: string, owner: string }

const b = (x: boolean): number => (x ? 1 : 0)

/**
 * Loads and saves the model's state. It knows tables and columns, not rules: what to write
 * comes from the Effects of one operation, written in one transaction.
 */
export class Repository {
  private readonly db: Db
  private readonly upsertDevice: Database.Statement
  private readonly deleteDeviceStmt: Database.Statement
  private readonly upsertVector: Database.Statement
  private readonly deleteVector: Database.Statement
  private readonly upsertEventfd: Database.Statement
  private readonly insertPci: Database.Statement
  private readonly deleteEventfdStmt: Database.Statement
  private readonly setNextFd: Database.Statement
  private readonly pageEventfds: Database.Statement
  private readonly upsertCounters: Database.Statement
  private readonly upsertMasking: Database.Statement
  private readonly pageDevices: Database.Statement
  private readonly insertParent: Database.Statement
  private readonly deleteParentStmt: Database.Statement
  private readonly writeTx: (world: World, fx: Effects) => void
  /** The configuration trace; its entries are written in the same transaction as their change. */
  readonly trace: TraceStore

  constructor (db: Db) {
    this.db = db
    this.upsertDevice = db.prepare(`INSERT INTO devices (id, owner, name, created_at, abi, pcie, reset, intx,
        msi_vectors, msix_table_size, msix_dynamic, version, irq_type, intx_trigger, intx_unmask_fd,
        intx_masked, intx_line, msi_enabled_nvec, msix_enabled_nvec, err_trigger, req_trigger, driver, template, driver_state,
        parent, msix_emulated)
      VALUES (@id, @owner, @name, @created_at, @abi, @pcie, @reset, @intx, @msi_vectors, @msix_table_size,
        @msix_dynamic, @version, @irq_type, @intx_trigger, @intx_unmask_fd, @intx_masked, @intx_line,
        @msi_enabled_nvec, @msix_enabled_nvec, @err_trigger, @req_trigger, @driver, @template, @driver_state,
        @parent, @msix_emulated)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version, irq_type = excluded.irq_type,
        intx_trigger = excluded.intx_trigger, intx_unmask_fd = excluded.intx_unmask_fd,
        intx_masked = excluded.intx_masked, intx_line = excluded.intx_line,
        msi_enabled_nvec = excluded.msi_enabled_nvec, msix_enabled_nvec = excluded.msix_enabled_nvec,
        err_trigger = excluded.err_trigger, req_trigger = excluded.req_trigger, driver_state = excluded.driver_state`)
    this.deleteDeviceStmt = db.prepare('DELETE FROM devices WHERE id = ?')
    this.upsertVector = db.prepare(`INSERT INTO vectors (device_id, irq_index, vector, trigger, backing) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (device_id, irq_index, vector) DO UPDATE SET trigger = excluded.trigger, backing = excluded.backing`)
    this.deleteVector = db.prepare('DELETE FROM vectors WHERE device_id = ? AND irq_index = ? AND vector = ?')
    this.upsertEventfd = db.prepare(`INSERT INTO eventfds (owner, fd, value, semaphore, label, created_at)
      VALUES (@owner, @fd, @value, @semaphore, @label, @created_at)
      ON CONFLICT (owner, fd) DO UPDATE SET value = excluded.value`)
    this.deleteEventfdStmt = db.prepare('DELETE FROM eventfds WHERE owner = ? AND fd = ?')
    this.setNextFd = db.prepare(`INSERT INTO eventfd_numbering (owner, next_fd) VALUES (?, ?)
      ON CONFLICT (owner) DO UPDATE SET next_fd = excluded.next_fd WHERE excluded.next_fd > next_fd`)
    this.pageEventfds = db.prepare('SELECT fd FROM eventfds WHERE owner = ? AND fd > ? ORDER BY fd LIMIT ?')
    this.upsertCounters = db.prepare(`INSERT INTO irq_counters (device_id, irq_index, vector, fired, delivered,
        lost_index_disabled, lost_not_allocated, lost_no_trigger, pending, pended, coalesced, delivered_from_pending)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (device_id, irq_index, vector) DO UPDATE SET fired = excluded.fired, delivered = excluded.delivered,
        lost_index_disabled = excluded.lost_index_disabled, lost_not_allocated = excluded.lost_not_allocated,
        lost_no_trigger = excluded.lost_no_trigger, pending = excluded.pending, pended = excluded.pended,
        coalesced = excluded.coalesced, delivered_from_pending = excluded.delivered_from_pending`)
    this.insertPci = db.prepare('INSERT OR IGNORE INTO device_pci (device_id, vendor, device, class) VALUES (?, ?, ?, ?)')
    this.upsertMasking = db.prepare(`INSERT INTO device_masking (device_id, msi_per_vector_mask, msix_maskable, msix_user_mask)
      VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET msix_user_mask = excluded.msix_user_mask`)
    this.pageDevices = db.prepare('SELECT seq, id FROM devices WHERE owner = ? AND seq > ? ORDER BY seq LIMIT ?')
    this.insertParent = db.prepare(`INSERT INTO parents (id, owner, name, ims_slots, created_at)
      VALUES (@id, @owner, @name, @ims_slots, @created_at) ON CONFLICT (id) DO NOTHING`)
    this.deleteParentStmt = db.prepare('DELETE FROM parents WHERE id = ?')
    this.trace = new TraceStore(db)
    this.writeTx = db.transaction((world: World, fx: Effects) => this.write(world, fx))
  }

  /** Writes everything one operation changed, atomically. Throws if SQLite does. */
  save (world: World, fx: Effects): void {
    if (fx.empty) return
    this.writeTx(world, fx)
    for (const dev of fx.counters) for (const c of dev.counters) c.clean()
  }

  private write (world: World, fx: Effects): void {
    // A long-lived Effects (the interrupt path's) may still name something deleted since: skip it.
    const live = (dev: Device): boolean => world.devices.get(dev.id) === dev
    // Parents before the devices that name them; deleted ones after the devices deleted with them.
    for (const p of fx.parents) {
      if (world.parents.get(p.id) === p) this.insertParent.run({ id: p.id, owner: p.owner, name: p.name, ims_slots: p.imsSlots, created_at: p.createdAt })
    }
    for (const dev of fx.deletedDevices) {
      this.deleteDeviceStmt.run(dev.id)
      this.trace.drop(dev.id)
    }
    for (const dev of fx.devices) {
      if (!live(dev)) continue
      this.upsertDevice.run(deviceRow(dev))
      if (dev.pci !== null) this.insertPci.run(dev.id, dev.pci.vendor, dev.pci.device, dev.pci.class)
      if (hasMaskingOptions(dev)) {
        this.upsertMasking.run(dev.id, b(dev.caps.msiPerVectorMask === true), b(dev.caps.msixMaskable === true), Buffer.from(dev.msix.userMask))
      }
    }
    for (const dev of fx.counters) if (live(dev)) this.writeCounters(dev)
    for (const [dev, sets] of fx.vectors) {
      if (!live(dev)) continue
      for (const [index, table, set] of [[1, dev.msi, sets.msi], [2, dev.msix, sets.msix]] as const) {
        for (const v of set) {
          if (table.allocated[v] !== 0) this.upsertVector.run(dev.id, index, v, table.trigger[v], table.backing[v])
          else this.deleteVector.run(dev.id, index, v)
        }
      }
    }
    // Each tenant whose eventfds changed: its next number, so that none is ever issued twice.
    // (One statement per tenant, a no-op unless the number moved.)
    const numbered = new Set<string>()
    for (const efd of fx.deletedEventfds) {
      this.deleteEventfdStmt.run(efd.owner, efd.fd)
      numbered.add(efd.owner)
    }
    for (const efd of fx.eventfds) {
      numbered.add(efd.owner)
      if (world.eventfds.get(efd.fd, efd.owner) !== efd) continue
      if (efd.external === true) continue // a vfio-user client's: lives with its connection (docs/model.md 14)
      this.upsertEventfd.run({ fd: efd.fd, value: efd.value, semaphore: b(efd.semaphore), label: efd.label, created_at: efd.createdAt, owner: efd.owner })
    }
    for (const owner of numbered) this.setNextFd.run(owner, world.eventfds.nextFdOf(owner))
    for (const p of fx.deletedParents) this.deleteParentStmt.run(p.id)
    for (const e of fx.traces) if (world.devices.has(e.deviceId)) this.trace.append(e)
  }

  /** The vectors whose counters moved since they were last written (cleaned after commit). */
  private writeCounters (dev: Device): void {
    dev.counters.forEach((c, index) => {
      for (const v of c.touched()) {
        this.upsertCounters.run(dev.id, index, v, c.fired[v], c.delivered[v], c.lost[0][v], c.lost[1][v], c.lost[2][v],
          c.pending[v], c.pended[v], c.coalesced[v], c.deliveredFromPending[v])
      }
    })
  }

  /** Rebuilds the whole model from the database, exactly as it was last committed. */
  load (poolCapacity: number): World {
    this.trace.forget()
    const world = new World(poolCapacity)
    // Rows are read one at a time (iterate) rather than all at once (all): a restart of 100,000
    // devices reads millions of vector rows, and an array of them all would be garbage that
    // the heap keeps the room of long after the load.
    for (const r of this.db.prepare('SELECT * FROM eventfds ORDER BY owner, fd').iterate() as IterableIterator<EventfdRow>) {
      world.eventfds.restore({ fd: r.fd, value: r.value, semaphore: r.semaphore !== 0, label: r.label, createdAt: r.created_at, owner: r.owner })
    }
    for (const r of this.db.prepare('SELECT owner, next_fd FROM eventfd_numbering').all() as Array<{ owner: string, next_fd: number }>) {
      world.eventfds.restoreNextFd(r.owner, r.next_fd)
    }
    for (const r of this.db.prepare('SELECT * FROM parents ORDER BY seq').all() as ParentRow[]) {
      world.restoreParent(new Parent(r.id, r.name, r.owner, r.created_at, r.ims_slots))
    }
    const devices = new Map<string, Device>()
    const masking = new Map<string, MaskingRow>()
    for (const r of this.db.prepare('SELECT * FROM device_masking').iterate() as IterableIterator<MaskingRow>) masking.set(r.device_id, r)
    const pci = new Map<string, PciIds>()
    for (const r of this.db.prepare('SELECT * FROM device_pci').iterate() as IterableIterator<PciIds & { device_id: string }>) {
      pci.set(r.device_id, { vendor: r.vendor, device: r.device, class: r.class })
    }
    for (const r of this.db.prepare('SELECT * FROM devices ORDER BY seq').iterate() as IterableIterator<DeviceRow>) {
      const dev = createDevice(r.id, r.name, r.created_at, r.abi, {
        pcie: r.pcie !== 0,
        reset: r.reset !== 0,
        intx: r.intx !== 0,
        msiVectors: r.msi_vectors,
        msixTableSize: r.msix_table_size,
        msixDynamic: r.msix_dynamic !== 0,
        ...maskingCaps(masking.get(r.id)),
        ...(r.parent !== null ? { parent: r.parent, msixEmulated: JSON.parse(r.msix_emulated ?? '[]') as number[] } : {})
      }, r.owner, { driver: r.driver, template: r.template, pci: pci.get(r.id) ?? null })
      const userMask = masking.get(r.id)?.msix_user_mask
      if (userMask !== undefined) dev.msix.userMask.set(userMask.subarray(0, dev.msix.size))
      dev.version = r.version
      dev.driverState = r.driver_state
      dev.irqType = r.irq_type
      Object.assign(dev.intx, { trigger: r.intx_trigger, unmaskFd: r.intx_unmask_fd, masked: r.intx_masked !== 0, line: r.intx_line !== 0 })
      dev.msi.enabledNvec = r.msi_enabled_nvec
      dev.msix.enabledNvec = r.msix_enabled_nvec
      dev.errTrigger = r.err_trigger
      dev.reqTrigger = r.req_trigger
      devices.set(dev.id, dev)
    }
    // One row per device and index, its vectors, triggers and backings as JSON arrays built inside
    // SQLite: stepping through a row per vector from JavaScript (6.4 million rows for 100,000
    // devices of 64 vectors) costs about five times as much. Both arrays are aggregated from
    // the same rows, so they are aligned.
    for (const [deviceId, index, vectors, triggers, backings] of this.db.prepare(`SELECT device_id, irq_index,
        json_group_array(vector), json_group_array(trigger), json_group_array(backing) FROM vectors GROUP BY device_id, irq_index`)
      .raw().iterate() as IterableIterator<[string, number, string, string, string]>) {
      const dev = devices.get(deviceId)
      if (dev === undefined) continue
      const table = index === 2 ? dev.msix : dev.msi
      const vs = JSON.parse(vectors) as number[]
      const ts = JSON.parse(triggers) as number[]
      const bs = JSON.parse(backings) as Backing[]
      for (let i = 0; i < vs.length; i++) {
        table.allocate(vs[i], bs[i])
        table.trigger[vs[i]] = ts[i]
      }
    }
    for (const r of this.db.prepare('SELECT * FROM irq_counters').iterate() as IterableIterator<CounterRow>) {
      const c = devices.get(r.device_id)?.counters[r.irq_index]
      if (c === undefined || r.vector >= c.size) continue
      c.materialize()
      c.fired[r.vector] = r.fired
      c.delivered[r.vector] = r.delivered
      c.lost[0][r.vector] = r.lost_index_disabled
      c.lost[1][r.vector] = r.lost_not_allocated
      c.lost[2][r.vector] = r.lost_no_trigger
      c.pending[r.vector] = r.pending
      c.pended[r.vector] = r.pended
      c.coalesced[r.vector] = r.coalesced
      c.deliveredFromPending[r.vector] = r.delivered_from_pending
    }
    for (const dev of devices.values()) world.restoreDevice(dev)
    return world
  }

  /** One tenant's eventfd numbers after `after`, in order (an index range, however many there are). */
  eventfdPage (owner: string, after: number, limit: number): { fds: number[], more: boolean } {
    const fds = this.pageEventfds.pluck().all(owner, after, limit + 1) as number[]
    const more = fds.length > limit
    return { fds: more ? fds.slice(0, limit) : fds, more }
  }

  /** Device ids in creation order after the cursor (a creation sequence number). */
  devicePage (owner: string, after: number, limit: number): { ids: string[], last: number | null, more: boolean } {
    const rows = this.pageDevices.all(owner, after, limit + 1) as Array<{ seq: number, id: string }>
    const more = rows.length > limit
    const page = more ? rows.slice(0, limit) : rows
    return { ids: page.map((r) => r.id), last: page.length > 0 ? page[page.length - 1].seq : null, more }
  }
}

/** Only a device with a masking option on has a device_masking row. */
function hasMaskingOptions (dev: Device): boolean {
  return dev.caps.msiPerVectorMask === true || dev.caps.msixMaskable === true
}

function maskingCaps (r: MaskingRow | undefined): { msiPerVectorMask?: boolean, msixMaskable?: boolean } {
  if (r === undefined) return {}
  return { msiPerVectorMask: r.msi_per_vector_mask !== 0, msixMaskable: r.msix_maskable !== 0 }
}

function deviceRow (dev: Device): DeviceRow {
  return {
    id: dev.id,
    owner: dev.owner,
    name: dev.name,
    created_at: dev.createdAt,
    abi: dev.abi,
    pcie: b(dev.caps.pcie),
    reset: b(dev.caps.reset),
    intx: b(dev.caps.intx),
    msi_vectors: dev.caps.msiVectors,
    msix_table_size: dev.caps.msixTableSize,
    msix_dynamic: b(dev.caps.msixDynamic),
    version: dev.version,
    irq_type: dev.irqType,
    intx_trigger: dev.intx.trigger,
    intx_unmask_fd: dev.intx.unmaskFd,
    intx_masked: b(dev.intx.masked),
    intx_line: b(dev.intx.line),
    msi_enabled_nvec: dev.msi.enabledNvec,
    msix_enabled_nvec: dev.msix.enabledNvec,
    err_trigger: dev.errTrigger,
    req_trigger: dev.reqTrigger,
    driver: dev.driver,
    template: dev.template,
    driver_state: dev.driverState,
    parent: dev.caps.parent ?? null,
    msix_emulated: dev.caps.parent !== undefined ? JSON.stringify(dev.caps.msixEmulated ?? []) : null
  }
}
