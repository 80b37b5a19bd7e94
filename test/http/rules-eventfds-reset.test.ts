import t from 'tap'
import type { App } from '../../src/app.ts'
import { ABIS, build, createDevice, createEventfd, sendSetIrqs, until, waitingReads } from '../helper.ts'

// docs/model.md 8 (eventfds) and 9 (reset and close), end to end.

async function read (app: App, fd: number, timeoutMs?: number) {
  const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read${timeoutMs !== undefined ? `?timeoutMs=${timeoutMs}` : ''}` })
  return res.statusCode === 204 ? 'EAGAIN' : res.json().value
}
async function write (app: App, fd: number, value: number) {
  return (await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/write`, payload: { value } })).json().value
}
const loopback = (app: App, id: string) => sendSetIrqs(app, id, 'req', { action: 'trigger', count: 1, data: { type: 'none' } })

t.test('8 a signal adds 1; back-to-back signals coalesce into one read', async (t) => {
  const app = await build(t)
  const id = await createDevice(app, {})
  const fd = await createEventfd(app)
  await sendSetIrqs(app, id, 'req', { action: 'trigger', data: { type: 'eventfd', fds: [fd] } })
  for (let i = 0; i < 3; i++) t.equal((await loopback(app, id)).status, 200)
  t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).json().value, 3, 'GET does not consume')
  t.equal(await read(app, fd), 3)
  t.equal(await read(app, fd), 'EAGAIN', 'the read reset the counter to 0')
})

t.test('8 semaphore mode: each read returns 1 and subtracts 1', async (t) => {
  const app = await build(t)
  const fd = await createEventfd(app, { semaphore: true })
  t.equal(await write(app, fd, 3), 3)
  t.same([await read(app, fd), await read(app, fd), await read(app, fd), await read(app, fd)], [1, 1, 1, 'EAGAIN'])
})

t.test('8 a write adds its value; reading 0 is EAGAIN = HTTP 204', async (t) => {
  const app = await build(t)
  const fd = await createEventfd(app)
  const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read` })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(await write(app, fd, 5), 5)
  t.equal(await write(app, fd, 2), 7)
  t.equal(await read(app, fd), 7)
  t.equal(await read(app, fd, 20), 'EAGAIN', 'still 204 after waiting')
})

t.test('8 a waiting read returns once the eventfd is signalled', async (t) => {
  const app = await build(t)
  const fd = await createEventfd(app)
  const pending = read(app, fd, 5000)
  await new Promise((resolve) => setTimeout(resolve, 30))
  await write(app, fd, 4)
  t.equal(await pending, 4)
})

t.test('8 a write answers the counter right after it, though a waiting read takes from it before the answer', async (t) => {
  const app = await build(t)
  const fd = await createEventfd(app, { semaphore: true })
  const pending = read(app, fd, 5000)
  await until(() => waitingReads(app) === 1, 'the read to wait')
  t.equal(await write(app, fd, 3), 3, 'the write added 3 to 0')
  t.equal(await pending, 1, 'the waiting read took 1 (semaphore)')
  t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).json().value, 2)
})

t.test('8 eventfd numbers are never reused', async (t) => {
  const app = await build(t)
  const a = await createEventfd(app)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/eventfds/${a}` })).statusCode, 204)
  const b = await createEventfd(app)
  t.ok(b > a, `${b} > ${a}`)
  t.equal((await app.inject({ method: 'POST', url: `/v1/eventfds/${a}/read` })).statusCode, 404)
})

for (const abi of ABIS) {
  t.test(`${abi}: 9 reset without reset support is EINVAL`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, reset: false, intx: true })
    const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { errno: 'EINVAL', errnoValue: 22, reason: 'reset-unsupported' })
    const raw = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/reset` })
    t.equal(raw.statusCode, 400)
    t.match(raw.json(), { errno: 'EINVAL', result: -1 })
  })

  t.test(`${abi}: 9 reset keeps the enabled type, every trigger and the eventfds`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, reset: true, pcie: true, msix: { tableSize: 8 } })
    const [a, b, c] = [await createEventfd(app), await createEventfd(app), await createEventfd(app)]
    t.equal((await sendSetIrqs(app, id, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: [a, -1, b] } })).status, 200)
    await sendSetIrqs(app, id, 'err', { action: 'trigger', data: { type: 'eventfd', fds: [c] } })
    await sendSetIrqs(app, id, 'req', { action: 'trigger', data: { type: 'eventfd', fds: [a] } })
    await write(app, b, 2)
    const raw = await app.inject({ method: 'POST', url: `/v1/devices/${id}/ioctl/reset` })
    t.same(raw.json(), { result: 0 })
    const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })
    t.equal(res.statusCode, 200)
    t.equal(res.json().irqType, 'msix')
    const vectors = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/msix/vectors` })).json().items
    t.same(vectors.slice(0, 4).map((v: { trigger: number | null }) => v.trigger), [a, null, b, null])
    const irqs = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs` })).json().items
    t.same(irqs.filter((i: { index: number }) => i.index >= 3).map((i: { trigger: number }) => i.trigger), [c, a])
    t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${b}` })).json().value, 2)
  })

  t.test(`${abi}: 9 reset keeps INTx, its trigger and its unmask eventfd`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, reset: true, intx: true })
    const [trig, unmask] = [await createEventfd(app), await createEventfd(app)]
    await sendSetIrqs(app, id, 'intx', { action: 'trigger', data: { type: 'eventfd', fds: [trig] } })
    await sendSetIrqs(app, id, 'intx', { action: 'unmask', data: { type: 'eventfd', fds: [unmask] } })
    const fired = await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: { index: 'intx', level: 'assert' } })
    t.match(fired.json(), { delivered: 1 })
    t.equal((await app.inject({ method: 'POST', url: `/v1/devices/${id}/reset` })).statusCode, 200)
    const intx = (await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/intx` })).json()
    t.match(intx, { enabled: true, trigger: trig, unmaskEventfd: unmask, masked: true, line: false }, 'the line is lowered, the mask kept')
    await write(app, unmask, 1)
    t.match((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/intx` })).json(), { masked: false })
    t.equal(await read(app, trig), 1, 'no redelivery: the line is low')
  })

  t.test(`${abi}: 5.1 a second unmask eventfd is EBUSY = HTTP 409`, async (t) => {
    const app = await build(t)
    const id = await createDevice(app, { abi, intx: true })
    const [u1, u2] = [await createEventfd(app), await createEventfd(app)]
    await sendSetIrqs(app, id, 'intx', { action: 'trigger', data: { type: 'eventfd', fds: [-1] } })
    t.equal((await sendSetIrqs(app, id, 'intx', { action: 'unmask', data: { type: 'eventfd', fds: [u1] } })).status, 200)
    const busy = await sendSetIrqs(app, id, 'intx', { action: 'unmask', data: { type: 'eventfd', fds: [u2] } })
    t.equal(busy.status, 409)
    t.match(busy.body, { errno: 'EBUSY', errnoValue: 16, reason: 'unmask-eventfd-busy' })
    t.match((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/intx` })).json(), { unmaskEventfd: u1 })
  })

  t.test(`${abi}: 9 delete disables, releases ERR/REQ and returns host vectors`, async (t) => {
    const app = await build(t, { hostVectors: 10 })
    const id = await createDevice(app, { abi, pcie: true, msix: { tableSize: 8 } })
    const other = await createDevice(app, { abi, msi: { vectors: 2 } })
    const e = await createEventfd(app)
    await sendSetIrqs(app, other, 'msi', { action: 'trigger', data: { type: 'eventfd', fds: [-1, -1] } })
    await sendSetIrqs(app, id, 'msix', { action: 'trigger', data: { type: 'eventfd', fds: [e, -1, e, -1, -1] } })
    await sendSetIrqs(app, id, 'err', { action: 'trigger', data: { type: 'eventfd', fds: [e] } })
    await sendSetIrqs(app, id, 'req', { action: 'trigger', data: { type: 'eventfd', fds: [e] } })
    const host = async () => (await app.inject({ method: 'GET', url: '/v1/host' })).json()
    t.match(await host(), { hostVectors: { capacity: 10, used: 7, free: 3 }, devices: 2 })
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/devices/${id}` })).statusCode, 204)
    t.match(await host(), { hostVectors: { capacity: 10, used: 2, free: 8 }, devices: 1, eventfds: 1 })
    t.same((await app.inject({ method: 'GET', url: `/v1/eventfds/${e}` })).json().bindings, [])
    t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}` })).statusCode, 404)
  })
}
