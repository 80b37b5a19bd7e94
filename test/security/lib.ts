// Shared helpers for the security tests (not a test file itself): an app with tokens,
// listening on a real socket, and plain HTTP requests that send the path exactly as written.
import http from 'node:http'
import { type AppOptions, build, injectAs, listen, type Tap } from '../helper.ts'

export const ADMIN = 'admin-token-0123456789abcdef'

export interface Token { token: string, id: string }

/**
 * An app with authentication on, listening on 127.0.0.1. The overload guard is off: a loaded
 * machine must not turn these answers into 503s.
 */
export async function secured (t: Tap, opts: Partial<AppOptions> = {}) {
  const app = await build(t, { hostVectors: 64, adminToken: ADMIN, ...opts })
  const { port, base, ws } = await listen(app)
  const token = async (tenant: string): Promise<Token> => {
    const res = await injectAs(app, ADMIN, 'POST', '/v1/admin/tokens', { tenant })
    if (res.statusCode !== 201) throw new Error(res.body)
    return { token: res.json().token, id: res.json().id }
  }
  /** app.inject with a bearer token. */
  const as = (tok: string) => async (method: string, url: string, payload?: unknown) => await injectAs(app, tok, method, url, payload)
  return { app, port, base, ws, token, as }
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
