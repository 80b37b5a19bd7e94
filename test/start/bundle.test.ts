import { execFile, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { promisify } from 'node:util'
import { bundleCli, bundleServer } from '../../scripts/bundle.ts'
import { tempDir, type Tap } from '../helper.ts'
import { startServer, stopServer } from '../store/lib.ts'

// `npm start` runs dist/server.js and bin/virq.js runs dist/cli/main.js, the one-file bundles
// scripts/bundle.ts makes. Every other test runs the sources; this one bundles them the same
// way and drives the bundles, so that what a user starts is what the tests proved: the routes,
// files read from the package (migrations, the dashboard, the API reference, stream.md), the
// modules left out of the bundle (better-sqlite3, @fastify/swagger-ui), a restart on the same
// database, and the CLI against the bundled server.

const ROOT = join(import.meta.dirname, '..', '..')
// One folder below the package root, like dist/: the bundle finds the package's files from there.
const OUT_DIR = join(ROOT, 'test-artifacts')
const BUNDLE = join(OUT_DIR, `server-bundle-${process.pid}.js`)
const CLI = join(OUT_DIR, `cli-bundle-${process.pid}.js`)

const run = promisify(execFile)

/** The bundled CLI's stdout, stderr and exit status. */
async function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The bundle on `db`, listening on a free port (test/store's startServer, with the bundle as the server). */
async function start (t: Tap, db: string): Promise<{ child: ChildProcess, base: string }> {
  const result = await startServer(t, db, [BUNDLE])
  if (!('started' in result)) throw new Error(`the bundle did not start: ${JSON.stringify(result.exited)}`)
  return { child: result.started.child, base: result.started.url }
}

/** SIGTERM, and its exit code. */
async function stop (child: ChildProcess): Promise<number | null> {
  await stopServer(child)
  return child.exitCode
}

async function call (base: string, method: string, path: string, body?: unknown): Promise<{ status: number, type: string, text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
  })
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

t.before(async () => {
  mkdirSync(OUT_DIR, { recursive: true })
  await bundleServer(BUNDLE)
  await bundleCli(CLI)
})
t.teardown(() => { rmSync(BUNDLE, { force: true }); rmSync(CLI, { force: true }) })

t.test('the bundled server answers as the sources do, and keeps its state across a restart', async (t) => {
  const db = join(tempDir(t), 'bundle.db')
  let { child, base } = await start(t, db)
  try {
    t.equal((await call(base, 'GET', '/healthz')).status, 200, '/healthz')
    const created = await call(base, 'POST', '/v1/devices', { name: 'bundled', msix: { tableSize: 8 } })
    t.equal(created.status, 201, 'a device is created')
    const id = JSON.parse(created.text).id as string
    const info = await call(base, 'POST', `/v1/devices/${id}/ioctl/get-irq-info`, { argsz: 16, index: 2 })
    t.match(JSON.parse(info.text), { count: 8 }, 'GET_IRQ_INFO on MSI-X reports the table size')
    const bad = await call(base, 'POST', '/v1/devices', { name: 1 })
    t.equal(bad.status, 400, 'bad input is refused')
    t.match(bad.type, /^application\/problem\+json/, 'as problem+json')
    t.match(JSON.parse(bad.text).detail, /body\.name must be a string/, 'with the validation sentence')
    const ui = await call(base, 'GET', '/ui')
    t.equal(ui.status, 200, 'the dashboard (src/ui, read from the package)')
    t.match(ui.text, /<html/i)
    t.equal((await call(base, 'GET', '/docs/')).status, 200, 'the API reference (@fastify/swagger-ui, outside the bundle)')
    const stream = await call(base, 'GET', '/docs/stream.md')
    t.equal(stream.status, 200, 'stream.md (read from openapi/)')
    t.equal(stream.text, readFileSync(join(ROOT, 'openapi', 'stream.md'), 'utf8'))
    const doc = await call(base, 'GET', '/openapi.json')
    t.same(JSON.parse(doc.text), JSON.parse(readFileSync(join(ROOT, 'openapi', 'openapi.json'), 'utf8')), 'the committed OpenAPI document')
  } finally {
    t.equal(await stop(child), 0, 'SIGTERM ends it cleanly')
  }

  ;({ child, base } = await start(t, db))
  try {
    const list = JSON.parse((await call(base, 'GET', '/v1/devices')).text)
    t.same(list.items.map((d: { name: string }) => d.name), ['bundled'], 'the device is there after a restart (migrations ran once)')

    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
    t.same(await cli('--version'), { code: 0, stdout: `${version}\n`, stderr: '' }, 'the bundled CLI reads its version from the package')
    const listed = await cli('--url', base, '--json', 'devices', 'list')
    t.equal(listed.code, 0, 'the bundled CLI lists devices')
    t.same(JSON.parse(listed.stdout).items.map((d: { name: string }) => d.name), ['bundled'])
    const missing = await cli('--url', base, 'devices', 'show', '00000000-0000-0000-0000-000000000000')
    t.equal(missing.code, 1, 'an unknown device exits 1')
    t.match(missing.stderr, /^virq: .*HTTP 404/, 'and says why')
  } finally {
    t.equal(await stop(child), 0)
  }
})
