import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp, type App } from '../src/app.ts'

interface Tap { teardown: (fn: () => unknown) => void }

/** An app on a fresh in-memory database, closed when the test ends. */
export async function build (t: Tap, opts: { hostVectors?: number, db?: string } = {}): Promise<App> {
  const app = await buildApp({ db: opts.db ?? ':memory:', hostVectors: opts.hostVectors ?? 4096 })
  t.teardown(() => app.close())
  return app
}

/** A temporary directory removed when the test ends. */
export function tempDir (t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'virq-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
