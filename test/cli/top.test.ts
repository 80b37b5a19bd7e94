import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { build, createDevice, createEventfd, listen, setIrqs, sleep } from '../helper.ts'
import { byRate, type TopRow } from '../../src/cli/commands/top.ts'

// `virq top --once --json`: one sample of every device's rates, busiest first, with its last
// configuration call.

const BIN = fileURLToPath(new URL('../../bin/virq.js', import.meta.url))
t.setTimeout(120_000)

function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    // VIRQ_SOURCE=1: the sources in the tree, never a stale dist/ build.
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, VIRQ_SOURCE: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? -1), stdout, stderr })
    })
  })
}

t.test('top --once --json: devices by interrupt rate, with per-second counts and the last configuration call', async (t) => {
  const app = await build(t, { hostVectors: 64 })
  const { port } = await listen(app)
  const make = async (name: string): Promise<string> => await createDevice(app, { name, msi: { vectors: 2 } })
  const idle = await make('idle')
  const busy = await make('busy')
  const fd = await createEventfd(app)
  await setIrqs(app, busy, 'msi', { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [fd] } })
  // The busy device fires all the while (the sample is the last complete second, whenever the CLI gets there).
  const busyDevice = { firing: true }
  let fired!: (second: number) => void
  const firstSecond = new Promise<number>((resolve) => { fired = resolve })
  const device = (async () => {
    while (busyDevice.firing) {
      await app.inject({ method: 'POST', url: `/v1/devices/${busy}/interrupts`, payload: { index: 'msi', vectors: [0, 1] } })
      fired(Math.floor(Date.now() / 1000)) // only the first call settles it
      await sleep(20)
    }
  })()
  // A CLI that answers within the first second of firing would see a last complete second from before
  // it: wait until the second after the first fire's has ended, so every complete second since is busy.
  await sleep(Math.max(0, (await firstSecond + 2) * 1000 - Date.now()))
  const r = await run(['--url', `http://127.0.0.1:${port}`, 'top', '--once', '--json'])
  busyDevice.firing = false
  await device
  t.equal(r.code, 0, r.stderr)
  const sample = JSON.parse(r.stdout)
  t.type(sample.t, 'number')
  t.same(sample.devices.map((d: TopRow) => d.name), ['busy', 'idle'], 'busiest first')
  const [b, i] = sample.devices
  t.ok(b.fired > 0, `the busy device fired in that second (${b.fired})`)
  t.equal(b.fired, b.delivered + b.lost, 'each fired interrupt was delivered or lost')
  t.ok(b.lost > 0, 'MSI vector 1 is not enabled: lost (MSI without per-vector masking pends nothing)')
  t.same([i.fired, i.delivered, i.lost, i.pended], [0, 0, 0, 0])
  t.match(b.lastCall, { op: 'set-irqs', result: 0 })
  t.match(i.lastCall, { op: 'create' })
  t.equal(i.id, idle)
})

t.test('top sorts by fired rate, then lost, then name', async (t) => {
  const row = (name: string, fired: number, lost: number): TopRow => ({ id: name, name, abi: 'linux-6.12', irqType: 'msix', fired, delivered: fired - lost, lost, pended: 0, lastCall: null })
  const rows = [row('c', 5, 0), row('a', 5, 0), row('b', 5, 2), row('d', 9, 0), row('e', 0, 0)]
  t.same(rows.sort(byRate).map((r) => r.name), ['d', 'b', 'a', 'c', 'e'])
})
