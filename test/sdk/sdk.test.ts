import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createVirqClient, IRQ_SET } from '../../sdk/index.ts'
import { build } from '../helper.ts'

const ROOT = join(import.meta.dirname, '..', '..')

t.test('sdk/schema.ts is what openapi-typescript generates from the committed document (npm run sdk)', async (t) => {
  const bin = join(ROOT, 'node_modules', '.bin', 'openapi-typescript')
  const generated = execFileSync(bin, [join(ROOT, 'openapi', 'openapi.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  t.equal(readFileSync(join(ROOT, 'sdk', 'schema.ts'), 'utf8'), generated)
})

// The QEMU flows of docs/model.md 10, driven only through the generated SDK over a real socket.
t.test('SDK end to end: dynamic add (linux-6.12), disable + re-enable (linux-6.1), fire, read, errors', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const virq = createVirqClient({ baseUrl: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` })

  const eventfd = async (label: string): Promise<number> => {
    const { data, error } = await virq.POST('/v1/eventfds', { body: { label } })
    if (error !== undefined || data === undefined) throw new Error(`eventfd: ${JSON.stringify(error)}`)
    return data.fd
  }
  const [e0, e1, e2] = [await eventfd('e0'), await eventfd('e1'), await eventfd('e2')]

  // linux-6.12: probe, enable with vector 0 and fd -1, add vectors one at a time.
  const { data: nic } = await virq.POST('/v1/devices', { body: { name: 'nic0', abi: 'linux-6.12', msix: { tableSize: 16 } } })
  t.ok(nic)
  const id = nic!.id
  const { data: info } = await virq.GET('/v1/devices/{id}/irqs/{index}', { params: { path: { id, index: 'msix' } } })
  t.notOk(info!.flags.includes('noresize'), 'dynamic MSI-X: no NORESIZE')
  const set = (fds: number[], start: number) => virq.POST('/v1/devices/{id}/irqs/{index}', {
    params: { path: { id, index: 'msix' } },
    body: { action: 'trigger', start, data: { type: 'eventfd', fds } }
  })
  t.equal((await set([-1], 0)).data?.result, 0)
  t.equal((await set([e0], 0)).data?.result, 0)
  t.equal((await set([e1], 1)).data?.result, 0, 'vector 1 added while enabled')
  t.equal((await set([e2], 9)).data?.irq.hostVectors, 3)

  const { data: fired } = await virq.POST('/v1/devices/{id}/interrupts', { params: { path: { id } }, body: { index: 'msix', vectors: [0, 1, 9, 9, 5] } })
  t.same(fired, { fired: 5, delivered: 4, lost: 0, pended: 1, coalesced: 0 }, 'vector 5 has no host vector: masked, so pending')
  const read = async (fd: number) => (await virq.POST('/v1/eventfds/{fd}/read', { params: { path: { fd }, query: {} } })).data
  t.same(await read(e2), { value: 2 })
  t.same(await read(e0), { value: 1 })

  // linux-6.1: growing needs disable + re-enable; the raw ioctl form says so with EINVAL.
  const { data: old } = await virq.POST('/v1/devices', { body: { name: 'nic1', abi: 'linux-6.1', msix: { tableSize: 16 } } })
  const oldId = old!.id
  const raw = (body: { flags: number, index: number, start: number, count: number, data?: number[] }) =>
    virq.POST('/v1/devices/{id}/ioctl/set-irqs', { params: { path: { id: oldId } }, body })
  const TRIGGER_FDS = IRQ_SET.DATA_EVENTFD | IRQ_SET.ACTION_TRIGGER
  t.equal((await raw({ flags: TRIGGER_FDS, index: 2, start: 0, count: 1, data: [e0] })).data?.result, 0)
  const refused = await raw({ flags: TRIGGER_FDS, index: 2, start: 1, count: 1, data: [e1] })
  t.equal(refused.response.status, 400)
  t.match(refused.error, { errno: 'EINVAL', errnoValue: 22, reason: 'beyond-enabled-vectors', result: -1 })
  t.equal((await raw({ flags: IRQ_SET.DATA_NONE | IRQ_SET.ACTION_TRIGGER, index: 2, start: 0, count: 0 })).data?.result, 0, 'disable')
  t.equal((await raw({ flags: TRIGGER_FDS, index: 2, start: 0, count: 2, data: [e0, e1] })).data?.result, 0, 're-enable with 2')
  const { data: vectors } = await virq.GET('/v1/devices/{id}/irqs/{index}/vectors', { params: { path: { id: oldId, index: 'msix' } } })
  t.same(vectors!.items.slice(0, 3).map((v) => v.trigger), [e0, e1, null])

  // A problem+json error surfaces with its errno.
  const busy = await virq.DELETE('/v1/eventfds/{fd}', { params: { path: { fd: e1 }, query: {} } })
  t.equal(busy.response.status, 409)
  t.match(busy.error, { errno: 'EBUSY', errnoValue: 16 })
  const missing = await virq.GET('/v1/devices/{id}', { params: { path: { id: 'nope' } } })
  t.equal(missing.response.status, 404)
  t.match(missing.error, { reason: 'device-not-found' })
})
