import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'

// The vfio-user server against a protocol-level client (client.py: Python 3's socket.send_fds
// and os.eventfd) for the edge cases QEMU does not send. One case per rule of docs/model.md 14.

const run = promisify(execFile)
const client = join(import.meta.dirname, 'client.py')

async function serve (t: Test, body: object = { template: 'virtio-net' }) {
  const dir = mkdtempSync(join(tmpdir(), 'virq-vu-'))
  const app = await buildApp({ db: ':memory:', hostVectors: 256, maxEventLoopDelayMs: 0, vfioUserDir: dir })
  t.teardown(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  const dev = (await app.inject({ method: 'POST', url: '/v1/devices', payload: body })).json()
  const started = await app.inject({ method: 'POST', url: `/v1/devices/${dev.id}/vfio-user` })
  const socket = started.json().socket as string
  const kase = async (name: string): Promise<any> => {
    const { stdout } = await run('python3', [client, socket, `http://127.0.0.1:${address.port}`, dev.id, name], { timeout: 20_000 })
    return JSON.parse(stdout)
  }
  return { app, dev, socket, started, kase }
}

t.test('start answers 201 with a mode-0600 socket; a second start is 409; stop removes it', async (t) => {
  const { app, dev, socket, started } = await serve(t)
  t.equal(started.statusCode, 201)
  t.equal(started.json().state, 'listening')
  t.equal(statSync(socket).mode & 0o777, 0o600)
  const again = await app.inject({ method: 'POST', url: `/v1/devices/${dev.id}/vfio-user` })
  t.equal(again.statusCode, 409)
  t.equal(again.json().reason, 'already-serving')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/devices/${dev.id}/vfio-user` })).statusCode, 204)
  t.throws(() => statSync(socket), 'socket removed')
  t.equal((await app.inject({ url: `/v1/devices/${dev.id}/vfio-user` })).statusCode, 404)
})

t.test('a command before VERSION is refused (EINVAL)', async (t) => {
  const r = await (await serve(t)).kase('before-version')
  t.same(r, { flags: 0x21, error: 22 })
})

t.test('VERSION: 0.0, max_msg_fds <= 16, no write_multiple, NUL-terminated, no larger than the request', async (t) => {
  const r = await (await serve(t)).kase('version')
  t.equal(r.major, 0)
  t.equal(r.minor, 0)
  t.ok(r.nulTerminated)
  t.ok(r.caps.capabilities.max_msg_fds <= 16)
  t.notOk('write_multiple' in r.caps.capabilities)
  t.ok(r.replySize <= r.requestSize)
})

t.test('VERSION: a small request still gets a reply that fits it', async (t) => {
  const r = await (await serve(t)).kase('version-small')
  t.equal(r.flags, 1)
  t.ok(r.replySize <= r.requestSize, `${r.replySize} <= ${r.requestSize}`)
})

t.test('VERSION: another major version is refused', async (t) => {
  t.same(await (await serve(t)).kase('version-major'), { flags: 0x21, error: 22 })
})

t.test('DMA_MAP / DMA_UNMAP succeed and the fd that came with the map is closed', async (t) => {
  t.same(await (await serve(t)).kase('dma'), { mapFlags: 1, fdClosed: true, unmapFlags: 1, unmapEcho: 24 })
})

t.test('GET_INFO and GET_REGION_INFO: PCI + RESET, 9 regions, 5 irqs; BAR0 a power of two, absent BARs 0, config 4096 on PCIe; index 9 EINVAL', async (t) => {
  const r = await (await serve(t)).kase('info')
  t.same({ flags: r.flags, regions: r.regions, irqs: r.irqs }, { flags: 3, regions: 9, irqs: 5 })
  const bar0 = r.regionInfo[0]
  t.ok(bar0.size >= 4096 && (bar0.size & (bar0.size - 1)) === 0 && bar0.flags === 3, 'BAR0 readable, writable, no MMAP')
  for (const i of [1, 2, 3, 4, 5, 6, 8]) t.same(r.regionInfo[i], { index: i, flags: 0, size: 0 }, `region ${i} absent`)
  t.same(r.regionInfo[7], { index: 7, flags: 3, size: 4096 })
  t.same(r.regionInfo[9], { index: 9, error: 22 })
})

t.test('config space: template IDs, read-only bits ignored, capability chain PCIe/MSI/MSI-X, BAR sizing, pin with INTx', async (t) => {
  const r = await (await serve(t, { template: 'e1000e' })).kase('config')
  t.equal(r.ids, (0x10d3 << 16) | 0x8086)
  t.equal(r.afterWrite, r.ids, 'vendor/device are read-only')
  t.same(r.caps, [0x10, 0x05, 0x11])
  t.equal(r.barMask >>> 0, 0xffffe000)
  t.equal(r.pin, 1)
  t.equal(r.outOfRange, 22)
})

t.test('a posted BAR write (NO_REPLY) is never answered', async (t) => {
  const r = await (await serve(t)).kase('posted-write')
  t.equal(r.firstReplyId, r.expected)
})

t.test('SET_IRQS: eventfds become external triggers signalled by write; count/fd mismatch EINVAL (fd closed); de-assign closes; model errors pass through', async (t) => {
  const r = await (await serve(t)).kase('set-irqs')
  t.equal(r.enable, 1)
  t.equal(r.delivered, 3)
  t.equal(r.e0, 1, 'vector 0 signalled once')
  t.equal(r.e1, 2, 'vector 1 signalled twice (the counter is the client\'s)')
  t.same(r.external, [true, true])
  t.equal(r.readStatus, 409)
  t.equal(r.readReason, 'external-eventfd')
  t.equal(r.mismatch, 22)
  t.ok(r.mismatchFdClosed)
  t.equal(r.deassign, 1)
  t.equal(r.eventfdsAfter, 1, 'the de-assigned vector\'s eventfd is closed')
  t.equal(r.badRange, 22, 'start + count beyond the table: EINVAL as the ioctl')
})

t.test('one client at a time: a second is closed, the first is still served', async (t) => {
  t.same(await (await serve(t)).kase('second-client'), { secondClientClosed: true, firstStillServed: true })
})

t.test('disconnect tears the interrupts down as close does and closes every received eventfd', async (t) => {
  t.same(await (await serve(t)).kase('disconnect'), { before: 'msix', after: 'none', eventfds: 0, state: 'listening' })
})

t.test('pci on create: the client reads those IDs; the device shows them; the serving state names the identity', async (t) => {
  const pci = { vendor: 0x1234, device: 0x5678, class: 0x020000 }
  const { app, dev, started, kase } = await serve(t, { template: 'e1000e', pci })
  t.same(dev.pci, pci)
  t.same(started.json().pci, pci)
  t.equal((await kase('config')).ids, (0x5678 << 16) | 0x1234)
  const plain = (await app.inject({ method: 'POST', url: '/v1/devices', payload: { msix: { tableSize: 4 } } })).json()
  t.equal(plain.pci, undefined, 'no pci given: none shown')
  const s = (await app.inject({ method: 'POST', url: `/v1/devices/${plain.id}/vfio-user` })).json()
  t.same(s.pci, { vendor: 0x1b36, device: 0x0005, class: 0xff0000 }, 'the default identity')
})

t.test('deleting a served device disconnects its client and removes the socket', async (t) => {
  const { app, dev, socket } = await serve(t)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/devices/${dev.id}` })).statusCode, 204)
  t.throws(() => statSync(socket))
})
