import { sqliteCode } from './db.ts'

/**
 * A write (or read) the storage refused: the disk is full, the file was made read-only or is
 * unreachable, or the file is damaged. Not a fault of the request: it may well succeed later.
 */
export interface StorageFault {
  /** SQLITE_FULL: no room for the database to grow. */
  full: boolean
  /** The SQLite (extended) result code, e.g. SQLITE_IOERR_WRITE. */
  code: string
  message: string
}

const UNAVAILABLE = ['SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_BUSY', 'SQLITE_LOCKED',
  'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_PROTOCOL', 'SQLITE_NOLFS', 'SQLITE_AUTH', 'SQLITE_NOMEM']

/** The storage fault an error stands for, or null when it is something else (a bug: a constraint, a misuse). */
export function storageFault (err: unknown): StorageFault | null {
  const code = sqliteCode(err)
  if (code === undefined) return null
  const message = (err as Error).message
  if (code === 'SQLITE_FULL') return { full: true, code, message }
  if (UNAVAILABLE.some((prefix) => code === prefix || code.startsWith(`${prefix}_`))) return { full: false, code, message }
  return null
}
