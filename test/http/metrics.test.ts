import { execFileSync, spawnSync } from 'node:child_process'
import t from 'tap'
import { build, createDevice, createEventfd } from '../helper.ts'

// /metrics: counters never go backwards (a deleted device's counts stay in the totals), one
// metric per meaning, and Prometheus' own linter (promtool check metrics) finds nothing in
// virq's metrics. CI installs promtool (Debian's prometheus package); without it, and
// without VIRQ_REQUIRE_PROMTOOL, the promtool case is skipped on a developer's machine.

const series = (text: string, name: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line)
    if (m !== null && m[1] === name) out.set(m[2] ?? '', Number(m[3]))
  }
  return out
}

async function scrape (app: Awaited<ReturnType<typeof build>>): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  return res.body
}

t.test('metrics: interrupt counters never go backwards when a device is deleted', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, { msix: { tableSize: 8 } })
  const e = await createEventfd(app)
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: { index: 'msix', vector: 1, count: 3 } })
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', data: { type: 'eventfd', fds: [e] } } })
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: { index: 'msix', vector: 0, count: 2 } })
  const before = await scrape(app)
  t.equal(series(before, 'virq_interrupts_fired_total').get('{index="msix"}'), 5)
  t.equal(series(before, 'virq_interrupts_lost_total').get('{index="msix",reason="index-disabled"}'), 3)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/devices/${id}` })).statusCode, 204)
  const after = await scrape(app)
  for (const name of ['virq_interrupts_fired_total', 'virq_interrupts_delivered_total', 'virq_interrupts_lost_total']) {
    for (const [labels, n] of series(before, name)) t.ok((series(after, name).get(labels) ?? -1) >= n, `${name}${labels} ${n} → ${series(after, name).get(labels)}`)
  }
})

t.test('metrics: the host vector pool has one metric per meaning', async (t) => {
  const app = await build(t, { hostVectors: 100 })
  const id = await createDevice(app, { msix: { tableSize: 8 } })
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/msix`, payload: { action: 'trigger', data: { type: 'eventfd', fds: [-1, -1, -1] } } })
  const text = await scrape(app)
  t.same([...series(text, 'virq_host_vectors_capacity')], [['', 100]])
  t.same([...series(text, 'virq_host_vectors_used')], [['', 3]])
  t.notMatch(text, /^virq_host_vectors\{/m, 'no metric mixing capacity, use and free under one name')
})

const promtool = spawnSync('promtool', ['--version']).status === 0
t.test('metrics: promtool check metrics finds nothing in virq\'s own metrics', { skip: !promtool && process.env.VIRQ_REQUIRE_PROMTOOL === undefined ? 'promtool is not installed (apt-get install prometheus)' : false }, async (t) => {
  if (!promtool) {
    t.fail('VIRQ_REQUIRE_PROMTOOL is set but promtool is not installed')
    return
  }
  const app = await build(t)
  const id = await createDevice(app, { msix: { tableSize: 8 } })
  await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: { index: 'msix', vector: 0 } })
  const text = await scrape(app)
  // Node's process and GC metrics come from prom-client; virq's own are what it names.
  const own = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?virq_/.test(l)).join('\n') + '\n'
  let out = ''
  try {
    out = execFileSync('promtool', ['check', 'metrics'], { input: own, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string }
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`
  }
  t.equal(out.trim(), '', 'promtool has nothing to say')
  t.match(own, /virq_interrupts_fired_total/, 'the checked text holds the interrupt metrics')
})
