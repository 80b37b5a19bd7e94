import { parseArgs } from 'node:util'
import type { SyncMode } from './store/db.ts'
import { DEFAULT_TRACE_RETENTION } from './store/trace.ts'

export interface Config {
  host: string
  port: number
  db: string
  hostVectors: number
  logLevel: string
  sync: SyncMode
  flushMs: number
  adminToken: string | undefined
  maxDevices: number
  maxEventfds: number
  maxTableEntries: number
  traceRetention: number
  vfioUserDir: string
  bodyLimit: number
  maxStreams: number
}

/**
 * What one instance holds at most, every tenant together (a tenant given no limit of its own
 * by the admin, and the single tenant when authentication is off, is bounded by these):
 * - 16,384 devices: 10,000 with room to spare.
 * - 1,048,576 MSI/MSI-X table entries (vectors, counted by table size whether enabled or not):
 *   16,384 devices x 64 vectors. Per-vector state (trigger, allocation, counters) costs about
 *   57 bytes an entry, so this bounds it to about 60 MB; a device also costs about 12 KB of its
 *   own (measured with 64 vectors), about 200 MB at the device cap.
 * - 131,072 eventfds: every host vector of the default pool (4,096) plus an INTx trigger,
 *   an unmask eventfd, ERR and REQ for each of 16,384 devices (69,632) can have its own,
 *   with as many again unbound.
 */
export const DEFAULT_LIMITS = { devices: 16_384, eventfds: 131_072, tableEntries: 1_048_576 } as const

/** How often the interrupt path's counters are written to SQLite, in ms. */
export const DEFAULT_FLUSH_MS = 1000
/** Where vfio-user sockets are created. */
export const DEFAULT_VFIO_USER_DIR = './data/vfio-user'
/** The largest request body, in bytes: a SET_IRQS or fire list of 16,384 elements fits. */
export const DEFAULT_BODY_LIMIT = 256 * 1024
/** Open SSE and WebSocket streams per tenant. */
export const DEFAULT_MAX_STREAMS = 1024

/** name, flag, environment variable, default: flags win over the environment, which wins over defaults. */
export const SETTINGS = [
  { key: 'host', flag: 'host', env: 'VIRQ_HOST', default: '127.0.0.1', help: 'address to listen on' },
  { key: 'port', flag: 'port', env: 'VIRQ_PORT', default: '8080', help: 'port (0 picks a free one)' },
  { key: 'db', flag: 'db', env: 'VIRQ_DB', default: './data/virq.db', help: "SQLite file (':memory:' for a throwaway instance)" },
  { key: 'hostVectors', flag: 'host-vectors', env: 'VIRQ_HOST_VECTORS', default: '4096', help: 'capacity of the host vector pool' },
  { key: 'logLevel', flag: 'log-level', env: 'VIRQ_LOG_LEVEL', default: 'info', help: 'pino log level' },
  { key: 'flushMs', flag: 'flush-ms', env: 'VIRQ_FLUSH_MS', default: String(DEFAULT_FLUSH_MS), help: 'how often interrupt and eventfd counters are written to SQLite' },
  { key: 'adminToken', flag: 'admin-token', env: 'VIRQ_ADMIN_TOKEN', default: '', help: 'turns on bearer tokens and tenants; manages them at /v1/admin (required beyond loopback)' },
  { key: 'traceRetention', flag: 'trace-retention', env: 'VIRQ_TRACE_RETENTION', default: String(DEFAULT_TRACE_RETENTION), help: 'configuration trace entries kept per device (the oldest go first)' },
  { key: 'vfioUserDir', flag: 'vfio-user-dir', env: 'VIRQ_VFIO_USER_DIR', default: DEFAULT_VFIO_USER_DIR, help: 'where vfio-user sockets are created (one per served device, mode 0600)' },
  { key: 'sync', flag: 'sync', env: 'VIRQ_SYNC', default: 'full', help: 'SQLite synchronous: full (power-cut safe) or normal (crash safe)' },
  { key: 'maxDevices', flag: 'max-devices', env: 'VIRQ_MAX_DEVICES', default: String(DEFAULT_LIMITS.devices), help: 'devices the instance holds at most, all tenants together' },
  { key: 'maxEventfds', flag: 'max-eventfds', env: 'VIRQ_MAX_EVENTFDS', default: String(DEFAULT_LIMITS.eventfds), help: 'eventfds the instance holds at most, all tenants together' },
  { key: 'maxTableEntries', flag: 'max-table-entries', env: 'VIRQ_MAX_TABLE_ENTRIES', default: String(DEFAULT_LIMITS.tableEntries), help: 'MSI + MSI-X table entries (vectors) of all devices together at most' },
  { key: 'maxStreams', flag: 'max-streams', env: 'VIRQ_MAX_STREAMS', default: String(DEFAULT_MAX_STREAMS), help: 'open SSE and WebSocket streams per tenant at most' },
  { key: 'bodyLimit', flag: 'body-limit', env: 'VIRQ_BODY_LIMIT', default: String(DEFAULT_BODY_LIMIT), help: 'largest request body in bytes (larger: 413)' }
] as const

export class ConfigError extends Error {}

function integer (name: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not "${text}"`)
  }
  return Number(text)
}

export function readConfig (argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
    strict: true
  })
  const raw: Record<string, string> = {}
  for (const s of SETTINGS) raw[s.key] = (values[s.flag] as string | undefined) ?? env[s.env] ?? s.default
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
  if (!levels.includes(raw.logLevel)) throw new ConfigError(`--log-level must be one of ${levels.join(', ')}`)
  if (raw.sync !== 'full' && raw.sync !== 'normal') throw new ConfigError('--sync must be full or normal')
  if (raw.adminToken !== '' && raw.adminToken.length < 16) throw new ConfigError('--admin-token must be at least 16 characters')
  if (raw.adminToken === '' && !isLoopback(raw.host)) {
    throw new ConfigError(`refusing to listen on ${raw.host} without authentication: set --admin-token (or VIRQ_ADMIN_TOKEN), or listen on a loopback address`)
  }
  return {
    host: raw.host,
    port: integer('--port', raw.port, 0, 65535),
    db: raw.db,
    hostVectors: integer('--host-vectors', raw.hostVectors, 0, 1 << 24),
    logLevel: raw.logLevel,
    sync: raw.sync,
    flushMs: integer('--flush-ms', raw.flushMs, 1, 3_600_000),
    adminToken: raw.adminToken === '' ? undefined : raw.adminToken,
    maxDevices: integer('--max-devices', raw.maxDevices, 0, 1 << 24),
    maxEventfds: integer('--max-eventfds', raw.maxEventfds, 0, 1 << 24),
    maxTableEntries: integer('--max-table-entries', raw.maxTableEntries, 0, 1 << 28),
    traceRetention: integer('--trace-retention', raw.traceRetention, 1, 100_000_000),
    vfioUserDir: raw.vfioUserDir,
    bodyLimit: integer('--body-limit', raw.bodyLimit, 1024, 64 * 1024 * 1024),
    maxStreams: integer('--max-streams', raw.maxStreams, 1, 1 << 20)
  }
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can reach them. */
function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
