import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { createClient, createConfig } from '../../sdk/hey-api/client/index.ts'
import {
  createDevice, createEventfd, deleteEventfd, fireInterrupts, getDevice, getHost, getIrq, getPendingBitArray, ioctlGetIrqInfo,
  ioctlSetIrqs, listDevices, listVectors, readEventfd, setIrqs,
  type FireResult, type HostInfo, type IrqSetRequest, type IrqSetResult, type Pba, type Problem, type VectorPage
} from '../../sdk/hey-api/index.ts'
import { build, tempDir } from '../helper.ts'

// The second generator: @hey-api/openapi-ts (a devDependency, pinned) makes a whole client,
// functions and types named after the document's components, from the committed
// openapi/openapi.json. Its output is committed at sdk/hey-api/ (npm run sdk:hey-api), so that
// `tsc --noEmit` (the first step of npm test) type-checks this file against it: a field the
// document does not have, or of another type, fails there. This file then proves the output
// is current and drives it over a real socket through the same flows as the openapi-fetch SDK.

const ROOT = join(import.meta.dirname, '..', '..')
const COMMITTED = join(ROOT, 'sdk', 'hey-api')

const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()

t.test('sdk/hey-api is what @hey-api/openapi-ts generates from the committed document (npm run sdk:hey-api), and it type-checks', async (t) => {
  const out = join(tempDir(t), 'client')
  execFileSync(join(ROOT, 'node_modules', '.bin', 'openapi-ts'), ['--input', join(ROOT, 'openapi', 'openapi.json'), '--output', out, '--silent', '--no-log-file'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  t.same(files(out), files(COMMITTED), 'the same files')
  for (const f of files(out)) t.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(COMMITTED, f), 'utf8'), f)

  // The fresh output on its own under the project's strict settings (tsconfig.json).
  const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'))
  writeFileSync(join(out, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, typeRoots: [join(ROOT, 'node_modules', '@types')] }, include: ['**/*.ts'] }))
  let diagnostics = ''
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(out, 'tsconfig.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    diagnostics = String((err as { stdout?: string }).stdout ?? err)
  }
  t.equal(diagnostics, '', 'tsc finds nothing')
})

// The QEMU flows of docs/model.md 10, as test/sdk/sdk.test.ts drives them with openapi-fetch.
t.test('hey-api client end to end: dynamic add (linux-6.12), disable + re-enable (linux-6.1), fire, read, PBA, errors', async (t) => {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const client = createClient(createConfig({ baseUrl: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` }))

  const eventfd = async (label: string): Promise<number> => {
    const { data, error } = await createEventfd({ client, body: { label } })
    if (data === undefined) throw new Error(`eventfd: ${JSON.stringify(error)}`)
    return data.fd
  }
  const [e0, e1, e2] = [await eventfd('e0'), await eventfd('e1'), await eventfd('e2')]

  // linux-6.12: probe, enable with vector 0 and fd -1, add vectors one at a time.
  const { data: nic, response: created } = await createDevice({ client, body: { name: 'nic0', abi: 'linux-6.12', msix: { tableSize: 16 } } })
  t.equal(created.status, 201)
  t.equal(nic?.abi, 'linux-6.12')
  const id = nic!.id
  const { data: info } = await getIrq({ client, path: { id, index: 'msix' } })
  t.equal(info?.count, 16)
  t.notOk(info!.flags.includes('noresize'), 'dynamic MSI-X: no NORESIZE')
  const set = async (body: IrqSetRequest): Promise<IrqSetResult | undefined> => (await setIrqs({ client, path: { id, index: 'msix' }, body })).data
  const trigger = (fds: number[], start: number): IrqSetRequest => ({ action: 'trigger', start, data: { type: 'eventfd', fds } })
  t.equal((await set(trigger([-1], 0)))?.result, 0)
  t.equal((await set(trigger([e0], 0)))?.result, 0)
  t.equal((await set(trigger([e1], 1)))?.result, 0, 'vector 1 added while enabled')
  const added = await set(trigger([e2], 9))
  t.equal(added?.irq.hostVectors, 3)
  t.equal(added?.irq.dynamic, true)

  const { data: fired } = await fireInterrupts({ client, path: { id }, body: { index: 'msix', vectors: [0, 1, 9, 9, 5] } })
  const expected: FireResult = { fired: 5, delivered: 4, lost: 0, pended: 1, coalesced: 0 }
  t.same(fired, expected, 'vector 5 has no host vector: masked, so pending')
  const read = async (fd: number) => (await readEventfd({ client, path: { fd } })).data
  t.same(await read(e2), { value: 2 })
  t.same(await read(e0), { value: 1 })

  // The pending bit of vector 5, as a guest reads the PBA.
  const { data: pba } = await getPendingBitArray({ client, path: { id, index: 'msix' } })
  const pending: Pba = { pending: [5], words: ['0x0000000000000020'] }
  t.same(pba, pending)

  // linux-6.1: growing needs disable + re-enable; the raw ioctl form says so with EINVAL.
  const { data: old } = await createDevice({ client, body: { name: 'nic1', abi: 'linux-6.1', msix: { tableSize: 16 } } })
  const oldId = old!.id
  const { data: rawInfo } = await ioctlGetIrqInfo({ client, path: { id: oldId }, body: { index: 2 } })
  t.equal(rawInfo?.count, 16)
  t.ok((rawInfo!.flags & 0x8) !== 0, 'NORESIZE under linux-6.1')
  const raw = (body: { flags: number, index: number, start: number, count: number, data?: number[] }) => ioctlSetIrqs({ client, path: { id: oldId }, body })
  const TRIGGER_FDS = 0x04 | 0x20 // DATA_EVENTFD | ACTION_TRIGGER
  t.equal((await raw({ flags: TRIGGER_FDS, index: 2, start: 0, count: 1, data: [e0] })).data?.result, 0)
  const refused = await raw({ flags: TRIGGER_FDS, index: 2, start: 1, count: 1, data: [e1] })
  t.equal(refused.response.status, 400)
  t.match(refused.error, { errno: 'EINVAL', errnoValue: 22, reason: 'beyond-enabled-vectors', result: -1 })
  t.equal((await raw({ flags: 0x01 | 0x20, index: 2, start: 0, count: 0 })).data?.result, 0, 'disable')
  t.equal((await raw({ flags: TRIGGER_FDS, index: 2, start: 0, count: 2, data: [e0, e1] })).data?.result, 0, 're-enable with 2')
  const { data: vectors } = await listVectors({ client, path: { id: oldId, index: 'msix' }, query: { limit: 3 } })
  const page: VectorPage | undefined = vectors
  t.same(page?.items.map((v) => v.trigger), [e0, e1, null])
  t.type(page?.nextCursor, 'string', 'a limit of 3 of 16 vectors leaves a next page')

  // Collections and the host, through their named types.
  const { data: devices } = await listDevices({ client, query: { limit: 1 } })
  t.same(devices?.items.map((d) => d.name), ['nic0'])
  t.type(devices?.nextCursor, 'string')
  const { data: host } = await getHost({ client })
  const hostInfo: HostInfo | undefined = host
  t.equal(hostInfo?.devices, 2)
  t.equal(hostInfo?.hostVectors.used, 5, '3 MSI-X vectors on nic0, 2 on nic1')

  // A problem+json error surfaces with its errno, typed as the Problem component.
  const busy = await deleteEventfd({ client, path: { fd: e1 } })
  t.equal(busy.response.status, 409)
  const problem: Problem | undefined = busy.error
  t.match(problem, { errno: 'EBUSY', errnoValue: 16, reason: String })
  const missing = await getDevice({ client, path: { id: 'nope' } })
  t.equal(missing.response.status, 404)
  t.equal(missing.response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  t.match(missing.error, { reason: 'device-not-found', status: 404 })
  t.equal(missing.data, undefined)

  // Bad input is refused by the server with its sentence, whatever the client let through.
  const bad = await setIrqs({ client, path: { id, index: 'msix' }, body: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [] }, fd: [1] } as IrqSetRequest })
  t.equal(bad.response.status, 400)
  t.equal(bad.error?.detail, 'body has an unknown field "fd"; it takes "action", "start", "count" and "data"')
})
