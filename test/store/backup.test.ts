import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { App } from '../../src/app.ts'
import { createDevice, createEventfd, fireOk, getJson, ok, snapshot, tempDir } from '../helper.ts'
import { openApp } from './lib.ts'

// Online backup (POST /v1/admin/backup, `virq backup --to FILE`): a SQLite copy made while the
// service runs, consistent, with every change and counter answered before it was asked for
// (the interrupt path's counters are flushed first). Restore = start virq on the copy.

t.setTimeout(240_000)

const BIN = fileURLToPath(new URL('../../bin/virq.js', import.meta.url))
const fireVector0 = async (app: App, id: string, count: number) => await fireOk(app, id, { index: 'msix', vector: 0, count })
const vector0 = async (app: App, id: string) => (await getJson(app, `/v1/devices/${id}/irqs/msix/vectors`)).items[0]

/** A device whose MSI-X vector 0 signals a fresh eventfd. */
async function wired (app: App, name: string): Promise<{ dev: string, efd: number }> {
  const efd = await createEventfd(app, { label: name })
  const dev = await createDevice(app, { name, msix: { tableSize: 8 } })
  await ok(app, 'POST', `/v1/devices/${dev}/irqs/msix`, { action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: [efd] } })
  return { dev, efd }
}

/** POST /v1/admin/backup into `file`; returns the answer's status and content type. */
async function backupTo (app: App, file: string): Promise<{ status: number, type: string | undefined }> {
  const res = await app.inject({ method: 'POST', url: '/v1/admin/backup' })
  if (res.statusCode === 200) writeFileSync(file, res.rawPayload)
  return { status: res.statusCode, type: res.headers['content-type'] as string | undefined }
}
const SQLITE_FILE = { status: 200, type: 'application/vnd.sqlite3' }

t.test('a backup taken while devices are created and interrupts fire is consistent and has the latest counters', async (t) => {
  const dir = tempDir(t)
  const app = await openApp(t, join(dir, 'virq.db')) // the flusher is off: only the backup writes the counters
  const { dev, efd } = await wired(app, 'nic0')
  await fireVector0(app, dev, 100)

  // Load: fires and device creations, one after another, until told to stop.
  const control = { stop: false }
  let answeredFires = 100
  const created: string[] = []
  const load = (async () => {
    for (let i = 0; !control.stop; i++) {
      await fireVector0(app, dev, 1)
      answeredFires++
      if (i % 3 === 0) created.push(await createDevice(app, { name: `load-${i}`, msix: { tableSize: 4 } }))
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  while (created.length < 10) await new Promise((resolve) => setTimeout(resolve, 5))
  const firesBefore = answeredFires
  const devicesBefore = created.length
  const during = join(dir, 'during.db')
  t.match(await backupTo(app, during), SQLITE_FILE, 'backup answers 200 with a SQLite file')
  const firesAfter = answeredFires
  while (created.length < devicesBefore + 10) await new Promise((resolve) => setTimeout(resolve, 5))
  control.stop = true
  await load

  const copy = await openApp(t, during)
  const atCopy = await vector0(copy, dev)
  t.ok(atCopy.fired >= firesBefore && atCopy.fired <= firesAfter,
    `the copy has every fire answered before the backup was asked for (${firesBefore} <= ${atCopy.fired} <= ${firesAfter})`)
  t.equal((await getJson(copy, `/v1/eventfds/${efd}`)).value, atCopy.fired, 'its eventfd counter matches its interrupt counter (one moment)')
  const copied = (await getJson(copy, '/v1/devices?limit=1000')).items as Array<{ id: string }>
  t.ok(copied.length >= 1 + devicesBefore, `the copy has every device created before it was asked for (${copied.length - 1} >= ${devicesBefore})`)
  // Whole but for the interrupt totals: the device kept firing after the copy (its counters
  // at the copy are checked above, and exactly once quiet, below).
  const configuration = ({ totals, ...rest }: { totals: unknown }) => rest
  for (const d of copied) {
    t.strictSame(configuration(await getJson(copy, `/v1/devices/${d.id}`)), configuration(await getJson(app, `/v1/devices/${d.id}`)), `device ${d.id} whole`)
  }
  t.ok(created.length > copied.length - 1, 'devices created after the copy are not in it')

  // Quiet now: a second backup is the service's state exactly, counters included.
  const after = join(dir, 'after.db')
  t.match(await backupTo(app, after), SQLITE_FILE)
  const restored = await openApp(t, after)
  t.strictSame(await snapshot(restored), await snapshot(app), 'started on the copy, virq shows the same state')
  t.equal((await vector0(restored, dev)).fired, answeredFires)
})

t.test('virq backup --to FILE writes a copy the server starts on', async (t) => {
  const dir = tempDir(t)
  const app = await openApp(t, join(dir, 'virq.db'))
  const { dev } = await wired(app, 'nic0')
  await fireVector0(app, dev, 42)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const to = join(dir, 'copy.db')
  const run = await new Promise<{ code: number, stdout: string, stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, '--url', url, '--json', 'backup', '--to', to], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? -1), stdout, stderr })
    })
  })
  t.equal(run.code, 0, `exit 0 ${run.stderr}`)
  t.match(JSON.parse(run.stdout), { file: to, bytes: Number })
  const restored = await openApp(t, to)
  t.strictSame(await snapshot(restored), await snapshot(app), 'the same state')
  t.equal((await vector0(restored, dev)).fired, 42)
})

t.test('with authentication on, a backup needs the admin token', async (t) => {
  const admin = 'admin-token-0123456789'
  const app = await openApp(t, join(tempDir(t), 'virq.db'), { adminToken: admin })
  const tenant = (await app.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${admin}` }, payload: { tenant: 'ci' } })).json().token
  const as = (token?: string) => app.inject({ method: 'POST', url: '/v1/admin/backup', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  t.equal((await as()).statusCode, 401, 'no token')
  t.equal((await as(tenant)).statusCode, 403, 'a tenant token')
  const res = await as(admin)
  t.equal(res.statusCode, 200, 'the admin token')
  t.equal(res.rawPayload.subarray(0, 16).toString('latin1'), 'SQLite format 3\0')
})
