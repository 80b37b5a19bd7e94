import Database from 'better-sqlite3'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type Db = Database.Database
export type SyncMode = 'full' | 'normal'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

/**
 * Opens the database and brings its schema up to date. WAL lets readers and the writer
 * overlap; synchronous=FULL makes every commit durable before its response (NORMAL survives
 * a process crash but not a power cut). The exclusive lock keeps a second virq off the file:
 * two processes each holding the state in memory would overwrite each other.
 */
export function openDb (file: string, sync: SyncMode = 'full'): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${sync.toUpperCase()}`)
  db.pragma('foreign_keys = ON')
  db.pragma('locking_mode = EXCLUSIVE')
  migrate(db)
  return db
}

/** Applies `migrations/NNN_name.sql` in order, each once, each in its own transaction. */
export function migrate (db: Db, dir = MIGRATIONS_DIR): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`)
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
  const files = readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
  const done: string[] = []
  for (const file of files) {
    const version = Number.parseInt(file, 10)
    if (applied.has(version)) continue
    const sql = readFileSync(join(dir, file), 'utf8')
    db.transaction(() => {
      db.exec(sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(version, file, new Date().toISOString())
    })()
    done.push(file)
  }
  return done
}
