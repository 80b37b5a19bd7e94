// Shared helpers for the test/hot suites (not a test file itself).
import type { App } from '../../src/app.ts'

export interface VectorState {
  vector: number
  allocated: boolean
  trigger: number | null
  fired: number
  delivered: number
  lost: number
  lostBy: { 'index-disabled': number, 'not-allocated': number, 'no-trigger': number }
}

function ok<T> (res: { statusCode: number, body: string, json: () => any }, status: number, what: string): T {
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode}: ${res.body}`)
  return (res.body === '' ? undefined : res.json()) as T
}

export async function createDevice (app: App, body: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/devices', payload: body })
  return ok<{ id: string }>(res, 201, 'create device').id
}

export async function createEventfd (app: App, semaphore = false): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/v1/eventfds', payload: { semaphore } })
  return ok<{ fd: number }>(res, 201, 'create eventfd').fd
}

/** SET_IRQS in the friendly form; throws unless 200. */
export async function setIrqs (app: App, id: string, index: string, body: Record<string, unknown>): Promise<any> {
  const res = await app.inject({ method: 'POST', url: `/v1/devices/${id}/irqs/${index}`, payload: body })
  return ok(res, 200, `SET_IRQS ${index} ${JSON.stringify(body)}`)
}

export const triggerFds = (start: number, fds: number[]) => ({ action: 'trigger', start, count: fds.length, data: { type: 'eventfd', fds } })
export const disable = { action: 'trigger', start: 0, count: 0, data: { type: 'none' } }

export async function fire (app: App, id: string, body: Record<string, unknown>) {
  return await app.inject({ method: 'POST', url: `/v1/devices/${id}/interrupts`, payload: body })
}

/** Fires and expects 200; returns the tally. */
export async function fireOk (app: App, id: string, body: Record<string, unknown>): Promise<{ fired: number, delivered: number, lost: number, pended: number, coalesced: number }> {
  return ok(await fire(app, id, body), 200, `fire ${JSON.stringify(body)}`)
}

export async function vectors (app: App, id: string, index: string): Promise<VectorState[]> {
  const res = await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/${index}/vectors` })
  return ok<{ items: VectorState[] }>(res, 200, 'vectors').items
}

export async function irq (app: App, id: string, index: string): Promise<any> {
  return ok(await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/${index}` }), 200, 'irq')
}

/** read(2) without waiting: the value, or 0 when there is nothing (204). */
export async function readEventfd (app: App, fd: number): Promise<number> {
  const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read` })
  if (res.statusCode === 204) return 0
  return ok<{ value: number }>(res, 200, 'read eventfd').value
}

/** The counter, not consumed. */
export async function peekEventfd (app: App, fd: number): Promise<number> {
  return ok<{ value: number }>(await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` }), 200, 'get eventfd').value
}

export function zeroCounters (vector: number): Omit<VectorState, 'allocated' | 'trigger'> {
  return { vector, fired: 0, delivered: 0, lost: 0, lostBy: { 'index-disabled': 0, 'not-allocated': 0, 'no-trigger': 0 } }
}

/** Counters only (what fire changes), for comparing before/after. */
export function countersOf (items: VectorState[]) {
  return items.map(({ vector, fired, delivered, lost, lostBy }) => ({ vector, fired, delivered, lost, lostBy }))
}

/** Resolves when `cond()` holds, polling on the event loop; rejects after `ms` with `what`. */
export async function until (cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
