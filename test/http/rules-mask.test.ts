import t from 'tap'
import type { App } from '../../src/app.ts'
import { build, createDevice, createEventfd } from '../helper.ts'

// docs/model.md 11 through HTTP, in the raw (/ioctl/set-irqs) and the friendly (/irqs/{index})
// form of SET_IRQS, on both abis. After every step the counting identity of 11.3 is checked
// from what GET .../vectors shows: fired = delivered + lost + coalesced + pendingNow.

const ABIS = ['linux-6.12', 'linux-6.1'] as const
type Abi = typeof ABIS[number]
type Form = 'raw' | 'friendly'
const FORMS: Form[] = ['raw', 'friendly']
const INDEX = { msi: 1, msix: 2 } as const
const ACTION = { mask: 0x08, unmask: 0x10, trigger: 0x20 } as const
const DATA = { none: 0x01, bool: 0x02, eventfd: 0x04 } as const

interface Out { status: number, result?: number, errno?: string, reason?: string }

class Dev {
  constructor (readonly app: App, readonly id: string, readonly form: Form, readonly tap: typeof t) {}

  /** SET_IRQS in this case's form; then the identity is checked. */
  async set (index: 'msi' | 'msix', action: keyof typeof ACTION, type: keyof typeof DATA, start: number, count: number, data: number[] = []): Promise<Out> {
    const res = this.form === 'raw'
      ? await this.app.inject({ method: 'POST', url: `/v1/devices/${this.id}/ioctl/set-irqs`, payload: { flags: ACTION[action] | DATA[type], index: INDEX[index], start, count, data } })
      : await this.app.inject({
        method: 'POST',
        url: `/v1/devices/${this.id}/irqs/${index}`,
        payload: { action, start, count, data: type === 'none' ? { type } : type === 'bool' ? { type, values: data.map((x) => x !== 0) } : { type, fds: data } }
      })
    const json = res.json()
    await this.identity()
    return res.statusCode === 200 ? { status: 200, result: json.result } : { status: res.statusCode, errno: json.errno, reason: json.reason }
  }

  async fire (index: 'msi' | 'msix', vector: number, count = 1) {
    const res = await this.app.inject({ method: 'POST', url: `/v1/devices/${this.id}/interrupts`, payload: { index, vector, count } })
    this.tap.equal(res.statusCode, 200)
    await this.identity()
    return res.json()
  }

  async vectors (index: 'msi' | 'msix' | 'intx'): Promise<any[]> {
    return (await this.app.inject({ method: 'GET', url: `/v1/devices/${this.id}/irqs/${index}/vectors` })).json().items
  }

  async pba (index: string) {
    const res = await this.app.inject({ method: 'GET', url: `/v1/devices/${this.id}/irqs/${index}/pba` })
    return { status: res.statusCode, body: res.json(), type: res.headers['content-type'] }
  }

  async value (fd: number): Promise<number> {
    return (await this.app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).json().value
  }

  async device () {
    return (await this.app.inject({ method: 'GET', url: `/v1/devices/${this.id}` })).json()
  }

  async identity (): Promise<void> {
    const dev = await this.device()
    const bad: string[] = []
    for (const index of ['msi', 'msix'] as const) {
      if (dev[index] === undefined) continue
      let fired = 0
      let rest = 0
      for (const v of await this.vectors(index)) {
        const r = v.delivered + v.lost + v.coalesced + (v.pending ? 1 : 0)
        if (v.fired !== r) bad.push(`${index} ${v.vector}: fired ${v.fired} != ${r}`)
        fired += v.fired
        rest += r
      }
      if (fired !== rest) bad.push(`${index}: total ${fired} != ${rest}`)
    }
    this.tap.same(bad, [], 'fired = delivered + lost + coalesced + pendingNow')
  }
}

const ok = { status: 200, result: 0 }
const tally = (fired: number, delivered: number, lost: number, pended: number, coalesced: number) => ({ fired, delivered, lost, pended, coalesced })

interface Case {
  name: string
  abis?: readonly Abi[]
  create?: object
  run: (d: Dev, t: typeof import('tap').default, abi: Abi) => Promise<void>
}

const cases: Case[] = [
  {
    name: '11.1 the host mask per vector: trigger -> unmasked; no trigger or no host vector -> masked by host',
    run: async (d, t) => {
      const e = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 2, [e, -1]), ok)
      const v = await d.vectors('msix')
      t.match(v[0], { masked: false, maskedBy: [], pending: false, backing: 'host' })
      t.match(v[1], { masked: true, maskedBy: ['host'], backing: 'host' })
      t.match(v[5], { masked: true, maskedBy: ['host'], backing: null, allocated: false })
    }
  },
  {
    name: '11.1 MSI without per-vector masking: fires are lost as in section 7, no mask shown',
    create: { msi: { vectors: 4 } },
    run: async (d, t) => {
      t.same(await d.set('msi', 'trigger', 'eventfd', 0, 1, [-1]), ok)
      t.same(await d.fire('msi', 0), tally(1, 0, 1, 0, 0))
      t.match((await d.vectors('msi'))[0], { masked: false, maskedBy: [], pending: false, lostBy: { 'no-trigger': 1 } })
    }
  },
  {
    name: '11.2 and 11.3 the done-when sequence: vector 5 fired three times pends once, coalesces twice, and is sent when it gets an eventfd',
    run: async (d, t, abi) => {
      const e0 = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 1, [e0]), ok)
      for (const want of [tally(1, 0, 0, 1, 0), tally(1, 0, 0, 0, 1), tally(1, 0, 0, 0, 1)]) t.same(await d.fire('msix', 5), want)
      t.match((await d.vectors('msix'))[5], { pending: true, pended: 1, coalesced: 2, masked: true })
      t.same((await d.pba('msix')).body, { pending: [5], words: ['0x0000000000000020'] })
      const e5 = await createEventfd(d.app)
      if (abi === 'linux-6.12') {
        t.same(await d.set('msix', 'trigger', 'eventfd', 5, 1, [e5]), ok)
      } else {
        t.same(await d.set('msix', 'trigger', 'none', 0, 0), ok)
        t.same(await d.set('msix', 'trigger', 'eventfd', 0, 6, [e0, -1, -1, -1, -1, e5]), ok)
      }
      t.equal(await d.value(e5), 1, 'the eventfd reads 1')
      t.match((await d.vectors('msix'))[5], { pending: false, delivered: 1, deliveredFromPending: 1, masked: false })
      t.same((await d.pba('msix')).body, { pending: [], words: ['0x0000000000000000'] })
    }
  },
  {
    name: '11.2 a fire on a disabled index is lost index-disabled and pends nothing',
    run: async (d, t) => {
      t.same(await d.fire('msix', 3, 2), tally(2, 0, 2, 0, 0))
      t.match((await d.vectors('msix'))[3], { pending: false, lostBy: { 'index-disabled': 2 } })
      t.same((await d.pba('msix')).body.pending, [])
    }
  },
  {
    name: '11.3 a re-assignment after -1 sends the pending message',
    run: async (d, t) => {
      const e = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 2, [e, e]), ok)
      t.same(await d.set('msix', 'trigger', 'eventfd', 1, 1, [-1]), ok)
      t.same(await d.fire('msix', 1, 3), tally(3, 0, 0, 1, 2))
      t.equal(await d.value(e), 0)
      t.same(await d.set('msix', 'trigger', 'eventfd', 1, 1, [e]), ok)
      t.equal(await d.value(e), 1)
    }
  },
  {
    name: '11.3 a pending bit survives disable + re-enable and a reset',
    run: async (d, t) => {
      const e = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 2, [e, -1]), ok)
      t.same(await d.fire('msix', 1), tally(1, 0, 0, 1, 0))
      t.same(await d.set('msix', 'trigger', 'none', 0, 0), ok)
      t.same(await d.fire('msix', 1), tally(1, 0, 1, 0, 0))
      t.equal((await d.app.inject({ method: 'POST', url: `/v1/devices/${d.id}/ioctl/reset` })).statusCode, 200)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 2, [e, -1]), ok)
      t.match((await d.vectors('msix'))[1], { pending: true })
      t.same(await d.set('msix', 'trigger', 'eventfd', 1, 1, [e]), ok)
      t.equal(await d.value(e), 1)
    }
  },
  {
    name: '11.4 without the opt-in: no MASKABLE, MSI-X MASK/UNMASK answer ENOTTY',
    run: async (d, t, abi) => {
      const info = (await d.app.inject({ method: 'POST', url: `/v1/devices/${d.id}/ioctl/get-irq-info`, payload: { argsz: 16, index: 2 } })).json()
      t.equal(info.flags, abi === 'linux-6.12' ? 0x1 : 0x9)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 1, [-1]), ok)
      t.match(await d.set('msix', 'mask', 'none', 0, 1), { errno: 'ENOTTY', reason: 'no-handler' })
      t.match(await d.set('msix', 'unmask', 'bool', 0, 1, [1]), { errno: 'ENOTTY', reason: 'no-handler' })
      t.same((await d.device()).msix, { tableSize: 16, dynamic: abi === 'linux-6.12', maskable: false })
    }
  },
  {
    name: '11.4 with msix.maskable: GET_IRQ_INFO adds MASKABLE (0x3 dynamic, 0xb NORESIZE)',
    create: { msix: { tableSize: 16, maskable: true } },
    run: async (d, t, abi) => {
      const info = (await d.app.inject({ method: 'POST', url: `/v1/devices/${d.id}/ioctl/get-irq-info`, payload: { argsz: 16, index: 2 } })).json()
      t.equal(info.flags, abi === 'linux-6.12' ? 0x3 : 0xb)
      const irq = (await d.app.inject({ method: 'GET', url: `/v1/devices/${d.id}/irqs/msix` })).json()
      t.ok(irq.flags.includes('maskable'))
      t.match((await d.device()).msix, { maskable: true })
    }
  },
  {
    name: '11.4 MASK/UNMASK need MSI-X enabled (EINVAL); an eventfd is ENOTTY',
    create: { msix: { tableSize: 16, maskable: true } },
    run: async (d, t) => {
      t.match(await d.set('msix', 'mask', 'none', 0, 1), { errno: 'EINVAL', reason: 'index-not-enabled' })
      const e = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 1, [e]), ok)
      t.match(await d.set('msix', 'mask', 'eventfd', 0, 1, [e]), { errno: 'ENOTTY' })
      t.match(await d.set('msix', 'unmask', 'eventfd', 0, 1, [e]), { errno: 'ENOTTY' })
    }
  },
  {
    name: '11.4 a user mask holds a fire pending; clearing it sends the message; the mask is a versioned change',
    create: { msix: { tableSize: 16, maskable: true } },
    run: async (d, t) => {
      const e = await createEventfd(d.app)
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 2, [e, e]), ok)
      const v0 = (await d.device()).version
      t.same(await d.set('msix', 'mask', 'bool', 0, 2, [0, 1]), ok)
      t.equal((await d.device()).version, v0 + 1)
      const v = await d.vectors('msix')
      t.match(v[0], { masked: false, maskedBy: [] })
      t.match(v[1], { masked: true, maskedBy: ['user'] })
      t.match((await d.app.inject({ method: 'GET', url: `/v1/devices/${d.id}/irqs/msix` })).json(), { userMasked: 1 })
      t.same(await d.fire('msix', 1, 2), tally(2, 0, 0, 1, 1))
      t.same(await d.set('msix', 'unmask', 'none', 0, 2), ok)
      t.equal(await d.value(e), 1)
      t.match((await d.vectors('msix'))[1], { pending: false, deliveredFromPending: 1, maskedBy: [] })
    }
  },
  {
    name: '11.5 the PBA route: MSI-X, per-vector-mask MSI; 404 without one; 400 for an index that never has one',
    create: { msi: { vectors: 8, perVectorMask: true }, msix: { tableSize: 130 } },
    run: async (d, t) => {
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 1, [-1]), ok)
      for (const v of [3, 17, 129]) await d.fire('msix', v)
      t.same((await d.pba('msix')).body, { pending: [3, 17, 129], words: ['0x0000000000020008', '0x0000000000000000', '0x0000000000000002'] })
      t.same((await d.pba('msi')).body, { pending: [], words: ['0x0000000000000000'] })
      t.match((await d.device()).msi, { vectors: 8, perVectorMask: true })
      const intx = await d.pba('intx')
      t.match(intx, { status: 400, body: { reason: 'no-pending-bits' } })
      t.match(intx.type, /application\/problem\+json/)
      const plain = await createDevice(d.app, { msi: { vectors: 4 } })
      for (const index of ['msi', 'msix']) {
        const res = await d.app.inject({ method: 'GET', url: `/v1/devices/${plain}/irqs/${index}/pba` })
        t.equal(res.statusCode, 404, index)
        t.equal(res.json().reason, 'no-pending-bit-array')
      }
    }
  },
  {
    name: '11.5 /metrics counts pended, coalesced and pending vectors',
    run: async (d, t) => {
      t.same(await d.set('msix', 'trigger', 'eventfd', 0, 1, [-1]), ok)
      await d.fire('msix', 0, 3)
      const text = (await d.app.inject({ method: 'GET', url: '/metrics' })).body
      t.match(text, /virq_interrupts_pended_total\{index="msix"\} 1/)
      t.match(text, /virq_interrupts_coalesced_total\{index="msix"\} 2/)
      t.match(text, /virq_vectors_pending\{index="msix"\} 1/)
    }
  }
]

for (const c of cases) {
  for (const abi of c.abis ?? ABIS) {
    for (const form of FORMS) {
      t.test(`${c.name} (${abi}, ${form})`, async (t) => {
        const app = await build(t)
        const id = await createDevice(app, { abi, pcie: true, reset: true, intx: true, msix: { tableSize: 16 }, ...c.create })
        await c.run(new Dev(app, id, form, t as typeof import('tap').default), t as typeof import('tap').default, abi)
      })
    }
  }
}
