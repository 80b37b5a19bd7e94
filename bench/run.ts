import autocannon from 'autocannon'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { buildOverHttp, cloneDevice, post, setIrqsPair, VECTORS } from './scale-build.ts'
import { rssMb, start, stop } from './servers.ts'

// npm run bench: virq against a bare fastify route measured in the same run, same client.
// Prints a table and writes bench/results.json. Both servers run as plain node on JavaScript:
// virq from dist/ (npm run bench builds it first), the baseline from baseline-server.js.
// BENCH_ONLY=start,cli,load,scale runs some sections only (and writes no results.json).

const DURATION = Number(process.env.BENCH_SECONDS ?? 4)
const CONNECTIONS = 50
const WS_RATE = 20_000
/** Each WebSocket run: WS_SECONDS measured after 2 s of warm-up; the figures are the median of WS_RUNS runs. */
const WS_SECONDS = 5
const WS_RUNS = 3
/** Batch rounds (each after a warm-up of its own), reported as the median and the spread. */
const BATCH_ROUNDS = 3
const BATCH = 1000
const COUNT = 100_000
const ROOT = join(import.meta.dirname, '..')
const START_RUNS = 5
const CLI_RUNS = 7
const SCALE = (process.env.BENCH_SCALE ?? '1000,10000,100000').split(',').map(Number)
/** Up to this many devices the scale state is built over HTTP; beyond, by copying rows. */
const HTTP_BUILD_MAX = 1000
const SCALE_ROUNDS = 2
const SCALE_SECONDS = 2

const VIRQ = 'dist/server.js'
const BASELINE = 'bench/baseline-server.js'

const virqArgs = (db: string, ...more: string[]): string[] => [VIRQ, '--port', '0', '--db', db, '--log-level', 'warn', ...more]

/** Requests/s over `seconds`, after `warm` s of warm-up (JIT on both sides, connections open). */
async function load (opts: autocannon.Options, seconds = DURATION, warm = 2): Promise<number> {
  await autocannon({ connections: CONNECTIONS, duration: warm, ...opts })
  const result = await autocannon({ connections: CONNECTIONS, duration: seconds, ...opts })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${opts.url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

async function json (url: string, method: string, body?: unknown): Promise<any> {
  if (method === 'POST') return await post(url, body)
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  return await res.json()
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]

/**
 * Fires one interrupt per message at a fixed rate; latency is fire sent -> signal received.
 * The first 2 s warm the path up (JIT, socket buffers) and are not counted, as autocannon's
 * warm-up runs are not.
 */
async function wsLatency (base: string, device: string, fd: number): Promise<{ p50: number, p99: number, rate: number, samples: number }> {
  const WARMUP = 2
  const ws = new WebSocket(base.replace('http', 'ws') + '/v1/stream')
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const warm = WS_RATE * WARMUP
  const total = WS_RATE * (WARMUP + WS_SECONDS)
  // Send times, allocated whole: a growing array would copy itself in the client's event
  // loop now and then, and the signals received meanwhile would look late.
  const pending = new Float64Array(total)
  let sent = 0
  let head = 0
  const latencies = new Float64Array(total - warm)
  let n = 0
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString())
    if (msg.type !== 'signal') return
    const now = performance.now()
    for (let i = 0; i < msg.value && head < sent; i++, head++) {
      if (head >= warm) latencies[n++] = now - pending[head]
    }
  })
  ws.send(JSON.stringify({ op: 'subscribe', fds: [fd] }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const fireMsg = JSON.stringify({ op: 'fire', device, index: 'msix', vector: 0 })
  const t0 = performance.now()
  let measuredFrom = 0
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - t0) * WS_RATE / 1000))
      while (sent < due) {
        if (sent === warm) measuredFrom = performance.now()
        pending[sent] = performance.now()
        ws.send(fireMsg)
        sent++
      }
      // A 1 ms timer, not a spin: the client must not starve the server of the second core.
      if (sent < total) setTimeout(tick, 1)
      else resolve()
    }
    tick()
  })
  const elapsed = (performance.now() - measuredFrom) / 1000
  await new Promise((resolve) => setTimeout(resolve, 500))
  ws.close()
  const sorted = latencies.slice(0, n).sort()
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), rate: (sent - warm) / elapsed, samples: n }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * This machine drifts by a third between minutes, so the ratios are taken per round: the
 * baseline, virq's single fire and virq's SET_IRQS back to back, ROUNDS short rounds, each
 * ratio against the baseline of its own round; the reported figure is the median.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
/** Each round's runs: short, so that the two sides of a ratio are measured seconds apart. */
const ROUND_SECONDS = 2

const ONLY = new Set((process.env.BENCH_ONLY ?? 'start,cli,load,scale').split(','))
const spread = (xs: number[], d = 0): string => xs.map((x) => f(x, d)).join(' / ')
const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

/** Time to listening and RSS at that moment: virq (empty database) and the bare fastify app, alternately. */
async function startBench (dir: string): Promise<Record<string, unknown>> {
  const virq: Array<{ ms: number, rssMb: number }> = []
  const bare: Array<{ ms: number, rssMb: number }> = []
  for (let i = 0; i < START_RUNS; i++) {
    const b = await start([BASELINE])
    bare.push({ ms: b.ms, rssMb: b.rssMb })
    await stop(b.child)
    const v = await start(virqArgs(join(dir, `start-${i}.db`)))
    virq.push({ ms: v.ms, rssMb: v.rssMb })
    await stop(v.child)
  }
  const m = (xs: Array<{ ms: number, rssMb: number }>, k: 'ms' | 'rssMb'): number => median(xs.map((x) => x[k]))
  return {
    virq: { ms: m(virq, 'ms'), rssMb: m(virq, 'rssMb'), runsMs: virq.map((x) => x.ms), runsRssMb: virq.map((x) => x.rssMb) },
    bare: { ms: m(bare, 'ms'), rssMb: m(bare, 'rssMb'), runsMs: bare.map((x) => x.ms), runsRssMb: bare.map((x) => x.rssMb) },
    timeRatio: median(virq.map((x, i) => x.ms / bare[i].ms)),
    rssRatio: median(virq.map((x, i) => x.rssMb / bare[i].rssMb))
  }
}

/** `virq devices list --json` (compiled CLI, a running server) against `node -e 0`, alternately. */
function cliBench (url: string): Record<string, unknown> {
  const wall = (args: string[]): number => {
    const t0 = performance.now()
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, VIRQ_SOURCE: '' } })
    return performance.now() - t0
  }
  const cli: number[] = []
  const node: number[] = []
  for (let i = 0; i < CLI_RUNS; i++) {
    node.push(wall(['-e', '0']))
    cli.push(wall(['bin/virq.js', '--url', url, 'devices', 'list', '--json']))
  }
  return { ms: median(cli), nodeMs: median(node), runsMs: cli, nodeRunsMs: node }
}

/**
 * The cost curve: N devices x 64 MSI-X vectors with a trigger each, N = 1,000, 10,000, 100,000,
 * built cumulatively (over HTTP up to 1,000, by copying rows for the rest). At each N the
 * server restarts on the file: time to listening, RSS then; and the fire and SET_IRQS rates on
 * the last device, each with the bare route measured just before (their ratio is what is
 * compared across N, as the machine drifts between minutes). All with --sync normal.
 */
async function scaleBench (dir: string, baselineUrl: string): Promise<Array<Record<string, number | string>>> {
  const file = join(dir, 'scale.db')
  const caps = ['--sync', 'normal', '--max-devices', '200000', '--max-eventfds', '200000', '--max-table-entries', String(200_000 * VECTORS), '--host-vectors', String(200_000 * VECTORS)]
  const out: Array<Record<string, number | string>> = []
  let built = 0
  let last = { id: '', fd: 0 }
  for (const n of SCALE) {
    console.error(`scale: building ${n} devices`)
    const t0 = performance.now()
    let how = 'http'
    if (n <= HTTP_BUILD_MAX) {
      const s = await start(virqArgs(file, ...caps))
      last = await buildOverHttp(s.url, built, n - built)
      await stop(s.child)
    } else {
      how = 'copy'
      last = cloneDevice(file, n - built)
    }
    const buildS = (performance.now() - t0) / 1000
    built = n
    console.error(`scale: built in ${f(buildS, 1)} s; restarting`)
    const s = await start(virqArgs(file, ...caps))
    try {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const rssAfter = rssMb(s.child.pid!)
      const headers = { 'content-type': 'application/json' }
      const setPath = `/v1/devices/${last.id}/ioctl/set-irqs`
      const rows: Array<{ base: number, fire: number, set: number }> = []
      for (let r = 0; r < SCALE_ROUNDS; r++) {
        rows.push({
          base: await load({ url: `${baselineUrl}/fire`, method: 'POST', headers, body: JSON.stringify({ index: 'msix', vector: 0 }) }, SCALE_SECONDS, 1),
          fire: await load({ url: `${s.url}/v1/devices/${last.id}/interrupts`, method: 'POST', headers, body: JSON.stringify({ index: 'msix', vector: 0 }) }, SCALE_SECONDS, 1),
          set: await load({ url: s.url, requests: setIrqsPair(setPath, last.fd, VECTORS - 1) }, SCALE_SECONDS, 1)
        })
      }
      out.push({
        devices: n,
        build: how,
        buildS,
        restartS: s.ms / 1000,
        rssAfterRestartMb: rssAfter,
        fireRps: median(rows.map((x) => x.fire)),
        setIrqsRps: median(rows.map((x) => x.set)),
        baselineRps: median(rows.map((x) => x.base)),
        fireRatio: median(rows.map((x) => x.fire / x.base)),
        setIrqsRatio: median(rows.map((x) => x.set / x.base))
      })
    } finally {
      await stop(s.child)
    }
  }
  return out
}

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'virq-bench-'))
  const results: Record<string, any> = {}
  const rounds: Array<{ baseline: number, fire: number, setIrqs: number }> = []
  let baseline: Awaited<ReturnType<typeof start>> | undefined
  let virq: Awaited<ReturnType<typeof start>> | undefined
  const t0 = performance.now()
  try {
    if (ONLY.has('start')) results.start = await startBench(dir)
    baseline = await start([BASELINE])
    virq = await start(virqArgs(join(dir, 'virq.db'), '--host-vectors', '100000'))
    const body = JSON.stringify({ index: 'msix', vector: 0 })
    const headers = { 'content-type': 'application/json' }
    const base = virq.url
    const dev = await json(`${base}/v1/devices`, 'POST', { name: 'bench', msix: { tableSize: 2048 } })
    const efd = await json(`${base}/v1/eventfds`, 'POST', { label: 'bench' })
    const fds = Array.from({ length: 1024 }, () => efd.fd)
    await json(`${base}/v1/devices/${dev.id}/irqs/msix`, 'POST', { action: 'trigger', start: 0, data: { type: 'eventfd', fds } })
    if (ONLY.has('cli')) results.cli = cliBench(base)
    if (ONLY.has('load')) {
      const fireUrl = `${base}/v1/devices/${dev.id}/interrupts`
      // Durable SET_IRQS: assign and de-assign vector 1500 (dynamic MSI-X), one commit each.
      const setUrl = `/v1/devices/${dev.id}/ioctl/set-irqs`

      const bareUrl = `${baseline.url}/fire`
      const bare = async (): Promise<number> => await load({ url: bareUrl, method: 'POST', headers, body }, ROUND_SECONDS, 1)
      const fire = async (): Promise<number> => await load({ url: fireUrl, method: 'POST', headers, body }, ROUND_SECONDS, 1)
      for (let r = 0; r < ROUNDS; r++) {
        // The pair in alternating order, so that a machine speeding up or slowing down
        // through the run favours neither side.
        let b: number
        let f: number
        if (r % 2 === 0) {
          b = await bare()
          f = await fire()
        } else {
          f = await fire()
          b = await bare()
        }
        rounds.push({
          baseline: b,
          fire: f,
          setIrqs: await load({
            url: base,
            requests: setIrqsPair(setUrl, efd.fd, 1500)
          }, ROUND_SECONDS, 1)
        })
      }
      results.baseline = { rps: median(rounds.map((x) => x.baseline)) }
      results.fire = { rps: median(rounds.map((x) => x.fire)), ratio: median(rounds.map((x) => x.fire / x.baseline)) }
      results.setIrqs = { rps: median(rounds.map((x) => x.setIrqs)), ratio: median(rounds.map((x) => x.setIrqs / x.baseline)) }

      const listBody = JSON.stringify({ index: 'msix', vectors: Array.from({ length: BATCH }, (_, i) => i) })
      const listRuns: number[] = []
      for (let r = 0; r < BATCH_ROUNDS; r++) listRuns.push(BATCH * await load({ url: fireUrl, method: 'POST', headers, body: listBody }, 3, 1))
      const countRps = await load({ url: fireUrl, method: 'POST', headers, body: JSON.stringify({ index: 'msix', vector: 0, count: COUNT }) })
      const listFires = median(listRuns)
      results.fireBatch = { firesPerSec: listFires, vectorsForm: listFires, vectorsFormRuns: listRuns, countForm: countRps * COUNT, batch: BATCH, count: COUNT }

      const wsRuns: Array<Awaited<ReturnType<typeof wsLatency>>> = []
      for (let r = 0; r < WS_RUNS; r++) wsRuns.push(await wsLatency(base, dev.id, efd.fd))
      results.ws = {
        rateHz: median(wsRuns.map((x) => x.rate)),
        p50Ms: median(wsRuns.map((x) => x.p50)),
        p99Ms: median(wsRuns.map((x) => x.p99)),
        p99MsRuns: wsRuns.map((x) => x.p99),
        samples: wsRuns.map((x) => x.samples)
      }
    }
    await stop(virq.child)
    virq = undefined
    if (ONLY.has('scale')) results.scale = await scaleBench(dir, baseline.url)
  } finally {
    if (baseline !== undefined) await stop(baseline.child)
    if (virq !== undefined) await stop(virq.child)
    rmSync(dir, { recursive: true, force: true })
  }
  const totalS = (performance.now() - t0) / 1000

  const rows: Array<[string, string, string]> = []
  const out: Record<string, unknown> = {}
  if (results.start !== undefined) {
    const st = results.start
    out.start = { virqMs: st.virq.ms, virqRssMb: st.virq.rssMb, bareMs: st.bare.ms, bareRssMb: st.bare.rssMb, timeRatio: st.timeRatio, rssRatio: st.rssRatio, runs: START_RUNS }
    rows.push(['start: bare fastify, to listening', `${f(st.bare.ms)} ms, RSS ${f(st.bare.rssMb)} MiB (runs: ${spread(st.bare.runsMs)} ms; ${spread(st.bare.runsRssMb)} MiB)`, '1.00'])
    rows.push(['start: virq (dist/, empty database)', `${f(st.virq.ms)} ms, RSS ${f(st.virq.rssMb)} MiB (runs: ${spread(st.virq.runsMs)} ms; ${spread(st.virq.runsRssMb)} MiB)`, `time ${f(st.timeRatio, 2)}, RSS ${f(st.rssRatio, 2)}`])
  }
  if (results.cli !== undefined) {
    const c = results.cli
    out.cli = { devicesListMs: c.ms, nodeMs: c.nodeMs, runs: CLI_RUNS }
    rows.push(['cli: node -e 0', `${f(c.nodeMs)} ms (runs: ${spread(c.nodeRunsMs)})`, ''])
    rows.push(['cli: virq devices list --json', `${f(c.ms)} ms (runs: ${spread(c.runsMs)})`, ''])
  }
  if (results.fire !== undefined) {
    Object.assign(out, {
      baseline: { rps: results.baseline.rps },
      fire: { rps: results.fire.rps, ratio: results.fire.ratio },
      fireBatch: { firesPerSec: results.fireBatch.firesPerSec, runs: results.fireBatch.vectorsFormRuns },
      ws: { rateHz: results.ws.rateHz, p50Ms: results.ws.p50Ms, p99Ms: results.ws.p99Ms, p99MsRuns: results.ws.p99MsRuns },
      setIrqs: { rps: results.setIrqs.rps, ratio: results.setIrqs.ratio }
    })
    const each = (key: 'baseline' | 'fire' | 'setIrqs'): string => rounds.map((x) => f(x[key])).join(' / ')
    rows.push(
      ['baseline: bare fastify POST', `${f(results.baseline.rps)} req/s (rounds: ${each('baseline')})`, '1.00'],
      ['(a) fire one interrupt', `${f(results.fire.rps)} req/s (rounds: ${each('fire')})`, f(results.fire.ratio, 2)],
      [`(b) batch, vectors form (${BATCH}/req)`, `${f(results.fireBatch.vectorsForm)} fires/s (rounds: ${spread(results.fireBatch.vectorsFormRuns)})`, ''],
      [`(b) batch, vector+count form (${COUNT}/req)`, `${f(results.fireBatch.countForm)} fires/s`, ''],
      [`(c) WebSocket fire->signal @ ${f(results.ws.rateHz)}/s, ${WS_RUNS} runs of ${WS_SECONDS} s`, `p50 ${f(results.ws.p50Ms, 3)} ms, p99 ${f(results.ws.p99Ms, 3)} ms (p99 of each run: ${spread(results.ws.p99MsRuns, 3)})`, ''],
      ['(d) durable SET_IRQS (WAL, synchronous=FULL)', `${f(results.setIrqs.rps)} req/s (rounds: ${each('setIrqs')})`, f(results.setIrqs.ratio, 2)]
    )
  }
  if (results.scale !== undefined) {
    const sc = results.scale as Array<Record<string, any>>
    const first = sc[0]
    out.scale = sc.map((x) => ({
      ...x,
      fireVsFirst: x.fireRatio / first.fireRatio,
      setIrqsVsFirst: x.setIrqsRatio / first.setIrqsRatio
    }))
    for (const x of out.scale as Array<Record<string, any>>) {
      rows.push([`scale ${f(x.devices)} x ${VECTORS}: restart (built by ${x.build} in ${f(x.buildS, 1)} s)`, `${f(x.restartS, 2)} s, RSS ${f(x.rssAfterRestartMb)} MiB`, ''])
      rows.push([`scale ${f(x.devices)} x ${VECTORS}: fire, SET_IRQS on the last device`, `${f(x.fireRps)} / ${f(x.setIrqsRps)} req/s (bare ${f(x.baselineRps)})`,
        `${f(x.fireRatio, 2)} / ${f(x.setIrqsRatio, 2)} (vs ${f(first.devices)}: ${f(x.fireVsFirst, 2)} / ${f(x.setIrqsVsFirst, 2)})`])
    }
  }
  out.benchSeconds = totalS
  if (ONLY.size === 4) writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(out, null, 2) + '\n')
  console.log('\n| measure | result | ratio to baseline |\n|---|---|---|')
  for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`)
  console.log(`\n(${CONNECTIONS} connections; ${DURATION} s per run after a 2 s warm-up (rounds: ${ROUND_SECONDS} s after 1 s); ratios: median of ${ROUNDS} rounds, each against its own round's baseline, the pair measured in alternating order; batch: median of ${BATCH_ROUNDS} rounds of 3 s after 1 s of warm-up; WebSocket: medians of ${WS_RUNS} runs; ` +
    `start and cli: medians of ${START_RUNS} and ${CLI_RUNS} runs; scale: --sync normal, ${SCALE_ROUNDS} rounds of ${SCALE_SECONDS} s after 1 s of warm-up at each N; ` +
    `node ${process.version}; ${f(totalS)} s${ONLY.size === 4 ? '; wrote bench/results.json' : ''})`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
