import Database from 'better-sqlite3'
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { migrate } from '../../src/store/db.ts'
import { Repository } from '../../src/store/repository.ts'
import { snapshot, tempDir } from '../helper.ts'

// A database written by an older virq opens under today's migrations with nothing lost: every
// device, vector, trigger, counter and eventfd the old API showed is still shown the same way.
// The fixture (test/fixtures/db/schema-003.db) was written at schema version 3 by the virq of
// that time, from bad-input-lib's buildFixture plus a few fires; schema-003.json is what that
// virq's API answered for it. Fields added since may appear; none may change or vanish.

const FIXTURES = fileURLToPath(new URL('../fixtures/db/', import.meta.url))

t.test('a schema-3 database upgrades in place and keeps everything the API showed', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  copyFileSync(join(FIXTURES, 'schema-003.db'), file)
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'schema-003.json'), 'utf8'))
  const app = await buildApp({ db: file, hostVectors: 64, flushMs: 0 })
  t.teardown(() => app.close())
  const actual = await snapshot(app)
  t.equal(actual.devices.length, expected.devices.length, 'every device is still there')
  t.equal(actual.eventfdList.length, expected.eventfdList.length, 'every eventfd is still there')
  t.match(actual, expected, 'and shows what it showed before the upgrade')
})

const MIGRATIONS = fileURLToPath(new URL('../../migrations/', import.meta.url))

t.test('migration 011: every vector row becomes its slot in its index block, exactly; counter rows are kept as they were', async (t) => {
  const dir = tempDir(t)
  // The schema as it was before vector blocks: the migrations before 011.
  const old = join(dir, 'old-migrations')
  mkdirSync(old)
  for (const f of readdirSync(MIGRATIONS)) if (Number.parseInt(f, 10) < 11) copyFileSync(join(MIGRATIONS, f), join(old, f))
  const db = new Database(join(dir, 'virq.db'))
  t.teardown(() => db.close())
  migrate(db, old)
  const device = db.prepare(`INSERT INTO devices (id, name, created_at, abi, pcie, reset, intx, msi_vectors, msix_table_size, msix_dynamic,
    version, irq_type, intx_trigger, intx_unmask_fd, intx_masked, intx_line, msi_enabled_nvec, msix_enabled_nvec, err_trigger, req_trigger)
    VALUES (?, ?, 'x', 'linux-6.12', 1, 1, 1, ?, ?, 1, 2, ?, -1, -1, 0, 0, ?, ?, -1, -1)`)
  device.run('a', 'a', 4, 8, 'msix', 0, 8) // MSI-X: host, ims and emulated backings, gaps, triggers of 1 to 4 bytes and none
  device.run('b', 'b', 32, 0, 'msi', 32, 0) // MSI: every vector of the largest MSI table
  device.run('c', 'c', 1, 2048, 'msix', 0, 2048) // the largest MSI-X table, its last vector only
  device.run('d', 'd', 4, 8, 'none', 0, 0) // no vector: no block
  const rows: Array<[string, number, number, number, number]> = [
    ['a', 2, 0, 5, 1], ['a', 2, 1, -1, 1], ['a', 2, 3, 300, 2], ['a', 2, 4, 70_000, 3], ['a', 2, 7, 0x12345678, 1],
    ...Array.from({ length: 32 }, (_, v): [string, number, number, number, number] => ['b', 1, v, v % 3 === 0 ? -1 : 1000 + v, 1]),
    ['c', 2, 2047, 2_147_483_647, 1]
  ]
  const insertVector = db.prepare('INSERT INTO vectors (device_id, irq_index, vector, trigger, backing) VALUES (?, ?, ?, ?, ?)')
  for (const r of rows) insertVector.run(...r)
  const insertCounters = db.prepare(`INSERT INTO irq_counters (device_id, irq_index, vector, fired, delivered, lost_index_disabled,
    lost_not_allocated, lost_no_trigger, pending, pended, coalesced, delivered_from_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  insertCounters.run('a', 2, 0, 2 ** 53 - 1, 2 ** 53 - 5, 1, 2, 0, 1, 3, 1, 0)
  insertCounters.run('a', 0, 0, 7, 7, 0, 0, 0, 0, 0, 0, 0)
  insertCounters.run('b', 1, 31, 10, 4, 3, 2, 1, 0, 0, 0, 0)
  const countersBefore = db.prepare('SELECT * FROM irq_counters ORDER BY device_id, irq_index, vector').all()

  t.same(migrate(db), ['011_vector_blocks.sql'], 'only 011 applies')

  t.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'vectors'").pluck().get(), 0, 'the row-per-vector table is gone')
  const blocks = db.prepare('SELECT device_id, irq_index, triggers, backings FROM vector_blocks ORDER BY device_id, irq_index').raw().all() as Array<[string, number, Buffer, Buffer]>
  t.same(blocks.map(([id, index, triggers, backings]) => [id, index, triggers.length, backings.length]),
    [['a', 2, 32, 8], ['b', 1, 128, 32], ['c', 2, 8192, 2048]], 'one block per device and index with vectors, as long as its table')
  // Every slot of every block, decoded: the old rows come back exactly, and no slot they did not name holds anything.
  const decoded = blocks.flatMap(([id, index, triggers, backings]) => [...backings].flatMap((backing, v) =>
    backing !== 0 ? [[id, index, v, triggers.readInt32LE(v * 4), backing]] : (triggers.readInt32LE(v * 4) === -1 ? [] : [['stray trigger', id, index, v]])))
  t.same(decoded, rows, 'every vector row, its trigger and its backing, and nothing else')
  t.same(db.prepare('SELECT * FROM irq_counters ORDER BY device_id, irq_index, vector').all(), countersBefore, 'counter rows unchanged')

  // What a restart builds from the blocks: the same vectors, their counts and the counters.
  const world = new Repository(db).load(1 << 20)
  const loaded = [...world.devices.values()].flatMap((dev) => ([[1, dev.msi], [2, dev.msix]] as const).flatMap(([index, table]) =>
    Array.from(table.allocated).flatMap((a, v) => a !== 0 ? [[dev.id, index, v, table.trigger[v], table.backing[v]]] : [])))
  t.same(loaded.sort(), [...rows].sort(), 'loaded: the same vectors, triggers and backings')
  const a = world.devices.get('a')!
  t.same([a.msix.allocatedCount, a.msix.emulatedCount, a.msix.hostHeld], [5, 1, 4], 'counts derived from the backings (emulated holds no host vector)')
  t.same([a.counters[2].fired[0], a.counters[2].pending[0], a.counters[0].fired[0], world.devices.get('b')!.counters[1].lost[0][31]], [2 ** 53 - 1, 1, 7, 3], 'counters loaded')
})
