// A small fetch wrapper for the virq HTTP API: JSON in, JSON out, problem+json as errors.

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
export function exitCodeOf (problem: Problem): number {
  const n = problem.errnoValue
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 256 ? n : 1
}

export function describeProblem (p: Problem): string {
  const what = p.detail ?? p.title ?? `HTTP ${p.status}`
  const tags = [p.errno, p.reason !== undefined ? `reason ${p.reason}` : undefined, `HTTP ${p.status}`].filter((x) => x !== undefined)
  return `${what} (${tags.join(', ')})`
}

export interface Response<T> {
  status: number
  headers: Headers
  /** The parsed JSON body; undefined for 204 and other empty answers. */
  body: T | undefined
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | boolean | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
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

  /** Sends the request; non-2xx answers throw ProblemError, network failures CliError. */
  async raw (method: string, path: string, opts: RequestOptions = {}): Promise<globalThis.Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...opts.headers }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    let body: string | undefined
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(opts.body)
    }
    const url = this.url(path, opts.query)
    let res: globalThis.Response
    try {
      res = await fetch(url, { method, headers, body, signal: opts.signal })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      throw new CliError(`cannot reach virq at ${this.base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
    if (res.ok) return res
    const text = await res.text()
    let problem: Problem
    try {
      const parsed = JSON.parse(text) as Partial<Problem>
      problem = { ...parsed, status: typeof parsed.status === 'number' ? parsed.status : res.status }
    } catch {
      problem = { status: res.status, title: res.statusText, detail: text.trim() === '' ? `${method} ${url.pathname}: HTTP ${res.status} ${res.statusText}` : text.trim() }
    }
    throw new ProblemError(problem)
  }

  async request<T> (method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const res = await this.raw(method, path, opts)
    const text = await res.text()
    let body: T | undefined
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as T
      } catch {
        throw new CliError(`${method} ${path}: the server answered ${res.status} with a body that is not JSON`)
      }
    }
    return { status: res.status, headers: res.headers, body }
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
