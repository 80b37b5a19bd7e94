import t from 'tap'
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { build, listen, openReaders, until } from '../helper.ts'
import { buildProgram } from '../../src/cli/program.ts'

// The real `virq` binary against a real server on a loopback port: exit codes, --json, help.

const BIN = fileURLToPath(new URL('../../bin/virq.js', import.meta.url))
t.setTimeout(300_000) // every run starts node + tsx: about a second each on a busy machine
// VIRQ_SOURCE=1: the sources in the tree, never a stale dist/ build.
t.jobs = 4 // the subtests share only the server

interface Run { code: number, stdout: string, stderr: string }

function run (args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { VIRQ_URL: _ignored, ...base } = process.env
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, VIRQ_SOURCE: '1', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

const app = await build(t, { hostVectors: 64 })
const URL_ = (await listen(app)).base

/** `virq --url URL --json ...`, expecting success, parsed. */
async function json (...args: string[]): Promise<any> {
  const r = await run(['--url', URL_, '--json', ...args])
  if (r.code !== 0) throw new Error(`virq ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout)
}
const virq = (...args: string[]): Promise<Run> => run(['--url', URL_, ...args])

t.test('devices: create, show, list, reset, delete', async (t) => {
  const dev = await json('devices', 'create', '--name', 'nic0', '--pcie', '--reset', '--intx', '--msi', '8', '--msix', '64')
  t.match(dev, { name: 'nic0', abi: 'linux-6.12', pcie: true, reset: true, intx: true, msi: { vectors: 8 }, msix: { tableSize: 64, dynamic: true }, irqType: 'none', version: 1 })
  const [human, list, reset] = await Promise.all([virq('devices', 'show', dev.id), json('devices', 'list'), json('devices', 'reset', dev.id)])
  t.equal(human.code, 0)
  t.match(human.stdout, dev.id)
  t.match(human.stdout, /msix 64 dynamic/)
  t.ok(list.items.some((d: { id: string }) => d.id === dev.id), 'listed')
  t.equal(reset.id, dev.id)
  const old = await json('devices', 'create', '--abi', 'linux-6.1', '--msix', '16', '--no-dynamic')
  t.match(old, { abi: 'linux-6.1', msix: { tableSize: 16, dynamic: false } })
  const del = await virq('--json', 'devices', 'delete', dev.id)
  t.same(del, { code: 0, stdout: '', stderr: '' }, '204: nothing on stdout under --json')
  const gone = await virq('devices', 'show', dev.id)
  t.equal(gone.code, 1, 'unknown device exits 1')
  t.match(gone.stderr, /device-not-found/)
})

t.test('13 parents: create, list, show, a full store exits 16 (EBUSY), delete refused while it has devices', async (t) => {
  const parent = await json('parents', 'create', '--name', 'dsa-cli', '--slots', '1')
  t.match(parent, { name: 'dsa-cli', slots: { total: 1, used: 0, free: 1 } })
  const [a, b] = await Promise.all([
    json('devices', 'create', '--template', 'idxd-vdev', '--parent', parent.id),
    json('devices', 'create', '--template', 'idxd-vdev', '--parent', parent.id, '--msix', '4', '--emulated', '0', '--emulated', '3')
  ])
  t.match(b, { parent: parent.id, msix: { tableSize: 4, emulated: [0, 3] } })
  const e = await json('eventfd', 'create')
  await json('irqs', 'set', a.id, 'msix', '--action', 'trigger', '--fds', `${e.fd},${e.fd}`)
  const full = await virq('irqs', 'set', b.id, 'msix', '--action', 'trigger', '--fds', `-1,${e.fd}`)
  t.equal(full.code, 16)
  t.match(full.stderr, /EBUSY.*ims-slots-exhausted/)
  const [list, shown, vectors, busy] = await Promise.all([
    json('parents', 'list'), virq('parents', 'show', parent.id), virq('irqs', 'vectors', a.id, 'msix'), virq('parents', 'delete', parent.id)
  ])
  t.match(list.items.find((p: { id: string }) => p.id === parent.id), { slots: { used: 1, free: 0 } })
  t.match(shown.stdout, /1\/1 used, 0 free/)
  t.match(shown.stdout, new RegExp(`${a.id}\\s+\\S+\\s+1`))
  t.match(vectors.stdout, /emulated/)
  t.match(vectors.stdout, /ims/)
  t.equal(busy.code, 16)
  t.match(busy.stderr, /parent-has-devices/)
  await Promise.all([json('devices', 'delete', a.id), json('devices', 'delete', b.id)])
  t.same(await virq('--json', 'parents', 'delete', parent.id), { code: 0, stdout: '', stderr: '' })
})

t.test('unknown device, bad input without errno, usage errors, unreachable server: exit 1', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) })
  })
  const [missing, missingJson, invalid, usage, badIndex, down] = await Promise.all([
    virq('irqs', 'info', 'no-such-device'),
    virq('--json', 'fire', 'no-such-device', 'msix', '--vector', '0'),
    virq('devices', 'create', '--msi', '3'),
    virq('irqs', 'set', 'x', 'msix', '--action', 'trigger'),
    virq('irqs', 'info', 'x', 'bogus'),
    run(['--url', `http://127.0.0.1:${port}`, 'devices', 'list'])
  ])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no device no-such-device.*device-not-found/)
  t.equal(missingJson.code, 1)
  t.match(JSON.parse(missingJson.stdout), { status: 404, reason: 'device-not-found' }, '--json: the problem on stdout')
  t.equal(invalid.code, 1, 'schema rejection has no errno')
  t.match(invalid.stderr, /invalid-request/)
  t.equal(usage.code, 1)
  t.match(usage.stderr, /exactly one of --fds/)
  t.equal(badIndex.code, 1)
  t.equal(down.code, 1)
  t.match(down.stderr, /cannot reach virq/)
})

t.test('NORESIZE: adding an MSI-X vector beyond the enabled range is EINVAL, exit 22, and changes nothing', async (t) => {
  const dev = await json('devices', 'create', '--abi', 'linux-6.1', '--msix', '16')
  const [a, b] = await Promise.all([json('eventfd', 'create', '--label', 'vec0'), json('eventfd', 'create', '--label', 'vec5')])
  const set = await json('irqs', 'set', dev.id, 'msix', '--action', 'trigger', '--start', '0', '--fds', String(a.fd))
  t.match(set, { result: 0, irq: { name: 'msix', enabled: true, enabledVectors: 1, dynamic: false } })
  const add = await virq('--json', 'irqs', 'set', dev.id, 'msix', '--action', 'trigger', '--start', '5', '--fds', String(b.fd))
  t.equal(add.code, 22)
  t.match(add.stderr, /EINVAL.*beyond-enabled-vectors/)
  t.match(JSON.parse(add.stdout), { errno: 'EINVAL', errnoValue: 22, reason: 'beyond-enabled-vectors' })
  const info = await json('irqs', 'info', dev.id, 'msix')
  t.match(info, { enabledVectors: 1, triggers: 1, flags: ['eventfd', 'noresize'] })
  // The same on a dynamic device works.
  const dyn = await json('devices', 'create', '--msix', '16')
  await json('irqs', 'set', dyn.id, 'msix', '--action', 'trigger', '--fds', '-1')
  t.match(await json('irqs', 'set', dyn.id, 'msix', '--action', 'trigger', '--start', '5', '--fds', String(b.fd)), { result: 0, irq: { triggers: 1 } })
  // Disable with DATA_NONE, count 0.
  t.match(await json('irqs', 'set', dev.id, 'msix', '--action', 'trigger', '--count', '0', '--none'), { irq: { enabled: false } })
})

t.test('INTx: a second unmask eventfd is EBUSY, exit 16; a bound eventfd deletes only with --force', async (t) => {
  const dev = await json('devices', 'create', '--intx')
  const [trig, u1, u2] = await Promise.all([json('eventfd', 'create'), json('eventfd', 'create'), json('eventfd', 'create')])
  await json('irqs', 'set', dev.id, 'intx', '--action', 'trigger', '--fds', String(trig.fd))
  await json('irqs', 'set', dev.id, 'intx', '--action', 'unmask', '--fds', String(u1.fd))
  const busy = await virq('irqs', 'set', dev.id, 'intx', '--action', 'unmask', '--fds', String(u2.fd))
  t.equal(busy.code, 16)
  t.match(busy.stderr, /EBUSY.*unmask-eventfd-busy/)
  const [bound, shown] = await Promise.all([virq('eventfd', 'delete', String(u1.fd)), json('eventfd', 'show', String(u1.fd))])
  t.equal(bound.code, 16)
  t.match(shown.bindings, [{ deviceId: dev.id, name: 'intx', role: 'unmask' }])
  t.equal((await virq('eventfd', 'delete', String(u1.fd), '--force')).code, 0)
  t.match(await json('irqs', 'info', dev.id, 'intx'), { unmaskEventfd: null, trigger: trig.fd })
  const stale = await virq('irqs', 'set', dev.id, 'intx', '--action', 'unmask', '--fds', String(u1.fd))
  t.equal(stale.code, 9, 'a closed fd is EBADF')
})

t.test('fire, vectors, read (EAGAIN is exit 11), write', async (t) => {
  const dev = await json('devices', 'create', '--msix', '8')
  const efd = await json('eventfd', 'create')
  await json('irqs', 'set', dev.id, 'msix', '--action', 'trigger', '--fds', String(efd.fd))
  t.same(await json('fire', dev.id, 'msix', '--vectors', '0,0,1'), { fired: 3, delivered: 2, lost: 0, pended: 1, coalesced: 0 })
  t.same(await json('fire', dev.id, '2', '--vector', '0', '--count', '3'), { fired: 3, delivered: 3, lost: 0, pended: 0, coalesced: 0 })
  const human = await virq('fire', dev.id, 'msix', '--vectors', '1')
  t.match(human.stdout, /FIRED\s+DELIVERED\s+LOST\s+PENDED\s+COALESCED\n\s*1\s+0\s+0\s+0\s+1/)
  const vectors = await json('irqs', 'vectors', dev.id, 'msix')
  t.match(vectors.items[0], { vector: 0, allocated: true, trigger: efd.fd, fired: 5, delivered: 5 })
  t.match(vectors.items[1], { vector: 1, allocated: false, fired: 2, lost: 0, pending: true, pended: 1, coalesced: 1, maskedBy: ['host'] })
  t.same(await json('irqs', 'pba', dev.id), { pending: [1], words: ['0x0000000000000002'] })
  t.match((await virq('irqs', 'pba', dev.id, 'msix')).stdout, /pending: 1\n[\s\S]*0x0000000000000002/)
  t.same(await json('eventfd', 'read', String(efd.fd)), { value: 5 })
  const empty = await virq('--json', 'eventfd', 'read', String(efd.fd))
  t.same(empty, { code: 11, stdout: '', stderr: `virq: EAGAIN: eventfd ${efd.fd} has nothing to read\n` })
  t.same(await json('eventfd', 'write', String(efd.fd), '7'), { value: 7 })
  const plain = await virq('eventfd', 'read', String(efd.fd))
  t.same(plain, { code: 0, stdout: '7\n', stderr: '' })
  const list = await json('eventfd', 'list')
  t.ok(list.items.some((e: { fd: number }) => e.fd === efd.fd))
  t.equal((await virq('fire', dev.id, 'msix', '--vectors', '1', '--count', '2')).code, 1, '--vectors with --count is usage')
})

t.test('eventfd watch follows the event stream', async (t) => {
  const efd = await json('eventfd', 'create', '--semaphore')
  await json('eventfd', 'write', String(efd.fd), '2') // semaphore: one event per unit, whenever the stream connects
  const watched = await virq('--json', 'eventfd', 'watch', String(efd.fd), '--count', '2')
  t.equal(watched.code, 0)
  t.same(watched.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ fd: efd.fd, value: 1 }, { fd: efd.fd, value: 1 }])
  // A deleted eventfd ends the stream; the command exits 0.
  const plain = await json('eventfd', 'create')
  await until(() => openReaders(app) === 0, 'the first watch\'s stream to close', 30_000)
  const watching = virq('eventfd', 'watch', String(plain.fd))
  await until(() => openReaders(app) > 0, 'the second watch to connect', 30_000)
  await json('eventfd', 'write', String(plain.fd), '3')
  await json('eventfd', 'delete', String(plain.fd))
  const done = await watching
  t.equal(done.code, 0)
  t.equal(done.stdout, '3\n')
  t.match(done.stderr, /deleted/)
})

t.test('VIRQ_URL picks the server', async (t) => {
  const r = await run(['--json', 'eventfd', 'create', '--label', 'env'], { VIRQ_URL: URL_ })
  t.equal(r.code, 0)
  t.match(JSON.parse(r.stdout), { label: 'env' })
})

t.test('--help of the binary and of every command says what it does, with an example', async (t) => {
  const [top, create, serve] = await Promise.all([run(['--help']), run(['devices', 'create', '--help']), run(['serve', '--help'])])
  t.equal(top.code, 0)
  t.match(top.stdout, /Examples:\n {2}\$ virq /)
  t.match(top.stdout, /Exit status/)
  t.equal(create.code, 0)
  t.match(create.stdout, /\$ virq devices create --name nic0/)
  t.match(serve.stdout, /--host-vectors/)
  const walk = (cmd: Command, path: string[]): void => {
    let text = ''
    cmd.configureOutput({ writeOut: (s) => { text += s }, writeErr: (s) => { text += s } })
    cmd.outputHelp()
    const name = ['virq', ...path].join(' ')
    t.ok(cmd.description().length > 0, `${name} has a description`)
    t.match(text, new RegExp(`Examples?:\\n {2}\\$ ${name}`), `${name} --help has an example`)
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()])
  }
  walk(await buildProgram(), [])
})

t.test('--token and VIRQ_TOKEN authenticate every command; the token is never printed', async (t) => {
  const admin = 'virq-cli-test-admin-token-0123456789'
  const authed = await build(t, { hostVectors: 64, adminToken: admin })
  const url = (await listen(authed)).base

  const anonymous = await run(['--url', url, 'devices', 'list'])
  t.equal(anonymous.code, 1, 'without a token: 401 exits 1')
  t.match(anonymous.stderr, /401/)

  const created = await authed.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${admin}` }, payload: { tenant: 'cli' } })
  const token = created.json().token as string
  const viaEnv = await run(['--url', url, '--json', 'devices', 'create', '--name', 'tok0', '--msix', '4'], { VIRQ_TOKEN: token })
  t.equal(viaEnv.code, 0, viaEnv.stderr)
  const viaFlag = await run(['--url', url, '--json', '--token', token, 'devices', 'list'])
  t.equal(viaFlag.code, 0, viaFlag.stderr)
  t.same(JSON.parse(viaFlag.stdout).items.map((d: { name: string }) => d.name), ['tok0'], 'the tenant sees its own device')

  const wrong = await run(['--url', url, 'devices', 'list'], { VIRQ_TOKEN: 'virq_not-a-real-token' })
  t.equal(wrong.code, 1)
  for (const r of [anonymous, viaEnv, viaFlag, wrong]) {
    t.notMatch(r.stdout + r.stderr, token, 'the token is not echoed')
    t.notMatch(r.stdout + r.stderr, 'virq_not-a-real-token', 'nor a wrong one')
  }
})
