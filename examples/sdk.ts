import { parseArgs } from 'node:util'
import { createVirqClient } from '../sdk/index.ts'

// The TypeScript SDK (sdk/: openapi-fetch over types generated from openapi/openapi.json),
// doing QEMU's dynamic MSI-X path and then its NORESIZE refusal, printing what virq answers.
// Run against the quick-start server:  npm run example:sdk
// or another one:                      npm run example:sdk -- --url http://HOST:PORT
// (--token, or VIRQ_TOKEN, when the server has authentication on).

export async function sdkTour (baseUrl: string, token?: string, print: (line: string) => void = console.log) {
  const virq = createVirqClient({ baseUrl, ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}) })
  const check = <T>(r: { data?: T, error?: unknown, response: Response }, what: string): T => {
    if (r.data === undefined) throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`)
    return r.data
  }

  const dev = check(await virq.POST('/v1/devices', { body: { name: 'sdk-nic', abi: 'linux-6.12', msix: { tableSize: 64 } } }), 'create device')
  print(`device ${dev.id}: abi ${dev.abi}, MSI-X ${dev.msix?.tableSize} vectors, dynamic ${dev.msix?.dynamic}`)
  const efd = check(await virq.POST('/v1/eventfds', { body: { label: 'vec3' } }), 'create eventfd')
  print(`eventfd ${efd.fd}`)

  const path = { id: dev.id, index: 'msix' }
  const enable = check(await virq.POST('/v1/devices/{id}/irqs/{index}', { params: { path }, body: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [-1] } } }), 'enable')
  print(`enable MSI-X with vector 0: result ${enable.result}`)
  const add = check(await virq.POST('/v1/devices/{id}/irqs/{index}', { params: { path }, body: { action: 'trigger', start: 3, data: { type: 'eventfd', fds: [efd.fd] } } }), 'add vector 3')
  print(`add vector 3 while enabled: result ${add.result} (host vectors ${add.irq.hostVectors})`)

  const fired = check(await virq.POST('/v1/devices/{id}/interrupts', { params: { path: { id: dev.id } }, body: { index: 'msix', vector: 3, count: 10 } }), 'fire')
  print(`fire vector 3 ten times: fired ${fired.fired}, delivered ${fired.delivered}, lost ${fired.lost}`)
  const read = check(await virq.POST('/v1/eventfds/{fd}/read', { params: { path: { fd: efd.fd }, query: {} } }), 'read')
  print(`read eventfd ${efd.fd}: ${read.value}`)

  // The same addition under linux-6.1 (NORESIZE): the kernel's EINVAL, as a problem.
  const old = check(await virq.POST('/v1/devices', { body: { name: 'sdk-nic-6.1', abi: 'linux-6.1', msix: { tableSize: 64 } } }), 'create 6.1 device')
  const oldPath = { id: old.id, index: 'msix' }
  check(await virq.POST('/v1/devices/{id}/irqs/{index}', { params: { path: oldPath }, body: { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [-1] } } }), 'enable 6.1')
  const refused = await virq.POST('/v1/devices/{id}/irqs/{index}', { params: { path: oldPath }, body: { action: 'trigger', start: 3, data: { type: 'eventfd', fds: [efd.fd] } } })
  const problem = refused.error as { errno?: string, reason?: string, detail?: string } | undefined
  print(`under linux-6.1 the same addition: ${refused.response.status} ${problem?.errno} ${problem?.reason}: ${problem?.detail}`)
  return { deviceId: dev.id, enable: enable.result, add: add.result, fired, read: read.value, refused: { status: refused.response.status, errno: problem?.errno, reason: problem?.reason } }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' } } })
  await sdkTour(values.url ?? process.env.VIRQ_URL ?? 'http://127.0.0.1:8080', values.token ?? process.env.VIRQ_TOKEN)
}
