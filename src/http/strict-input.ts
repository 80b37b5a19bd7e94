import type { FastifyRequest } from 'fastify'
import { isAscii } from 'node:buffer'
import { HttpProblem } from './problem.ts'

// What the schemas cannot say about input: integers in the URL are written one way only,
// bodies are UTF-8 JSON, and strings are Unicode.

/** Canonical decimal: no sign but a minus, no leading zero, no exponent, point or hex; not -0. */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/

interface SchemaNode { type?: unknown, anyOf?: SchemaNode[], properties?: Record<string, SchemaNode> }

/** An integer, or a union of integers (and null): the URL writes it as canonical decimal. */
function isIntegerSchema (s: SchemaNode): boolean {
  if (s.type === 'integer') return true
  return Array.isArray(s.anyOf) && s.anyOf.some((x) => x.type === 'integer') && s.anyOf.every((x) => x.type === 'integer' || x.type === 'null')
}

type Validator = ((data: unknown) => unknown) & { errors?: unknown }

/**
 * Wraps the validator of a path or query schema: before the (coercing) schema check, every
 * integer field must be canonical decimal text, so that `0x1`, `1e0`, `+1`, `01`, `1.0` and
 * `-0` are refused rather than read as 1 or 0.
 */
export function canonicalIntegers (schema: SchemaNode | undefined, validate: Validator): Validator {
  const fields = Object.entries(schema?.properties ?? {}).filter(([, s]) => isIntegerSchema(s)).map(([name]) => name)
  if (fields.length === 0) return validate
  const wrapped: Validator = (data: unknown) => {
    if (data !== null && typeof data === 'object') {
      for (const name of fields) {
        const raw = (data as Record<string, unknown>)[name]
        const texts = Array.isArray(raw) ? raw : [raw]
        for (const text of texts) {
          if (typeof text === 'string' && !CANONICAL_INTEGER.test(text)) {
            wrapped.errors = [{ instancePath: `/${name}`, keyword: 'format', params: {}, schemaPath: '', message: `must be an integer in canonical decimal, not "${text.slice(0, 32)}"` }]
            return false
          }
        }
      }
    }
    const ok = validate(data)
    wrapped.errors = validate.errors
    return ok
  }
  return wrapped
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when absent. */
function charsetOf (contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=')
    if (eq < 0) continue
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue
    return param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase()
  }
  return undefined
}

/** JSON path of the first string (value or key) holding a lone UTF-16 surrogate, or null. */
export function illFormedAt (value: unknown, path = ''): string | null {
  if (typeof value === 'string') return /\p{Cs}/u.test(value) ? (path || '/') : null
  if (value === null || typeof value !== 'object') return null
  for (const [key, v] of Object.entries(value)) {
    const at = `${path}/${key}`
    if (/\p{Cs}/u.test(key)) return at
    const found = illFormedAt(v, at)
    if (found !== null) return found
  }
  return null
}

/**
 * A JSON request body: UTF-8 only (another charset is 415), well-formed UTF-8 bytes, and no
 * string that is not Unicode (a lone surrogate written as a \u escape): both 400. An empty
 * body is "no body".
 */
export function parseJsonBody (req: FastifyRequest, body: Buffer): unknown {
  const type = req.headers['content-type']
  // The usual header has no parameters: no need to look for a charset in it.
  const charset = type === 'application/json' ? undefined : charsetOf(type)
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpProblem(415, 'unsupported-charset', `send JSON in UTF-8, not ${charset.slice(0, 40)}`)
  }
  if (body.length === 0) return undefined
  // ASCII (nearly every body) is valid UTF-8 without a BOM: one fast check, then a one-byte
  // string, instead of the validating decoder, which costs microseconds even on short bodies.
  let text: string
  if (isAscii(body)) text = body.toString('latin1')
  else {
    try {
      text = utf8.decode(body)
    } catch {
      throw new HttpProblem(400, 'invalid-utf8', 'the body is not valid UTF-8')
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const e = err as Error & { statusCode?: number, code?: string }
    e.statusCode = 400
    e.code = 'FST_ERR_CTP_INVALID_JSON_BODY'
    throw e
  }
  // Only a \u escape can make a lone surrogate: the decoder above refuses them as bytes.
  if (text.includes('\\u')) {
    const at = illFormedAt(value)
    if (at !== null) throw new HttpProblem(400, 'invalid-unicode', `${at}: a lone UTF-16 surrogate is not a Unicode string`)
  }
  return value
}
