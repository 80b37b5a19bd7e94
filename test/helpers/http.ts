// Requests through app.inject that say what they expect: ok() wants a 2xx, problem() a given
// status with a problem+json body; both throw with the answer otherwise, so a setup step that
// goes wrong fails the test where it happened.
import type { App } from '../../src/app.ts'

export interface Json { [k: string]: any }

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH'

/** app.inject, with a bearer token when one is given (the raw light-my-request response). */
export async function injectAs (app: App, token: string | undefined, method: string, url: string, payload?: unknown) {
  return await app.inject({
    method: method as Method,
    url,
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
    ...(payload !== undefined ? { payload: payload as object } : {})
  })
}

/** Any answer, as { status, body } (body: the JSON, or undefined when empty); `token`: sent as a bearer token. */
export async function send (app: App, method: Method, url: string, payload?: unknown, token?: string): Promise<{ status: number, body: any }> {
  const res = await injectAs(app, token, method, url, payload)
  return { status: res.statusCode, body: res.body === '' ? undefined : res.json() }
}

/** Insists on a 2xx (or on `status` when given); returns the JSON body (undefined when empty). */
export async function ok (app: App, method: Method, url: string, payload?: unknown, status?: number): Promise<any> {
  const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) })
  const good = status !== undefined ? res.statusCode === status : res.statusCode >= 200 && res.statusCode <= 299
  if (!good) throw new Error(`${method} ${url} answered ${res.statusCode}${status !== undefined ? `, not ${status}` : ''}: ${res.body}`)
  return res.body === '' ? undefined : res.json()
}

/** Insists on `status` and a problem+json body; returns the problem. */
export async function problem (app: App, status: number, method: Method, url: string, payload?: unknown): Promise<Json> {
  const res = await app.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) })
  if (res.statusCode !== status) throw new Error(`${method} ${url} answered ${res.statusCode}, not ${status}: ${res.body}`)
  if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) throw new Error(`${method} ${url}: not problem+json: ${String(res.headers['content-type'])}`)
  return res.json()
}

/** GET a URL and return its JSON; throws with the body when the answer is not 200. */
export async function getJson (app: App, url: string): Promise<any> {
  return await ok(app, 'GET', url, undefined, 200)
}

/** Every item of a paginated collection, following nextCursor. */
export async function listAll (app: App, path: string, limit = 100): Promise<Json[]> {
  const out: Json[] = []
  let cursor: string | undefined
  for (let page = 0; page < 10_000; page++) {
    const q = new URLSearchParams({ limit: String(limit) })
    if (cursor !== undefined) q.set('cursor', cursor)
    const body = await getJson(app, `${path}?${q.toString()}`)
    out.push(...body.items)
    if (body.nextCursor === undefined) return out
    cursor = body.nextCursor
  }
  throw new Error(`${path}: pagination did not end`)
}

/**
 * Everything the API shows: each device (with its ETag), its /irqs, every index's /vectors,
 * each eventfd with its bindings, the eventfd list, /v1/host and /v1/parents. "Nothing
 * changed" and "nothing was lost" are then one deep comparison.
 */
export async function snapshot (app: App, opts: { pageSize?: number } = {}): Promise<Json> {
  const devices: Json[] = []
  for (const listed of await listAll(app, '/v1/devices', opts.pageSize)) {
    const res = await app.inject({ method: 'GET', url: `/v1/devices/${listed.id}` })
    if (res.statusCode !== 200) throw new Error(`GET device ${listed.id}: ${res.statusCode}`)
    const device = res.json()
    const irqs = (await getJson(app, `/v1/devices/${listed.id}/irqs`)).items as Json[]
    const vectors: Record<string, Json> = {}
    for (const irq of irqs) vectors[irq.name] = await getJson(app, `/v1/devices/${listed.id}/irqs/${irq.name}/vectors`)
    devices.push({ listed, device, etag: res.headers.etag, irqs, vectors })
  }
  const eventfdList = await listAll(app, '/v1/eventfds', opts.pageSize)
  const eventfds: Json[] = []
  for (const e of eventfdList) eventfds.push(await getJson(app, `/v1/eventfds/${e.fd}`))
  return { devices, eventfdList, eventfds, host: await getJson(app, '/v1/host'), parents: await getJson(app, '/v1/parents') }
}
