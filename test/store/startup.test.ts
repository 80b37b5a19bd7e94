import Database from 'better-sqlite3'
import { closeSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createDevice, createEventfd, type Tap, tempDir } from '../helper.ts'
import { latestMigration, openApp, startServer, stopServer } from './lib.ts'

// A database virq must not run on is refused at start, with a message that names the file and
// says why; the real server is started as a child process, as an operator would.

t.setTimeout(180_000)

/** A migrated database with some devices and eventfds in it, closed. */
async function populated (t: Tap, file: string): Promise<void> {
  const app = await openApp(t, file, { sync: 'normal' })
  for (let i = 0; i < 200; i++) await createDevice(app, { name: `nic-${i}-${'x'.repeat(64)}`, msix: { tableSize: 8 } })
  await createEventfd(app)
  await app.closeOnce()
}
t.test('one virq per file: a second server on a database another one holds refuses to start', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  await populated(t, file) // migrated: nothing left for the second one to write at start
  const first = await startServer(t, file)
  if (!('started' in first)) throw new Error(`the first server did not start: ${first.exited.stderr}`)
  const second = await startServer(t, file)
  if ('started' in second) {
    t.fail(`the second server started too, at ${second.started.url}`)
    await stopServer(second.started.child)
  } else {
    t.not(second.exited.code, 0, 'exits non-zero')
    t.match(second.exited.stderr, file, 'names the file')
    t.match(second.exited.stderr, /another virq/, 'says another virq holds it')
  }
  // The first one is untouched and still writes.
  const res = await fetch(`${first.started.url}/v1/eventfds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(res.status, 201, 'the first server still takes writes')
  t.equal((await fetch(`${first.started.url}/readyz`)).status, 200)
  await stopServer(first.started.child)
  // Once it is gone the file is free again.
  const third = await startServer(t, file)
  t.ok('started' in third, 'a server starts on the file once the first has stopped')
  if ('started' in third) await stopServer(third.started.child)
})

t.test('a damaged index is found by quick_check at start: the server refuses, naming the file', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  await populated(t, file)
  const db = new Database(file, { readonly: true })
  const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = 'devices_owner'").pluck().get() as number
  const pageSize = db.pragma('page_size', { simple: true }) as number
  db.close()
  // Garbage over the whole index root page (a fixed pattern, so the test is the same every run).
  const garbage = Buffer.alloc(pageSize)
  for (let i = 0; i < pageSize; i++) garbage[i] = (i * 131 + 7) & 0xff
  const fd = openSync(file, 'r+')
  writeSync(fd, garbage, 0, pageSize, (root - 1) * pageSize)
  closeSync(fd)

  const run = await startServer(t, file)
  if ('started' in run) {
    const list = await fetch(`${run.started.url}/v1/devices`)
    t.fail(`the server started on a damaged database (GET /v1/devices answered ${list.status})`)
    await stopServer(run.started.child)
    return
  }
  t.not(run.exited.code, 0, 'exits non-zero')
  t.match(run.exited.stderr, file, 'names the file')
  t.match(run.exited.stderr, /corrupt/, 'says it is corrupt')
  t.match(run.exited.stderr, /quick_check/, 'and what found it')
})

t.test('a database written by a newer virq (an unknown schema version) is refused, naming the versions', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  await populated(t, file)
  const latest = latestMigration()
  const future = latest + 1
  const db = new Database(file)
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(future, `${String(future).padStart(3, '0')}_from_the_future.sql`, new Date().toISOString())
  db.close()

  const run = await startServer(t, file)
  if ('started' in run) {
    t.fail('the server started on a database of a newer schema')
    await stopServer(run.started.child)
    return
  }
  t.not(run.exited.code, 0, 'exits non-zero')
  t.match(run.exited.stderr, file, 'names the file')
  t.match(run.exited.stderr, new RegExp(`schema version ${future}\\b`), `names the version found (${future})`)
  t.match(run.exited.stderr, new RegExp(`up to ${latest}\\b`), `and the latest it knows (${latest})`)
  // Nothing was written to it: the future version is still the highest recorded.
  const after = new Database(file, { readonly: true })
  t.equal(after.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), future)
  after.close()
})
