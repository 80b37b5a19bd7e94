// Apps for tests: built, listening, on files or in memory, always closed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { buildApp, type App, type AppOptions } from '../../src/app.ts'

/** What the helpers need of a test: somewhere to register cleanup. Any `t` tap hands out fits. */
export type Tap = Pick<Test, 'teardown'>

export type { App, AppOptions }

/** An app built by `build`: `closeOnce()` closes it now; the teardown then does nothing. */
export type TestApp = App & { closeOnce: () => Promise<void> }

/**
 * An app on a fresh in-memory database with 4,096 host vectors, closed when the test ends.
 * Every option of buildApp can be given (db, hostVectors, adminToken, traceRetention, flushMs, ...).
 * The overload guard is off unless asked for: on a loaded machine building an app can block the
 * loop past a second, and the guard would then answer 503 to the first requests (its own test
 * turns it on).
 */
export async function build (t: Tap, opts: Partial<AppOptions> = {}): Promise<TestApp> {
  const app = await buildApp({ db: ':memory:', hostVectors: 4096, maxEventLoopDelayMs: 0, ...opts })
  let closed = false
  const closeOnce = async (): Promise<void> => {
    if (closed) return
    closed = true
    await app.close()
  }
  t.teardown(closeOnce)
  return Object.assign(app, { closeOnce })
}

/** Where a listening app answers. */
export interface Listening { port: number, base: string, ws: string }

/** Listens on 127.0.0.1, any free port. */
export async function listen (app: App): Promise<Listening> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const port = address.port
  return { port, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` }
}

/** A temporary directory removed when the test ends. */
export function tempDir (t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'virq-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Resolves when `cond()` holds, polling every 5 ms; rejects after `ms` naming `what`. */
export async function until (cond: () => boolean | Promise<boolean>, what = 'the condition', ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
