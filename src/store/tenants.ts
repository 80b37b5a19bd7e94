import type { Db } from './db.ts'

export interface TenantLimits { devices: number | null, eventfds: number | null, hostVectors: number | null, tableEntries: number | null }
export interface TokenRecord { id: string, tenant: string, label: string | null, createdAt: string, revokedAt: string | null }

interface TenantRow { name: string, max_devices: number | null, max_eventfds: number | null, max_host_vectors: number | null, max_table_entries: number | null }
interface TokenRow { id: string, tenant: string, hash: string, label: string | null, created_at: string, revoked_at: string | null }

/** Tenants, their limits and their tokens (as hashes). Writes are single statements. */
export class TenantStore {
  private readonly db: Db

  constructor (db: Db) {
    this.db = db
  }

  limits (): Map<string, TenantLimits> {
    const out = new Map<string, TenantLimits>()
    for (const r of this.db.prepare('SELECT * FROM tenants').all() as TenantRow[]) {
      out.set(r.name, { devices: r.max_devices, eventfds: r.max_eventfds, hostVectors: r.max_host_vectors, tableEntries: r.max_table_entries })
    }
    return out
  }

  /** Creates the tenant if new; sets its limits when given. */
  upsertTenant (name: string, limits: TenantLimits | undefined, now: string): void {
    this.db.prepare('INSERT INTO tenants (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, now)
    if (limits !== undefined) {
      this.db.prepare('UPDATE tenants SET max_devices = ?, max_eventfds = ?, max_host_vectors = ?, max_table_entries = ? WHERE name = ?')
        .run(limits.devices, limits.eventfds, limits.hostVectors, limits.tableEntries, name)
    }
  }

  insertToken (id: string, tenant: string, hash: string, label: string | null, now: string): void {
    this.db.prepare('INSERT INTO tokens (id, tenant, hash, label, created_at) VALUES (?, ?, ?, ?, ?)').run(id, tenant, hash, label, now)
  }

  revokeToken (id: string, now: string): boolean {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes === 1
  }

  /** Live tokens by hash. */
  activeHashes (): Map<string, { id: string, tenant: string }> {
    const out = new Map<string, { id: string, tenant: string }>()
    for (const r of this.db.prepare('SELECT id, tenant, hash FROM tokens WHERE revoked_at IS NULL').all() as TokenRow[]) {
      out.set(r.hash, { id: r.id, tenant: r.tenant })
    }
    return out
  }

  tokens (): TokenRecord[] {
    return (this.db.prepare('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[])
      .map((r) => ({ id: r.id, tenant: r.tenant, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at }))
  }
}
