import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocket } from 'ws'

// npm run bench:stalled: 1,000 WebSocket subscribers that never read, while a device fires on
// their 1,000 vectors as fast as one client can ask. Reports the server's RSS before, at its
// peak, and after; a consumer that does not read must cost bounded memory.

const SUBSCRIBERS = Number(process.env.STALLED ?? 1000)
const SECONDS = Number(process.env.STALLED_SECONDS ?? 10)
const ROOT = join(import.meta.dirname, '..')

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

async function post (url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return await res.json()
}

const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--port', '0', '--db', ':memory:', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
const base = await new Promise<string>((resolve) => {
  let out = ''
  child.stdout.on('data', (b: Buffer) => { out += b; const m = /listening on (http:\/\/\S+)/.exec(out); if (m !== null) resolve(m[1]) })
})
try {
  const dev = await post(`${base}/v1/devices`, { name: 'stalled', msix: { tableSize: 2048 } })
  const fds: number[] = []
  for (let i = 0; i < SUBSCRIBERS; i++) fds.push((await post(`${base}/v1/eventfds`, { label: `s${i}` })).fd)
  await post(`${base}/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, data: { type: 'eventfd', fds } })

  const sockets: WebSocket[] = []
  for (const fd of fds) {
    const ws = new WebSocket(base.replace('http', 'ws') + '/v1/stream')
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    ws.send(JSON.stringify({ op: 'subscribe', fds: [fd] }))
    await new Promise((resolve) => ws.once('message', resolve))
    ;(ws as unknown as { _socket: { pause: () => void } })._socket.pause() // stop reading: the consumer stalls
    sockets.push(ws)
  }
  if (global.gc !== undefined) global.gc()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const before = rssMiB(child.pid!)
  let peak = before
  let fired = 0
  const vectors = Array.from({ length: SUBSCRIBERS }, (_, i) => i)
  const end = Date.now() + SECONDS * 1000
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(child.pid!)) }, 100)
  while (Date.now() < end) fired += (await post(`${base}/v1/devices/${dev.id}/interrupts`, { index: 'msix', vectors })).delivered
  clearInterval(sampler)
  const after = rssMiB(child.pid!)
  const result = { subscribers: SUBSCRIBERS, seconds: SECONDS, interruptsDelivered: fired, rssBeforeMiB: before, rssPeakMiB: peak, rssAfterMiB: after, growthMiB: peak - before }
  for (const ws of sockets) ws.terminate()
  writeFileSync(join(ROOT, 'bench', 'stalled.json'), JSON.stringify(result, null, 2) + '\n')
  console.log('| stalled subscribers | interrupts delivered | RSS before | RSS peak | growth |\n|---|---|---|---|---|')
  console.log(`| ${SUBSCRIBERS} | ${fired.toLocaleString('en-US')} in ${SECONDS} s | ${before.toFixed(1)} MiB | ${peak.toFixed(1)} MiB | ${(peak - before).toFixed(1)} MiB |`)
} finally {
  child.kill('SIGTERM')
}
