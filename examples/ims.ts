import { parseArgs } from 'node:util'
import { must, request } from './http.ts'
import { buildApp } from '../src/app.ts'

// IMS-backed MSI-X (docs/model.md 13), runnable: one parent (an Intel DSA with an interrupt
// message store of 64 slots) backs eight idxd-like virtual devices of 16 MSI-X vectors each,
// vector 0 emulated (completion and errors, signalled in software: no slot). Their guests
// enable vectors over time, each at its own pace, one SET_IRQS per vector (dynamic, as QEMU
// does when a guest unmasks a vector); each vector with an eventfd holds one slot. They want
// 8 x 15 = 120 slots: the store runs out and the next enables answer EBUSY (the guest retries
// at its next step). Halfway, wq0's guest unloads its driver (MSI-X disabled): its slots go
// back to the store at once, and the waiting guests get them. Every step, each device fires
// all 16 of its vectors: those with an eventfd deliver, the others wait in their pending bit
// (delivered when the vector gets its slot).
// With --url http://HOST:PORT it runs against that server instead of an in-process one;
// --token (or VIRQ_TOKEN) sends a bearer token.

export const SLOTS = 64
export const DEVICES = 8
export const TABLE = 16
export const STEPS = 40
/** wq0's guest unloads its driver at this step. */
export const UNLOAD_AT = 20
/** Device i's guest enables its next vector every PACE[i] steps. */
const PACE = [1, 1, 2, 2, 3, 3, 4, 4]

export interface DeviceRow {
  name: string
  /** Slots it holds at the end. */
  slots: number
  /** IMS-backed vectors with an eventfd at the end (must equal slots). */
  imsVectors: number
  enabled: number
  ebusy: number
  fired: number
  delivered: number
  deliveredFromPending: number
}

export interface ImsResult {
  parent: { total: number, used: number, free: number }
  /** The first step at which an enable answered EBUSY (-1: never). */
  fullAt: number
  rows: DeviceRow[]
  /** Parent slots in use after every step: never above the store. */
  usedByStep: number[]
  hostVectorsUsed: number
}

/** Runs the story on a fresh in-process server, or against the server at `url`. */
export async function imsStory (url?: string, token?: string): Promise<ImsResult> {
  if (url !== undefined) return await story(url.replace(/\/+$/, ''), token)
  // No overload guard: building the app can stall a busy machine's loop, and this story is not about load.
  const app = await buildApp({ db: ':memory:', hostVectors: 4096, maxEventLoopDelayMs: 0 })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    return await story(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, token)
  } finally {
    await app.close()
  }
}

async function story (base: string, token: string | undefined): Promise<ImsResult> {
  const parent = await must(base, token, 'POST', '/v1/parents', { name: 'dsa0', imsSlots: SLOTS })
  const devices: Array<{ id: string, name: string, fd: number, next: number, ebusy: number, unloaded: boolean }> = []
  for (let i = 0; i < DEVICES; i++) {
    const name = `wq${i}`
    const dev = await must(base, token, 'POST', '/v1/devices', { name, template: 'idxd-vdev', parent: parent.id, msix: { tableSize: TABLE, emulated: [0] } })
    const fd = (await must(base, token, 'POST', '/v1/eventfds', { label: `${name}-irq` })).fd
    // The guest driver loads: MSI-X enabled with vector 0, the emulated completion interrupt.
    await must(base, token, 'POST', `/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [fd] } })
    devices.push({ id: dev.id, name, fd, next: 1, ebusy: 0, unloaded: false })
  }
  const all = Array.from({ length: TABLE }, (_, v) => v)
  const usedByStep: number[] = []
  let fullAt = -1
  for (let step = 0; step < STEPS; step++) {
    for (const [i, d] of devices.entries()) {
      if (d.unloaded) continue
      if (i === 0 && step === UNLOAD_AT) {
        // wq0's guest unloads its driver: MSI-X disabled, every slot back at once.
        await must(base, token, 'POST', `/v1/devices/${d.id}/irqs/msix`, { action: 'trigger', start: 0, count: 0, data: { type: 'none' } })
        d.unloaded = true
        continue
      }
      if (d.next < TABLE && step % PACE[i] === 0) {
        const res = await request(base, token, 'POST', `/v1/devices/${d.id}/irqs/msix`, { action: 'trigger', start: d.next, data: { type: 'eventfd', fds: [d.fd] } })
        if (res.status === 200) d.next++
        else if (res.body.errno === 'EBUSY') {
          d.ebusy++
          if (fullAt < 0) fullAt = step
        } else throw new Error(`${d.name} vector ${d.next}: ${res.status} ${JSON.stringify(res.body)}`)
      }
      await must(base, token, 'POST', `/v1/devices/${d.id}/interrupts`, { index: 'msix', vectors: all })
    }
    usedByStep.push((await must(base, token, 'GET', `/v1/parents/${parent.id}`)).slots.used)
  }
  const final = await must(base, token, 'GET', `/v1/parents/${parent.id}`)
  const slotsOf = new Map<string, number>(final.devices.map((d: { id: string, slots: number }) => [d.id, d.slots]))
  const rows: DeviceRow[] = []
  for (const d of devices) {
    const vectors = (await must(base, token, 'GET', `/v1/devices/${d.id}/irqs/msix/vectors`)).items as any[]
    const sum = (key: string): number => vectors.reduce((n, v) => n + v[key], 0)
    rows.push({
      name: d.name,
      slots: slotsOf.get(d.id) ?? 0,
      imsVectors: vectors.filter((v) => v.backing === 'ims' && v.trigger !== null).length,
      enabled: vectors.filter((v) => v.trigger !== null).length,
      ebusy: d.ebusy,
      fired: sum('fired'),
      delivered: sum('delivered'),
      deliveredFromPending: sum('deliveredFromPending')
    })
  }
  const host = await must(base, token, 'GET', '/v1/host')
  return { parent: final.slots, fullAt, rows, usedByStep, hostVectorsUsed: host.hostVectors.used }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' } } })
  const r = await imsStory(values.url, values.token ?? process.env.VIRQ_TOKEN)
  console.log(`parent dsa0: ${r.parent.total} IMS slots, ${r.parent.used} used, ${r.parent.free} free; the store ran out at step ${r.fullAt}; wq0 unloaded at step ${UNLOAD_AT}\n`)
  console.log('| device | pace (steps per vector) | slots | vectors with an eventfd | EBUSY answers | fired | delivered | of which from pending |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const [i, row] of r.rows.entries()) {
    console.log(`| ${row.name} | ${PACE[i]} | ${row.slots} | ${row.enabled} | ${row.ebusy} | ${row.fired} | ${row.delivered} | ${row.deliveredFromPending} |`)
  }
  const total = (k: keyof DeviceRow): number => r.rows.reduce((n, row) => n + (row[k] as number), 0)
  console.log(`| total | | ${total('slots')} | ${total('enabled')} | ${total('ebusy')} | ${total('fired')} | ${total('delivered')} | ${total('deliveredFromPending')} |`)
  console.log(`\nslots used after each step: ${r.usedByStep.join(' ')}`)
  console.log(`host vectors used: ${r.hostVectorsUsed} (one per slot; emulated vectors hold none)`)
}
