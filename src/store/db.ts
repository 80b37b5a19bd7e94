import Database from 'better-sqlite3'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { packagePath } from '../paths.ts'

export type Db = Database.Database
export type SyncMode = 'full' | 'normal'

const MIGRATIONS_DIR = packagePath('migrations/')

/** How long a start waits for a database another process holds (a restart overlapping a shutdown). */
const LOCK_WAIT_MS = 1000

/** The database cannot be used: virq refuses to start, and the message says why and names the file. */
class DatabaseRefused extends Error {}

/**
 * Opens the database, checks it and brings its schema up to date. WAL lets readers and the
 * writer overlap; synchronous=FULL makes every commit durable before its response (NORMAL
 * survives a process crash but not a power cut).
 *
 * One virq per file: two processes each holding the state in memory would overwrite each
 * other. locking_mode=EXCLUSIVE is set before the first access, so the journal_mode query
 * already takes the file's exclusive lock and holds it until close (with WAL, the wal-index
 * then lives in this process's memory and no other connection can read the file either).
 * A second virq on the same file therefore fails here, at start, instead of at its first write.
 */
export function openDb (file: string, sync: SyncMode = 'full'): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  let db: Db
  try {
    db = new Database(file, { timeout: LOCK_WAIT_MS })
  } catch (err) {
    throw refusal(file, err)
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = WAL')
    // A write transaction at start: a file this process cannot write is refused now, not at every write later.
    db.exec('BEGIN IMMEDIATE; COMMIT')
    db.pragma(`synchronous = ${sync.toUpperCase()}`)
    db.pragma('foreign_keys = ON')
    quickCheck(db, file)
    checkSchemaVersion(db, file)
    migrate(db)
  } catch (err) {
    db.close()
    throw refusal(file, err)
  }
  return db
}

/** The SQLite error code (SQLITE_BUSY, SQLITE_CORRUPT...) of an error, if it is one. */
export function sqliteCode (err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined
}

function refusal (file: string, err: unknown): Error {
  if (err instanceof DatabaseRefused) return err
  const code = sqliteCode(err)
  const message = (err as Error).message
  if (code === undefined) return err as Error
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DatabaseRefused(`database ${file} is in use: another virq (or another process) holds its lock; stop it first, or start this one with another --db`)
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new DatabaseRefused(`database ${file} is corrupt (${message}); restore it from a backup (virq backup)`)
  }
  return new DatabaseRefused(`database ${file} cannot be used: ${message} (${code})`)
}

/** PRAGMA quick_check: b-tree structure, record formats, index entry counts (not a full integrity_check). */
function quickCheck (db: Db, file: string): void {
  const problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check)
  if (problems.length === 1 && problems[0] === 'ok') return
  const first = problems.join('; ').replace(/\s*\n\s*/g, ' ').slice(0, 300)
  throw new DatabaseRefused(`database ${file} is corrupt (quick_check: ${first}); restore it from a backup (virq backup)`)
}

/** Migration files by version. */
function migrationFiles (dir: string): Map<number, string> {
  const files = readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
  return new Map(files.map((f) => [Number.parseInt(f, 10), f]))
}

/**
 * A database that a newer virq has migrated holds tables this one does not know how to keep
 * consistent: refuse it rather than write to it.
 */
function checkSchemaVersion (db: Db, file: string, dir = MIGRATIONS_DIR): void {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").pluck().get() !== undefined
  if (!hasTable) return
  const known = migrationFiles(dir)
  const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{ version: number, name: string }>
  const unknown = applied.filter((r) => !known.has(r.version))
  if (unknown.length === 0) return
  const latest = Math.max(0, ...known.keys())
  throw new DatabaseRefused(`database ${file} has schema version ${unknown.map((r) => `${r.version} (${r.name})`).join(', ')}, ` +
    `which this virq does not know (it knows versions up to ${latest}): it was written by a newer virq; run that one, or restore a backup made by this version`)
}

/**
 * Applies `migrations/NNN_name.sql` in order, each once, all pending ones in one transaction:
 * an upgrade lands whole or not at all, and a new database pays one commit (one fsync under
 * synchronous=FULL) instead of one per migration, which was a tenth of the time to start.
 */
export function migrate (db: Db, dir = MIGRATIONS_DIR): string[] {
  return db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`)
    const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
    const pending = [...migrationFiles(dir)].filter(([version]) => !applied.has(version))
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    const now = new Date().toISOString()
    for (const [version, file] of pending) {
      db.exec(readFileSync(join(dir, file), 'utf8'))
      record.run(version, file, now)
    }
    return pending.map(([, file]) => file)
  })()
}
