// Devices, eventfds, SET_IRQS and fires over HTTP: the calls every end-to-end test makes, each
// insisting on success (so a setup that goes wrong fails where it happened) unless its name
// says it returns whatever was answered (send..., ioctl...).
import type { App } from '../../src/app.ts'
import { ok, send, type Json } from './http.ts'

/** The ABI profiles, and each one's facts: tests run once per profile. */
export { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'

/** POST /v1/devices (201); returns the new device's id. */
export async function createDevice (app: App, body: Json = {}): Promise<string> {
  return (await ok(app, 'POST', '/v1/devices', body, 201)).id
}

/** POST /v1/eventfds (201) with { semaphore?, label? }; returns the new eventfd's number. */
export async function createEventfd (app: App, body: { semaphore?: boolean, label?: string } = {}): Promise<number> {
  return (await ok(app, 'POST', '/v1/eventfds', body, 201)).fd
}

/** SET_IRQS in the HTTP form, by index name (`msix`, `intx`, `err`, ...); insists on 200 and returns the body. */
export async function setIrqs (app: App, id: string, index: string, body: Json): Promise<any> {
  return await ok(app, 'POST', `/v1/devices/${id}/irqs/${index}`, body, 200)
}

/** SET_IRQS in the HTTP form, whatever it answers: { status, body }. */
export async function sendSetIrqs (app: App, id: string, index: string, body: Json): Promise<{ status: number, body: any }> {
  return await send(app, 'POST', `/v1/devices/${id}/irqs/${index}`, body)
}

/** The raw VFIO_DEVICE_SET_IRQS form (flags, index number, data array), whatever it answers: { status, body }. */
export async function ioctlSetIrqs (app: App, id: string, body: Json): Promise<{ status: number, body: any }> {
  return await send(app, 'POST', `/v1/devices/${id}/ioctl/set-irqs`, body)
}

/** The raw form as the ioctl's caller sees it: the return value, and the errno when it is -1. */
export async function ioctlSetIrqsResult (app: App, id: string, body: Json): Promise<{ result: number, errno: string | undefined }> {
  const { body: answer } = await ioctlSetIrqs(app, id, body)
  return { result: answer.result, errno: answer.errno }
}

/** The HTTP form's body that binds `fds` (-1: none) to the vectors from `start`. */
export const triggerFds = (start: number, fds: number[]): Json => ({ action: 'trigger', start, count: fds.length, data: { type: 'eventfd', fds } })
/** The HTTP form's body that disables the index (count 0). */
export const disable: Json = { action: 'trigger', start: 0, count: 0, data: { type: 'none' } }

/** POST /v1/devices/:id/interrupts, whatever it answers (the light-my-request response). */
export async function fire (app: App, id: string, body: Json) {
  return await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: body })
}

/** What one fire request did. */
export interface FireTally { fired: number, delivered: number, lost: number, pended: number, coalesced: number }

/** Fires and insists on 200; returns the tally. */
export async function fireOk (app: App, id: string, body: Json): Promise<FireTally> {
  return await ok(app, 'POST', `/v1/devices/${id}/interrupts`, body, 200)
}

/** One vector as GET .../vectors lists it. */
export interface VectorState {
  vector: number
  allocated: boolean
  trigger: number | null
  fired: number
  delivered: number
  lost: number
  lostBy: { 'index-disabled': number, 'not-allocated': number, 'no-trigger': number }
}

/** GET /v1/devices/:id/irqs/:index/vectors (200); the items. */
export async function vectors (app: App, id: string, index: string): Promise<VectorState[]> {
  return (await ok(app, 'GET', `/v1/devices/${id}/irqs/${index}/vectors`, undefined, 200)).items
}

/** GET /v1/devices/:id/irqs/:index (200). */
export async function irq (app: App, id: string, index: string): Promise<any> {
  return await ok(app, 'GET', `/v1/devices/${id}/irqs/${index}`, undefined, 200)
}

/** read(2) without waiting: the value, or 0 when there is nothing (204). */
export async function readEventfd (app: App, fd: number): Promise<number> {
  const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read` })
  if (res.statusCode === 204) return 0
  if (res.statusCode !== 200) throw new Error(`read eventfd ${fd}: ${res.statusCode} ${res.body}`)
  return res.json().value
}

/** The counter, not consumed (GET /v1/eventfds/:fd, 200). */
export async function peekEventfd (app: App, fd: number): Promise<number> {
  return (await ok(app, 'GET', `/v1/eventfds/${fd}`, undefined, 200)).value
}

/** A vector's counters before anything fired. */
export function zeroCounters (vector: number): Omit<VectorState, 'allocated' | 'trigger'> {
  return { vector, fired: 0, delivered: 0, lost: 0, lostBy: { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 0 } }
}

/** Counters only (what fire changes), for comparing before/after. */
export function countersOf (items: VectorState[]) {
  return items.map(({ vector, fired, delivered, lost, lostBy }) => ({ vector, fired, delivered, lost, lostBy }))
}
