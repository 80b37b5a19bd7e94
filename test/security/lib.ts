// Shared helpers for the security tests (not a test file itself): an app with tokens,
// listening on a real socket, and plain HTTP requests that send the path exactly as written.
import http from 'node:http'
import { buildApp, type AppOptions } from '../../src/app.ts'

export const ADMIN = 'admin-token-0123456789abcdef'

interface Tap { teardown: (fn: () => unknown) => void }

export interface Token { token: string, id: string }

/**
 * An app with authentication on, listening on 127.0.0.1. The overload guard is off: a loaded
 * machine must not turn these answers into 503s.
 */
export async function secured (t: Tap, opts: Partial<AppOptions> = {}) {
  const app = await buildApp({ db: ':memory:', hostVectors: 64, adminToken: ADMIN, maxEventLoopDelayMs: 0, ...opts })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  const port = address.port
  const token = async (tenant: string): Promise<Token> => {
    const res = await app.inject({ method: 'POST', url: '/v1/admin/tokens', headers: { authorization: `Bearer ${ADMIN}` }, payload: { tenant } })
    if (res.statusCode !== 201) throw new Error(res.body)
    return { token: res.json().token, id: res.json().id }
  }
  /** app.inject with a bearer token. */
  const as = (tok: string) => async (method: string, url: string, payload?: unknown) =>
    await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${tok}` }, ...(payload !== undefined ? { payload: payload as object } : {}) })
  return { app, port, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, token, as }
}

export interface RawResponse { status: number, headers: http.IncomingHttpHeaders, body: string }

/** One HTTP/1.1 request whose path goes on the wire as written (no URL normalisation). */
export async function request (port: number, method: string, path: string, opts: { headers?: Record<string, string>, body?: string, agent?: http.Agent, headersOnly?: boolean } = {}): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      // A 200 event stream never ends: its status and headers are the answer.
      if (opts.headersOnly === true && res.headers['content-type'] === 'text/event-stream') {
        res.destroy()
        return resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' })
      }
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

export async function until (cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
