import { parseArgs } from 'node:util'
import { must } from './http.ts'
import { buildApp } from '../src/app.ts'

// The story virq exists for, runnable: a device fires steadily on its live MSI-X vectors while
// a QEMU-like client adds vectors one by one, as a guest unmasks them.
//   linux-6.1  (NORESIZE): each new vector means disable the whole index, then re-enable it
//              with one more vector. Interrupts that fire in between are lost.
//   linux-6.12 (dynamic MSI-X, QEMU 8.2+): each new vector is one SET_IRQS; nothing is lost.
// The device also raises each new vector once before the VMM adds it: the vector is masked
// then (no handler on the host), so the interrupt waits in its pending bit and is delivered
// when the vector gets its eventfd, under both profiles (docs/model.md 11).
// Real HTTP on a real socket: every window is as wide as a round trip.
// With --url http://HOST:PORT it runs against that server (its devices stay there, to look at
// in the dashboard at /ui) instead of an in-process one. --token (or VIRQ_TOKEN) sends a
// bearer token.

export interface WindowResult {
  abi: string
  added: number
  fired: number
  delivered: number
  deliveredFromPending: number
  lost: number
  coalesced: number
  pendingNow: number
  lostBy: Record<string, number>
}

const VECTORS = 16

/** Runs the story on a fresh in-process server, or against the server at `url`. */
export async function resizeWindow (abi: 'linux-6.1' | 'linux-6.12', url?: string, token?: string): Promise<WindowResult & { deviceId: string }> {
  if (url !== undefined) return await story(url.replace(/\/+$/, ''), abi, token)
  const app = await buildApp({ db: ':memory:', hostVectors: 4096 })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    return await story(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, abi, token)
  } finally {
    await app.close()
  }
}

async function story (base: string, abi: 'linux-6.1' | 'linux-6.12', token: string | undefined): Promise<WindowResult & { deviceId: string }> {
  const call = async (method: string, path: string, body?: unknown): Promise<any> => await must(base, token, method, path, body)
  const dev = await call('POST', '/v1/devices', { name: `nic-${abi}`, abi, msix: { tableSize: VECTORS } })
  const fds: number[] = []
  for (let v = 0; v < VECTORS; v++) fds.push((await call('POST', '/v1/eventfds', { label: `vec${v}` })).fd)
  const irqs = `/v1/devices/${dev.id}/irqs/msix`
  await call('POST', irqs, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [fds[0]] } })

  // The device: fires every live vector, again and again, until told to stop.
  const live = [0]
  const device = { running: true }
  let fireRound: () => void = () => {}
  const firing = (async () => {
    while (device.running) {
      await call('POST', `/v1/devices/${dev.id}/interrupts`, { index: 'msix', vectors: live })
      fireRound()
    }
  })()
  /** Resolves after the device's next fire request has been answered. */
  const nextFire = (): Promise<void> => new Promise((resolve) => { fireRound = resolve })

  // The VMM: the guest unmasks vectors 1..15 one at a time.
  for (let k = 1; k < VECTORS; k++) {
    // The guest driver has programmed vector k and the device raises it before QEMU adds it.
    await call('POST', `/v1/devices/${dev.id}/interrupts`, { index: 'msix', vector: k })
    if (abi === 'linux-6.12') {
      await call('POST', irqs, { action: 'trigger', start: k, data: { type: 'eventfd', fds: [fds[k]] } })
    } else {
      await call('POST', irqs, { action: 'trigger', start: 0, count: 0, data: { type: 'none' } })
      await nextFire() // the device keeps running while the index is down
      await call('POST', irqs, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: fds.slice(0, k + 1) } })
    }
    live.push(k)
    await nextFire()
  }
  device.running = false
  await firing

  const vectors = (await call('GET', `${irqs}/vectors`)).items as any[]
  const lostBy: Record<string, number> = {}
  for (const v of vectors) for (const [reason, n] of Object.entries(v.lostBy as Record<string, number>)) lostBy[reason] = (lostBy[reason] ?? 0) + n
  const sum = (key: string): number => vectors.reduce((n, v) => n + v[key], 0)
  return {
    abi,
    added: VECTORS - 1,
    fired: sum('fired'),
    delivered: sum('delivered'),
    deliveredFromPending: sum('deliveredFromPending'),
    lost: sum('lost'),
    coalesced: sum('coalesced'),
    pendingNow: vectors.filter((v) => v.pending === true).length,
    lostBy,
    deviceId: dev.id
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' } } })
  const bearer = values.token ?? process.env.VIRQ_TOKEN
  const rows = [await resizeWindow('linux-6.1', values.url, bearer), await resizeWindow('linux-6.12', values.url, bearer)]
  console.log('| profile | vectors added | fired | delivered | of which from pending | lost | lost by reason |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of rows) {
    const reasons = Object.entries(r.lostBy).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || '-'
    console.log(`| ${r.abi} | ${r.added} | ${r.fired} | ${r.delivered} | ${r.deliveredFromPending} | ${r.lost} | ${reasons} |`)
  }
  if (values.url !== undefined) console.log(`\nopen ${values.url.replace(/\/+$/, '')}/ui to see both devices and their teardown windows`)
}
