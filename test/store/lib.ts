import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type AppOptions, build, type Tap, type TestApp } from '../helper.ts'

// Shared by the storage tests: apps on files, and the real server as a child process.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * An app on `file`; `closeOnce()` closes it once (also at the end of the test). The flusher
 * is off (tests flush when they mean to); the storage probe runs every 50 ms; the overload
 * guard, whose 1 s samples an fsync on a busy shared disk can outlast, is off.
 */
export async function openApp (t: Tap, file: string, opts: Partial<AppOptions> = {}): Promise<TestApp> {
  return await build(t, { db: file, hostVectors: 256, flushMs: 3_600_000, storageProbeMs: 50, pressureSampleMs: 3_600_000, ...opts })
}

/** The highest migration version this virq knows. */
export function latestMigration (): number {
  return Math.max(...readdirSync(new URL('../../migrations/', import.meta.url)).filter((f) => /^\d+_.+\.sql$/.test(f)).map((f) => Number.parseInt(f, 10)))
}

export interface Started { child: ChildProcess, url: string }
export interface Exited { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** The server from the sources, through tsx. */
export const SOURCE_SERVER = ['--import', 'tsx', 'src/server.ts']

/**
 * `node --import tsx src/server.ts --db FILE --port 0` (or another `server`, e.g. a bundle).
 * Resolves with the URL once it listens, or with how it ended if it exits first (a refusal to
 * start).
 */
export function startServer (t: Tap, file: string, server: readonly string[] = SOURCE_SERVER): Promise<{ started: Started } | { exited: Exited }> {
  const child = spawn(process.execPath, [...server, '--db', file, '--port', '0', '--log-level', 'warn', '--flush-ms', '3600000'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => { stderr += chunk })
  return new Promise((resolve) => {
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      const m = /virq listening on (http:\/\/\S+)/.exec(stdout)
      if (m !== null) resolve({ started: { child, url: m[1] } })
    })
    child.once('exit', (code, signal) => resolve({ exited: { code, signal, stdout, stderr } }))
  })
}

/** SIGTERM, and wait for the exit. */
export async function stopServer (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
