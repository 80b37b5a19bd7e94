import * as http from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

// A small node:http client for the virq HTTP API: JSON in, JSON out, problem+json as errors.
// Not fetch: node loads undici on the first fetch (tens of ms), and its keep-alive socket kept
// a finished CLI process alive for about 0.2 s more (bench/README.md, "What bounds each figure", cli).

/** RFC 9457 problem details as virq sends them (src/http/problem.ts). */
export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  reason?: string
  errno?: string
  errnoValue?: number
  errors?: Array<{ path: string, message: string }>
  [key: string]: unknown
}

/** A failure the CLI reports on stderr and turns into an exit status. */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
  }
}

/** The server answered with an error status; `problem` is its body (or a stand-in for a non-JSON one). */
export class ProblemError extends CliError {
  constructor (readonly problem: Problem) {
    super(describeProblem(problem), exitCodeOf(problem))
  }
}

/** errno answers exit with the errno's number (22 EINVAL, 16 EBUSY, ...); everything else with 1. */
function exitCodeOf (problem: Problem): number {
  const n = problem.errnoValue
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 256 ? n : 1
}

function describeProblem (p: Problem): string {
  const what = p.detail ?? p.title ?? `HTTP ${p.status}`
  const tags = [p.errno, p.reason !== undefined ? `reason ${p.reason}` : undefined, `HTTP ${p.status}`].filter((x) => x !== undefined)
  return `${what} (${tags.join(', ')})`
}

export interface Response<T> {
  status: number
  headers: IncomingHttpHeaders
  /** The parsed JSON body; undefined for 204 and other empty answers. */
  body: T | undefined
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** The whole body of an answer as text; a connection dropped half-way is a CliError. */
async function readText (res: IncomingMessage, origin: string): Promise<string> {
  const chunks: Buffer[] = []
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer)
  } catch (err) {
    throw new CliError(`the connection to virq at ${origin} dropped: ${(err as { code?: string }).code ?? (err as Error).message}`)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export class Client {
  readonly base: URL
  /** Sent as `Authorization: Bearer`; kept out of every message the CLI prints. */
  private readonly token: string | undefined

  constructor (url: string, token?: string) {
    this.token = token === '' ? undefined : token
    try {
      this.base = new URL(url)
    } catch {
      throw new CliError(`--url: not a URL: ${url}`)
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new CliError(`--url: use http:// or https://, not ${url}`)
  }

  url (path: string, query: RequestOptions['query'] = {}): URL {
    const u = new URL(path.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base : new URL(`${this.base.href}/`))
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v))
    return u
  }

  /**
   * Sends the request and resolves with the answer as a Node stream (SSE readers and backup
   * iterate or pipe it); non-2xx answers throw ProblemError, network failures CliError, an
   * aborted `signal` its AbortError.
   */
  async raw (method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...opts.headers }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    let body: Buffer | undefined
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body))
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(body.length)
    }
    const url = this.url(path, opts.query)
    // https (and the TLS it pulls in) only when the URL asks for it.
    const { request } = url.protocol === 'https:' ? await import('node:https') : http
    let res: IncomingMessage
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        // agent: false: a socket of this request's own, sent with `Connection: close`, so no
        // socket outlives the answer and the process exits the moment its work is done.
        const req = request(url, { method, headers, agent: false, signal: opts.signal }, resolve)
        // Also errors after the answer (an abort while a stream is read): the reader sees those.
        req.on('error', reject)
        req.end(body)
      })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err
      throw new CliError(`cannot reach virq at ${this.base.origin}: ${(err as { code?: string }).code ?? (err as Error).message}`)
    }
    const status = res.statusCode ?? 0
    if (status >= 200 && status < 300) return res
    const text = await readText(res, this.base.origin)
    const statusText = res.statusMessage ?? ''
    let problem: Problem
    try {
      const parsed = JSON.parse(text) as Partial<Problem>
      problem = { ...parsed, status: typeof parsed.status === 'number' ? parsed.status : status }
    } catch {
      problem = { status, title: statusText, detail: text.trim() === '' ? `${method} ${url.pathname}: HTTP ${status} ${statusText}` : text.trim() }
    }
    throw new ProblemError(problem)
  }

  async request<T> (method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const res = await this.raw(method, path, opts)
    const text = await readText(res, this.base.origin)
    let body: T | undefined
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as T
      } catch {
        throw new CliError(`${method} ${path}: the server answered ${res.statusCode} with a body that is not JSON`)
      }
    }
    return { status: res.statusCode ?? 0, headers: res.headers, body }
  }

  async get<T> (path: string, opts?: RequestOptions): Promise<Response<T>> { return await this.request<T>('GET', path, opts) }
  async post<T> (path: string, opts?: RequestOptions): Promise<Response<T>> { return await this.request<T>('POST', path, opts) }
  async delete<T> (path: string, opts?: RequestOptions): Promise<Response<T>> { return await this.request<T>('DELETE', path, opts) }

  /** Every item of a paginated collection, following nextCursor. */
  async all<T> (path: string): Promise<T[]> {
    const items: T[] = []
    let cursor: string | undefined
    do {
      const page = (await this.get<{ items: T[], nextCursor?: string }>(path, { query: { limit: 1000, cursor } })).body
      if (page === undefined) break
      items.push(...page.items)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return items
  }
}

/** Path segment for an id typed by a user. */
export const seg = (s: string | number): string => encodeURIComponent(String(s))
