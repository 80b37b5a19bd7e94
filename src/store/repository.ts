import type Database from 'better-sqlite3'
import { endianness } from 'node:os'
import type { Abi, Device, IrqType, PciIds } from '../core/device.ts'
import { createDevice } from '../core/create-device.ts'
import type { DriverName } from '../core/drivers/index.ts'
import type { TemplateName } from '../core/templates.ts'
import type { Effects } from '../core/effects.ts'
import { World } from '../core/world.ts'
import { Parent } from '../core/ims.ts'
import { NO_TRIGGER, type Backing, type VectorTable } from '../core/vectors.ts'
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
  private readonly upsertVectors: Database.Statement
  private readonly deleteVectors: Database.Statement
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
    this.upsertVectors = db.prepare(`INSERT INTO vector_blocks (device_id, irq_index, triggers, backings) VALUES (?, ?, ?, ?)
      ON CONFLICT (device_id, irq_index) DO UPDATE SET triggers = excluded.triggers, backings = excluded.backings`)
    this.deleteVectors = db.prepare('DELETE FROM vector_blocks WHERE device_id = ? AND irq_index = ?')
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
      // The index's whole block (migrations/011_vector_blocks.sql), in this same transaction.
      for (const [index, table, set] of [[1, dev.msi, sets.msi], [2, dev.msix, sets.msix]] as const) {
        if (set.size === 0) continue
        if (table.allocatedCount === 0) this.deleteVectors.run(dev.id, index)
        else this.upsertVectors.run(dev.id, index, ...encodeVectors(table))
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
    // devices reads hundreds of thousands of rows (and millions of counter rows once every
    // vector has fired), and an array of them all would be garbage that the heap keeps the
    // room of long after the load.
    const eventfdRows = this.db.prepare('SELECT * FROM eventfds ORDER BY owner, fd').raw()
    const e = fieldsOf<EventfdRow>(eventfdRows)
    for (const r of eventfdRows.iterate() as IterableIterator<unknown[]>) {
      world.eventfds.restore({ fd: e(r, 'fd'), value: e(r, 'value'), semaphore: e(r, 'semaphore') !== 0, label: e(r, 'label'), createdAt: e(r, 'created_at'), owner: e(r, 'owner') })
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
    // Device rows as arrays (raw), read by column name through `d`: a row object of 26 keys
    // each costs about twice as much to build, and 100,000 of them are garbage right after.
    const deviceRows = this.db.prepare('SELECT * FROM devices ORDER BY seq').raw()
    const d = fieldsOf<DeviceRow>(deviceRows)
    for (const r of deviceRows.iterate() as IterableIterator<unknown[]>) {
      const id = d(r, 'id')
      const parent = d(r, 'parent')
      const dev = createDevice(id, d(r, 'name'), d(r, 'created_at'), d(r, 'abi'), {
        pcie: d(r, 'pcie') !== 0,
        reset: d(r, 'reset') !== 0,
        intx: d(r, 'intx') !== 0,
        msiVectors: d(r, 'msi_vectors'),
        msixTableSize: d(r, 'msix_table_size'),
        msixDynamic: d(r, 'msix_dynamic') !== 0,
        ...maskingCaps(masking.get(id)),
        ...(parent !== null ? { parent, msixEmulated: JSON.parse(d(r, 'msix_emulated') ?? '[]') as number[] } : {})
      }, d(r, 'owner'), { driver: d(r, 'driver'), template: d(r, 'template'), pci: pci.get(id) ?? null })
      const userMask = masking.get(id)?.msix_user_mask
      if (userMask !== undefined) dev.msix.userMask.set(userMask.subarray(0, dev.msix.size))
      dev.version = d(r, 'version')
      dev.driverState = d(r, 'driver_state')
      dev.irqType = d(r, 'irq_type')
      Object.assign(dev.intx, { trigger: d(r, 'intx_trigger'), unmaskFd: d(r, 'intx_unmask_fd'), masked: d(r, 'intx_masked') !== 0, line: d(r, 'intx_line') !== 0 })
      dev.msi.enabledNvec = d(r, 'msi_enabled_nvec')
      dev.msix.enabledNvec = d(r, 'msix_enabled_nvec')
      dev.errTrigger = d(r, 'err_trigger')
      dev.reqTrigger = d(r, 'req_trigger')
      devices.set(dev.id, dev)
    }
    // One row per device and index: a restart of 100,000 devices reads 100,000 blocks, each
    // copied into the table's typed arrays, with no object per vector.
    for (const [deviceId, index, triggers, backings] of this.db.prepare('SELECT device_id, irq_index, triggers, backings FROM vector_blocks')
      .raw().iterate() as IterableIterator<[string, number, Buffer, Buffer]>) {
      const dev = devices.get(deviceId)
      if (dev !== undefined) decodeVectors(index === 2 ? dev.msix : dev.msi, triggers, backings)
    }
    // Counters stay one row per vector that ever counted (the flusher writes only the touched
    // ones); read as arrays, in the order of the columns named here.
    for (const [deviceId, index, v, fired, delivered, lost0, lost1, lost2, pending, pended, coalesced, fromPending] of this.db.prepare(`SELECT
        device_id, irq_index, vector, fired, delivered, lost_index_disabled, lost_not_allocated, lost_no_trigger,
        pending, pended, coalesced, delivered_from_pending FROM irq_counters`).raw().iterate() as IterableIterator<[string, ...number[]]>) {
      const c = devices.get(deviceId)?.counters[index]
      if (c === undefined || v >= c.size) continue
      c.materialize()
      c.fired[v] = fired
      c.delivered[v] = delivered
      c.lost[0][v] = lost0
      c.lost[1][v] = lost1
      c.lost[2][v] = lost2
      c.pending[v] = pending
      c.pended[v] = pended
      c.coalesced[v] = coalesced
      c.deliveredFromPending[v] = fromPending
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

// Trigger blocks are little-endian (migrations/011_vector_blocks.sql); they are copied to and
// from the tables' Int32Arrays byte for byte, which are in the machine's order.
if (endianness() !== 'LE') throw new Error('virq stores vector blocks little-endian and runs on little-endian machines only')

/** An index's block: every vector's trigger (NO_TRIGGER where nothing is allocated) and backing (0: none). */
function encodeVectors (table: VectorTable): [Buffer, Buffer] {
  const triggers = Buffer.alloc(table.size * 4)
  const t = new Int32Array(triggers.buffer, triggers.byteOffset, table.size)
  for (let v = 0; v < table.size; v++) t[v] = table.allocated[v] !== 0 ? table.trigger[v] : NO_TRIGGER
  return [triggers, Buffer.from(table.backing)]
}

/** Allocates what a block says is allocated (so that the counts are the table's own) and sets the triggers. */
function decodeVectors (table: VectorTable, triggers: Buffer, backings: Buffer): void {
  const n = Math.min(table.size, backings.length, triggers.length >> 2)
  for (let v = 0; v < n; v++) if (backings[v] !== 0) table.allocate(v, backings[v] as Backing)
  new Uint8Array(table.trigger.buffer, table.trigger.byteOffset, n * 4).set(triggers.subarray(0, n * 4))
}

/** Reads a raw row (an array) of `stmt` by column name. */
function fieldsOf<Row> (stmt: Database.Statement): <K extends keyof Row & string>(r: unknown[], k: K) => Row[K] {
  const at = new Map(stmt.columns().map((c, i) => [c.name, i]))
  const position = (k: string): number => {
    const i = at.get(k)
    if (i === undefined) throw new Error(`no column ${k}`)
    return i
  }
  const cache: Record<string, number> = Object.create(null)
  return (r, k) => {
    cache[k] ??= position(k)
    return r[cache[k]] as any
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
