import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import { ERRNO, VfioError, type ErrnoName } from '../core/errno.ts'
import { storageFault } from '../store/faults.ts'
import { explain } from './explain.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A raw ioctl route: its model errors also carry `result: -1`. */
    rawIoctl?: boolean
  }
}

/** An HTTP-level rejection that is not a model errno: not found, precondition, bad shape. */
export class HttpProblem extends Error {
  constructor (readonly status: number, readonly reason: string, detail: string) {
    super(detail)
  }
}

export const notFound = (what: string, id: string | number): HttpProblem =>
  new HttpProblem(404, `${what}-not-found`, `no ${what} ${id}`)

const ERRNO_STATUS: Partial<Record<ErrnoName, number>> = { EBUSY: 409, EAGAIN: 409, ENOSPC: 507 }
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage'
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  reason: string
  errno?: string
  errnoValue?: number
  result?: number
  /** The request failed but changed the device (the kernel's partial effects); `version` is its new version. */
  stateChanged?: boolean
  version?: number
  errors?: Array<{ path: string, message: string }>
}

function body (status: number, reason: string, detail: string, req: FastifyRequest): ProblemBody {
  return { type: `/problems/${reason}`, title: TITLES[status] ?? 'Error', status, detail, instance: req.url, reason }
}

const PARTS: Record<string, { schema: string, data: (req: FastifyRequest) => unknown, at: string, coerce: boolean }> = {
  body: { schema: 'body', data: (req) => req.body, at: 'body', coerce: false },
  params: { schema: 'params', data: (req) => req.params, at: 'params', coerce: true },
  querystring: { schema: 'querystring', data: (req) => req.query, at: 'query', coerce: true }
}

/** A readable sentence for a request part that failed validation (explain.ts), or null. */
function explainRequest (req: FastifyRequest, context: string | undefined): string | null {
  const part = context !== undefined ? PARTS[context] : undefined
  const schema = part !== undefined ? (req.routeOptions.schema as Record<string, unknown> | undefined)?.[part.schema] : undefined
  if (part === undefined || schema === undefined || schema === null || typeof schema !== 'object') return null
  try {
    // A body names its schema by $id (components.ts): the walk follows it there.
    const resolve = (ref: string) => req.server.getSchema(ref.replace(/#.*$/, '')) as Record<string, unknown> | undefined
    return explain(schema, part.data(req), part.at, { coerce: part.coerce, resolve })
  } catch {
    return null
  }
}

/** Maps any error to RFC 9457 problem details; only our own faults are 5xx. */
export function toProblem (err: unknown, req: FastifyRequest): ProblemBody {
  if (err instanceof VfioError) {
    const p = body(ERRNO_STATUS[err.errno] ?? 400, err.reason, err.message, req)
    p.errno = err.errno
    p.errnoValue = ERRNO[err.errno]
    if (req.routeOptions.config?.rawIoctl === true) p.result = -1
    if (err.changedVersion !== undefined) {
      p.stateChanged = true
      p.version = err.changedVersion
      p.detail += `; the device still changed (its partial effects, as the kernel's): it is now at version ${err.changedVersion}`
    }
    return p
  }
  if (err instanceof HttpProblem) return body(err.status, err.reason, err.message, req)
  const e = err as FastifyError
  if (e.validation !== undefined) {
    const errors = e.validation.map((v) => ({ path: `${e.validationContext ?? ''}${v.instancePath}`, message: v.message ?? 'invalid' }))
    // The validator's own words say what failed, not what is allowed: a sentence from the schema does.
    const sentence = explainRequest(req, e.validationContext)
    if (sentence !== null) errors.splice(0, errors.length, { path: errors[0]?.path ?? String(e.validationContext), message: sentence })
    const p = body(400, 'invalid-request', sentence ?? errors.map((x) => `${x.path || e.validationContext}: ${x.message}`).join('; '), req)
    p.errors = errors
    return p
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return body(413, 'body-too-large', 'the request body is larger than the limit', req)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return body(415, 'unsupported-media-type', 'send application/json', req)
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return body(400, 'malformed-json', e.message, req)
  }
  if (e instanceof SyntaxError) return body(400, 'malformed-json', e.message, req)
  const fault = storageFault(err)
  if (fault !== null) {
    return fault.full
      ? body(507, 'storage-full', `the database has no room to grow (${fault.code}); nothing was changed; retry once space is freed`, req)
      : body(503, 'storage-unavailable', `the database cannot be written (${fault.code}: ${fault.message}); nothing was changed; retry later`, req)
  }
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500
  if (status < 500) return body(status, 'bad-request', e.message, req)
  return body(500, 'internal', 'an internal error occurred; it has been logged', req)
}

/** Seconds a client should wait before retrying after a storage fault (503, 507). */
export const STORAGE_RETRY_AFTER_S = 5

/** Whether a problem is a storage fault, which a retry may get past (it carries Retry-After). */
export const isStorageProblem = (p: ProblemBody): boolean => p.reason === 'storage-unavailable' || p.reason === 'storage-full'

export function sendProblem (reply: FastifyReply, p: Omit<ProblemBody, 'instance'> & { instance?: string }): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p)
}

/**
 * Errors Node's HTTP parser raises before there is a request (a request line that is not
 * HTTP, a client too slow to send its headers): problem+json too, then the connection closes.
 */
export function clientError (err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, detail] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'request-timeout', 'the request was not sent in time']
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request headers are larger than the limit']
      : [400, 'bad-request-line', 'the request is not valid HTTP/1.1']
  const title = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
  const body = JSON.stringify({ type: `/problems/${reason}`, title, status, detail, reason })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** No route has this method and path: the not-found handler of the app and of the /docs instance. */
export function routeNotFound (req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, {
    type: '/problems/route-not-found', title: 'Not Found', status: 404, detail: `no route ${req.method} ${req.url}`, instance: req.url, reason: 'route-not-found'
  })
}
