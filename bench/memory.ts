import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
import { buildApp } from '../src/app.ts'
import { Engine } from '../src/engine/engine.ts'
import { openDb } from '../src/store/db.ts'
import { cloneDevice, VECTORS } from './scale-build.ts'

// Where the memory of a restart goes: N devices x 64 MSI-X vectors, each with a trigger, loaded
// by the engine in this process; prints heap and RSS deltas of the load.
// node --expose-gc --import tsx bench/memory.ts [N]

const N = Number(process.argv[2] ?? 10_000)
const dir = mkdtempSync(join(tmpdir(), 'virq-mem-'))
const file = join(dir, 'm.db')
const app = await buildApp({ db: file, hostVectors: N * VECTORS, maxDevices: N, maxEventfds: N, maxTableEntries: N * VECTORS, sync: 'normal', flushMs: 0, pressureSampleMs: 2 ** 31 - 1 })
const efd = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: { label: 'm' } })).json()
const dev = (await app.inject({ method: 'POST', url: '/v1/devices', payload: { name: 'm', msix: { tableSize: VECTORS } } })).json()
await app.inject({ method: 'POST', url: `/v1/devices/${dev.id}/irqs/msix`, payload: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: new Array(VECTORS).fill(efd.fd) } } })
if (typeof dev.id !== 'string') throw new Error(JSON.stringify(dev))
await app.close()
cloneDevice(file, N - 1)

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mb = (n: number): string => (n / 1048576).toFixed(1)
gc()
const before = process.memoryUsage()
const t0 = performance.now()
const db = openDb(file, 'normal')
const openMs = performance.now() - t0
const engine = new Engine(db, N * VECTORS)
const loadMs = performance.now() - t0
const peak = process.memoryUsage()
gc()
const after = process.memoryUsage()
console.log(`N=${N}: open ${openMs.toFixed(0)} ms, open + load ${loadMs.toFixed(0)} ms; rss +${mb(after.rss - before.rss)} MB (peak +${mb(peak.rss - before.rss)}), heapUsed +${mb(after.heapUsed - before.heapUsed)} MB, external+arrayBuffers +${mb(after.external - before.external)} / +${mb(after.arrayBuffers - before.arrayBuffers)} MB; devices ${engine.world.devices.size}`)
if (process.env.SNAPSHOT === '1') console.log('snapshot', v8.writeHeapSnapshot(join('/tmp', `virq-${N}.heapsnapshot`)))
if (process.env.KEEP === '1') { console.log(file); process.exit(0) }
engine.close()
rmSync(dir, { recursive: true, force: true })
