import Database from 'better-sqlite3'
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { migrate } from '../../src/store/db.ts'
import { build, type Method, send, type Tap, tempDir } from '../helper.ts'

// Per-tenant eventfd numbering survives a restart: each tenant goes on from its own next
// number (closed numbers stay used), and a database from before per-tenant numbering keeps
// every eventfd's number and binding.

const ADMIN = 'admin-token-0123456789abcdef'
const MIGRATIONS = fileURLToPath(new URL('../../migrations/', import.meta.url))

type Req = (method: string, url: string, payload?: unknown) => Promise<any>

async function open (t: Tap, file: string) {
  const app = await build(t, { db: file, hostVectors: 64, adminToken: ADMIN })
  const as = (tok: string): Req => async (method, url, payload) => await send(app, method as Method, url, payload, tok)
  return { app, as, close: app.closeOnce }
}

const token = async (as: (tok: string) => Req, tenant: string): Promise<string> => (await as(ADMIN)('POST', '/v1/admin/tokens', { tenant })).body.token
const newFd = async (req: Req): Promise<number> => (await req('POST', '/v1/eventfds', {})).body.fd

t.test('restart: each tenant goes on from its own next number', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  const one = await open(t, file)
  const [a, b] = [await token(one.as, 'alpha'), await token(one.as, 'beta')]
  const A = one.as(a)
  const B = one.as(b)
  for (let i = 0; i < 3; i++) await newFd(A)
  await A('DELETE', '/v1/eventfds/3') // the highest, closed: never issued again
  await newFd(B)
  await B('DELETE', '/v1/eventfds/1') // beta has none open, but 1 was used
  await A('POST', '/v1/eventfds/2/write', { value: 9 })
  const dev = (await A('POST', '/v1/devices', { msix: { tableSize: 4 } })).body.id
  await A('POST', `/v1/devices/${dev}/irqs/msix`, { action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [2, 1] } })
  const before = { alpha: (await A('GET', '/v1/eventfds')).body, bound: (await A('GET', '/v1/eventfds/2')).body, host: (await A('GET', '/v1/host')).body }
  await one.close()

  const two = await open(t, file)
  const A2 = two.as(a)
  const B2 = two.as(b)
  t.strictSame({ alpha: (await A2('GET', '/v1/eventfds')).body, bound: (await A2('GET', '/v1/eventfds/2')).body, host: (await A2('GET', '/v1/host')).body }, before,
    'eventfds, values, bindings and the tenant\'s host view are as they were')
  t.same((await B2('GET', '/v1/eventfds')).body.items, [])
  const cases: Array<[string, Req, number]> = [
    ['alpha goes on past its closed highest number', A2, 4],
    ['beta goes on past its closed 1', B2, 2],
    ['a tenant new since the restart starts at 1', two.as(await token(two.as, 'gamma')), 1]
  ]
  for (const [rule, req, want] of cases) t.equal(await newFd(req), want, rule)
  t.equal((await A2('POST', `/v1/devices/${dev}/interrupts`, { index: 'msix', vector: 1 })).body.delivered, 1, 'the restored trigger resolves in alpha\'s table')
  t.equal((await A2('GET', '/v1/eventfds/1')).body.value, 1)
})

t.test('migration: a database numbered globally keeps every number and binding; tenants go on from the global next number', async (t) => {
  const dir = tempDir(t)
  // The schema as it was before per-tenant numbering: the migrations before 007.
  const old = join(dir, 'old-migrations')
  mkdirSync(old)
  for (const f of readdirSync(MIGRATIONS)) if (/^00[1-3]_/.test(f)) copyFileSync(join(MIGRATIONS, f), join(old, f))
  const file = join(dir, 'virq.db')
  const db = new Database(file)
  migrate(db, old)
  db.exec(`
    INSERT INTO tenants (name, created_at) VALUES ('alpha', 'x'), ('beta', 'x');
    INSERT INTO eventfds (fd, value, semaphore, label, created_at, owner) VALUES
      (1, 0, 0, NULL, 'x', 'default'), (2, 3, 0, 'a2', 'x', 'alpha'), (4, 0, 1, 'a4', 'x', 'alpha');
    UPDATE meta SET value = 6 WHERE key = 'next_fd';
    INSERT INTO devices (id, owner, name, created_at, abi, pcie, reset, intx, msi_vectors, msix_table_size, msix_dynamic,
      version, irq_type, intx_trigger, intx_unmask_fd, intx_masked, intx_line, msi_enabled_nvec, msix_enabled_nvec, err_trigger, req_trigger)
      VALUES ('d1', 'alpha', 'd1', 'x', 'linux-6.12', 0, 0, 0, 0, 4, 1, 3, 'msix', -1, -1, 0, 0, 0, 1, -1, -1);
    INSERT INTO vectors (device_id, irq_index, vector, trigger) VALUES ('d1', 2, 0, 4);
  `)
  db.close()

  const app = await open(t, file)
  const tokens = { alpha: await token(app.as, 'alpha'), beta: await token(app.as, 'beta'), gamma: await token(app.as, 'gamma') }
  const A = app.as(tokens.alpha)
  t.same((await A('GET', '/v1/eventfds')).body.items.map((e: any) => [e.fd, e.value, e.label]), [[2, 3, 'a2'], [4, 0, 'a4']], 'alpha\'s numbers and values kept')
  t.same((await A('GET', '/v1/eventfds/4')).body.bindings.map((b: any) => [b.deviceId, b.index, b.vector]), [['d1', 2, 0]], 'binding kept')
  const cases: Array<[string, Req, number]> = [
    ['alpha goes on from the global next number (3 and 5 may have been its own)', A, 6],
    ['so does beta, which existed before', app.as(tokens.beta), 6],
    ['a tenant created after the migration starts at 1', app.as(tokens.gamma), 1]
  ]
  for (const [rule, req, want] of cases) t.equal(await newFd(req), want, rule)
  await app.close()
  const check = new Database(file, { readonly: true })
  t.teardown(() => check.close())
  t.equal(check.prepare("SELECT COUNT(*) FROM meta WHERE key = 'next_fd'").pluck().get(), 0, 'the global counter is gone')
})
