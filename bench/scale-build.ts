import Database from 'better-sqlite3'
import type autocannon from 'autocannon'

// Building the state of the scale bench: N devices, each with 64 MSI-X vectors enabled and
// every vector triggering the device's own eventfd.
//
// Two paths. `buildOverHttp` is what a client does: per device one eventfd, one device and one
// SET_IRQS, over the API, `CONCURRENCY` at a time. `cloneDevice` is the bulk path for 100,000
// devices (about 300,000 requests would take minutes here): with the server stopped, it copies
// the rows of the first device built over HTTP (its device row, vector blocks, eventfd, trace,
// counters) n times in a few INSERT ... SELECT statements, each copy with its own id, name and
// eventfd number. The rows are those the server itself wrote, so a restart loads exactly what
// it would have loaded after building the copies over HTTP.

export const VECTORS = 64
const CONCURRENCY = 32

/** POST, retried after a 503 (overloaded: the shared machine can starve the server for a second). */
export async function post (url: string, body: unknown): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (res.status === 503 && attempt < 10) {
      await res.arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      continue
    }
    if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
    return await res.json()
  }
}

/**
 * The SET_IRQS pair the bench measures, as autocannon requests: the raw ioctl assigning eventfd
 * `fd` to MSI-X vector `vector`, then de-assigning it (-1), one durable commit each. `path` is the
 * device's `/ioctl/set-irqs` route, or undefined when the run's url already is.
 */
export function setIrqsPair (path: string | undefined, fd: number, vector: number): autocannon.Request[] {
  const headers = { 'content-type': 'application/json' }
  const body = (data: number) => JSON.stringify({ flags: 0x24, index: 2, start: vector, count: 1, data: [data] })
  const at = path === undefined ? {} : { path }
  return [{ method: 'POST', ...at, headers, body: body(fd) }, { method: 'POST', ...at, headers, body: body(-1) }]
}

/** Adds `count` devices over the API; returns the last one's id and eventfd number. */
export async function buildOverHttp (base: string, from: number, count: number): Promise<{ id: string, fd: number }> {
  let next = 0
  let last = { id: '', fd: 0, n: -1 }
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = from + next++
      const efd = await post(`${base}/v1/eventfds`, { label: `scale-${n}` })
      const dev = await post(`${base}/v1/devices`, { name: `scale-${n}`, msix: { tableSize: VECTORS } })
      await post(`${base}/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: new Array(VECTORS).fill(efd.fd) } })
      if (n > last.n) last = { id: dev.id, fd: efd.fd, n }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { id: last.id, fd: last.fd }
}

/**
 * Adds n copies of the first device (and of its eventfd) to the database file (the server must
 * be stopped). The first device is the template because it is as the API built it: the bench
 * fires and reconfigures only the last one. Returns the last copy's id and eventfd number.
 */
export function cloneDevice (file: string, n: number): { id: string, fd: number } {
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    const { id: templateId, owner, count } = db.prepare('SELECT id, owner, (SELECT count(*) FROM devices) AS count FROM devices ORDER BY seq LIMIT 1').get() as { id: string, owner: string, count: number }
    const templateFd = (db.prepare('SELECT triggers FROM vector_blocks WHERE device_id = ? ORDER BY irq_index LIMIT 1').pluck().get(templateId) as Buffer).readInt32LE(0)
    // A block's triggers with the template's eventfd number replaced by the copy's.
    db.function('retarget', { deterministic: true }, (blob: unknown, from: unknown, to: unknown) => {
      const triggers = Buffer.from(blob as Buffer)
      for (let o = 0; o < triggers.length; o += 4) if (triggers.readInt32LE(o) === from) triggers.writeInt32LE(Number(to), o)
      return triggers
    })
    const firstFd = (db.prepare('SELECT MAX(fd) FROM eventfds WHERE owner = ?').pluck().get(owner) as number) + 1
    const params = { tpl: templateId, tplFd: templateFd, n, firstFd, from: count }
    // Copy k (1..n): id and name from the device count + k, eventfd number firstFd + k - 1.
    const newId = "printf('00000000-0000-4000-8000-%012d', @from + k.i)"
    const newFd = '(@firstFd + k.i - 1)'
    const fdColumns = new Set(['intx_trigger', 'intx_unmask_fd', 'err_trigger', 'req_trigger'])
    const copy = (table: string, key: string, override: Record<string, string> = {}): void => {
      const cols = (db.prepare(`SELECT name, pk FROM pragma_table_info('${table}')`).all() as Array<{ name: string, pk: number }>)
        .filter((c) => !(table === 'devices' && c.name === 'seq') && !(table === 'trace' && c.name === 'seq'))
        .map((c) => c.name)
      const exprs = cols.map((c) => override[c] ?? (c === key
        ? newId
        : c === 'triggers' ? `retarget(t.triggers, @tplFd, ${newFd})` : fdColumns.has(c) ? `CASE WHEN t.${c} = @tplFd THEN ${newFd} ELSE t.${c} END` : `t.${c}`))
      // The template's rows first (materialized), then the copies: an outer loop over the
      // template rows, so that a table without an index on the key is scanned once, not per copy.
      db.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < @n),
          t AS MATERIALIZED (SELECT * FROM ${table} WHERE ${key} = @tpl)
        INSERT INTO ${table} (${cols.join(', ')}) SELECT ${exprs.join(', ')} FROM t CROSS JOIN k ORDER BY k.i`)
        .run(params)
    }
    db.transaction(() => {
      copy('devices', 'id', { name: "'scale-' || (@from + k.i)" })
      db.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < @n)
        INSERT INTO eventfds (owner, fd, value, semaphore, label, created_at)
        SELECT owner, @firstFd + k.i - 1, value, semaphore, 'scale-' || (@from + k.i), created_at FROM k, eventfds t WHERE t.owner = @owner AND t.fd = @tplFd ORDER BY k.i`)
        .run({ n, firstFd, owner, tplFd: templateFd, from: count })
      db.prepare('UPDATE eventfd_numbering SET next_fd = ? WHERE owner = ?').run(firstFd + n, owner)
      for (const table of ['vector_blocks', 'irq_counters', 'device_masking', 'trace']) copy(table, 'device_id')
    })()
    db.pragma('wal_checkpoint(TRUNCATE)')
    return { id: `00000000-0000-4000-8000-${String(count + n).padStart(12, '0')}`, fd: firstFd + n - 1 }
  } finally {
    db.close()
  }
}
