import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp, type App } from '../src/app.ts'

interface Tap { teardown: (fn: () => unknown) => void }

/**
 * An app on a fresh in-memory database, closed when the test ends. The overload guard is off:
 * on a loaded machine building an app can block the loop past a second, and the guard would
 * then answer 503 to the first requests (its own test turns it on).
 */
export async function build (t: Tap, opts: { hostVectors?: number, db?: string } = {}): Promise<App> {
  const app = await buildApp({ db: opts.db ?? ':memory:', hostVectors: opts.hostVectors ?? 4096, maxEventLoopDelayMs: 0 })
  t.teardown(() => app.close())
  return app
}

/** A temporary directory removed when the test ends. */
export function tempDir (t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'virq-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** POST /v1/devices; returns the new device's id. */
export async function createDevice (app: App, body: object): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/devices', payload: body })
  if (res.statusCode !== 201) throw new Error(`create device: ${res.statusCode} ${res.body}`)
  return res.json().id
}

/** POST /v1/eventfds; returns the new eventfd's number. */
export async function eventfd (app: App, semaphore = false): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/v1/eventfds', payload: { semaphore } })
  if (res.statusCode !== 201) throw new Error(`create eventfd: ${res.statusCode} ${res.body}`)
  return res.json().fd
}
