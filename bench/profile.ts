import autocannon from 'autocannon'
import { type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { post, setIrqsPair } from './scale-build.ts'
import { start } from './servers.ts'

// Where a request's server time goes: runs the bare route or virq (dist/, so `npm run build`
// first) under `node --cpu-prof`, loads it as bench/run.ts does, and prints the top frames by
// self time and by file. `node --import tsx bench/profile.ts fire|batch|setirqs|bare [seconds]`
// (setirqs: the durable raw SET_IRQS of bench/run.ts, assigning and de-assigning vector 1500).
// BENCH_PROFILE=0 measures only; BENCH_SERVER=<another tree>/dist/server.js runs another build
// (before/after comparisons); BENCH_BATCH=n vectors per batch request (vector i % 1024 each).
// The "(idle)" frame is time the server waited for the client: on 2 cores the client's share.

const ROOT = join(import.meta.dirname, '..')
/** Vectors per request in the batch mode (bench/run.ts uses 1,000; the schema allows up to 16,384). */
const BATCH = Number(process.env.BENCH_BATCH ?? 1000)
const mode = process.argv[2] ?? 'fire'
const seconds = Number(process.argv[3] ?? 6)
/** BENCH_PROFILE=0: no profiler, only the rate and the server's CPU per request (the profiler adds to both). */
const PROFILE = process.env.BENCH_PROFILE !== '0'

/** A server under `--cpu-prof` (written into `dir` when it exits), unless BENCH_PROFILE=0. */
async function startProfiled (args: string[], dir: string): Promise<{ child: ChildProcess, url: string }> {
  return await start([...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), ...args])
}

/** User + system CPU of a process so far, s (Linux; clock ticks of 10 ms). */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[] }

function summarise (file: string, requests: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let total = 0
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0
    self.set(id, (self.get(id) ?? 0) + dt)
    total += dt
  })
  const frames = new Map<string, number>()
  const files = new Map<string, number>()
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const where = url === '' ? '' : relative(ROOT, url.replace(/^file:\/\//, ''))
    const name = `${functionName === '' ? '(anonymous)' : functionName} ${where}${where === '' ? '' : `:${lineNumber + 1}`}`
    frames.set(name, (frames.get(name) ?? 0) + us)
    const fileKey = where === '' ? functionName : where.replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*$/, '$1')
    files.set(fileKey, (files.get(fileKey) ?? 0) + us)
  }
  const top = (m: Map<string, number>, n: number): void => {
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`${(100 * us / total).toFixed(1).padStart(5)} % ${(us / requests).toFixed(2).padStart(7)} us/req  ${k}`)
    }
  }
  console.log(`\nself time, top frames (${(total / 1e6).toFixed(1)} s sampled, start-up included; us/req: over every request of the run, warm-up included):`)
  top(frames, 30)
  console.log('\nself time by package or file:')
  top(files, 20)
}

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'virq-prof-'))
  const headers = { 'content-type': 'application/json' }
  let server: { child: ChildProcess, url: string }
  let url: string
  let body = JSON.stringify({ index: 'msix', vector: 0 })
  let requests: autocannon.Request[] | undefined
  try {
    if (mode === 'bare') {
      server = await startProfiled(['bench/baseline-server.js'], dir)
      url = `${server.url}/fire`
    } else {
      server = await startProfiled([process.env.BENCH_SERVER ?? 'dist/server.js', '--port', '0', '--db', join(dir, 'virq.db'), '--log-level', 'warn', '--host-vectors', '100000'], dir)
      const dev = await post(`${server.url}/v1/devices`, { name: 'bench', msix: { tableSize: 2048 } })
      const efd = await post(`${server.url}/v1/eventfds`, { label: 'bench' })
      await post(`${server.url}/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: Array.from({ length: 1024 }, () => efd.fd) } })
      url = `${server.url}/v1/devices/${dev.id}/interrupts`
      if (mode === 'batch') body = JSON.stringify({ index: 'msix', vectors: Array.from({ length: BATCH }, (_, i) => i % 1024) })
      if (mode === 'setirqs') {
        url = `${server.url}/v1/devices/${dev.id}/ioctl/set-irqs`
        requests = setIrqsPair(undefined, efd.fd, 1500)
      }
    }
    const warm = await autocannon({ url, method: 'POST', headers, body, requests, connections: 50, duration: 2 })
    const cpu0 = cpuSeconds(server.child.pid!)
    const r = await autocannon({ url, method: 'POST', headers, body, requests, connections: 50, duration: seconds })
    const cpuUs = (cpuSeconds(server.child.pid!) - cpu0) * 1e6 / r.requests.total
    console.log(`${mode}: ${Math.round(r.requests.average)} req/s (${r.non2xx} non-2xx), server CPU ${cpuUs.toFixed(1)} us/request` +
      (mode === 'batch' ? `, ${Math.round(r.requests.average * BATCH)} fires/s, ${(1e6 * BATCH / cpuUs / 1e6).toFixed(2)} M fires per CPU-second` : ''))
    const done = new Promise((resolve) => server.child.once('exit', resolve))
    server.child.kill('SIGTERM')
    await done
    if (!PROFILE) return
    const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
    if (prof === undefined) throw new Error('no profile written')
    summarise(join(dir, prof), warm.requests.total + r.requests.total)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
