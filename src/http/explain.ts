/**
 * One readable sentence for a value its schema rejected: where, what is allowed, what came.
 *
 * The validators (ajv for HTTP, TypeBox's compiler for the WebSocket) decide whether a value
 * is valid; their own messages ("must be equal to constant" five times, "Expected union
 * value") do not say what is allowed. So, once a value is known to be invalid, this walks the
 * same JSON Schema beside the value and names the first thing wrong, the way the CLI's own
 * checks do: `params.index must be one of "intx", "msi", "msix", "err", "req" or an integer
 * from 0 to 4, not "msi-x"`. Unknown fields come first, by name, since a typo ("fd" for "fds")
 * otherwise shows up as a missing required field.
 *
 * Only the keywords our schemas use are walked; anything else yields null and the caller
 * keeps the validator's own message.
 */

type Schema = Record<string, any>

export interface ExplainOptions {
  /**
   * Path parameters and query strings are text on the wire and coerced before validation:
   * "3" there satisfies an integer.
   */
  coerce?: boolean
  /**
   * The schema a `$ref` names (routes refer to their bodies by $id: components.ts). Without
   * it, or when it finds nothing, a `$ref` yields null like any keyword not walked.
   */
  resolve?: (ref: string) => Schema | undefined
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

const kind = (v: unknown): string =>
  v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'a string' : typeof v === 'boolean' ? 'a boolean' : 'a number'

/** Every `const` a union allows, flattening nested unions; null when a branch is not a const. */
function constants (s: Schema): unknown[] | null {
  if ('const' in s) return [s.const]
  if (Array.isArray(s.enum)) return s.enum
  if (!Array.isArray(s.anyOf)) return null
  const out: unknown[] = []
  for (const b of s.anyOf) {
    const c = constants(b)
    if (c === null) return null
    out.push(...c)
  }
  return out
}

const list = (items: string[], last = 'or'): string =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`

/** What a schema allows, in a few words ("an integer from 0 to 2048", "one of ..."). */
function allowed (s: Schema): string {
  const consts = constants(s)
  if (consts !== null) return consts.length === 1 ? show(consts[0]) : `one of ${list(consts.map(show))}`
  if (Array.isArray(s.anyOf)) {
    // A mixed union: its literals, then what its other branches take.
    const lits: string[] = []
    const others: string[] = []
    for (const b of s.anyOf) {
      const c = constants(b)
      if (c !== null) lits.push(...c.map(show))
      else others.push(allowed(b))
    }
    if (lits.length > 0) return `one of ${list([...lits, ...others])}`
    return list(others)
  }
  switch (s.type) {
    case 'integer':
    case 'number': {
      const what = s.type === 'integer' ? 'an integer' : 'a number'
      const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined)
      const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : undefined)
      if (lo !== undefined && hi !== undefined) return `${what} from ${lo} to ${hi}`
      if (lo !== undefined) return `${what} of at least ${lo}`
      if (hi !== undefined) return `${what} of at most ${hi}`
      return what
    }
    case 'string': {
      if (s.pattern === '^(0|[1-9][0-9]{0,9})$') return 'a decimal number'
      const n = s.maxLength !== undefined ? ` of ${s.minLength ?? 0} to ${s.maxLength} characters` : s.minLength !== undefined ? ` of at least ${s.minLength} characters` : ''
      return `a string${n}`
    }
    case 'boolean': return 'true or false'
    case 'null': return 'null'
    case 'array': return s.maxItems !== undefined ? `an array of at most ${s.maxItems} items` : 'an array'
    case 'object': {
      const fields = Object.keys(s.properties ?? {})
      return fields.length > 0 ? `a JSON object (its fields: ${fields.join(', ')})` : 'a JSON object'
    }
  }
  return typeof s.description === 'string' ? s.description : 'a valid value'
}

const DECIMAL = /^-?(0|[1-9][0-9]*)$/

function typeMatches (s: Schema, v: unknown, o: ExplainOptions): boolean {
  switch (s.type) {
    case 'integer': return (typeof v === 'number' && Number.isInteger(v)) || (o.coerce === true && typeof v === 'string' && DECIMAL.test(v))
    case 'number': return typeof v === 'number' || (o.coerce === true && typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)))
    case 'string': return typeof v === 'string'
    case 'boolean': return typeof v === 'boolean' || (o.coerce === true && (v === 'true' || v === 'false'))
    case 'null': return v === null
    case 'array': return Array.isArray(v)
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v)
  }
  return true
}

const child = (at: string, key: string | number): string =>
  typeof key === 'number' ? `${at}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`

/** The first thing wrong with `v` under `s`, as a sentence; null when the walk finds nothing. */
export function explain (s: Schema, v: unknown, at: string, o: ExplainOptions = {}): string | null {
  if (typeof s.$ref === 'string') {
    const target = o.resolve?.(s.$ref)
    return target === undefined ? null : explain(target, v, at, o)
  }
  if (Array.isArray(s.anyOf)) return explainUnion(s, v, at, o)
  if ('const' in s) return v === s.const || (o.coerce === true && String(s.const) === v) ? null : `${at} must be ${show(s.const)}, not ${show(v)}`
  if (Array.isArray(s.enum)) return s.enum.includes(v) ? null : `${at} must be one of ${list(s.enum.map(show))}, not ${show(v)}`
  if (s.type !== undefined && !typeMatches(s, v, o)) {
    // Text on the wire (params, query) is only ever a string: show what came, not its kind.
    const came = o.coerce === true && typeof v === 'string' ? show(v) : `${kind(v)}${(typeof v === 'object' && v !== null) || v === undefined ? '' : ` (${show(v)})`}`
    return `${at} must be ${allowed(s)}, not ${came}`
  }
  switch (s.type) {
    case 'integer':
    case 'number': {
      const n = Number(v)
      const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -Infinity)
      const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : Infinity)
      return n < lo || n > hi ? `${at} must be ${allowed(s)}, not ${show(v)}` : null
    }
    case 'string': {
      const str = v as string
      if ((s.minLength !== undefined && str.length < s.minLength) || (s.maxLength !== undefined && str.length > s.maxLength) ||
          (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(str))) return `${at} must be ${allowed(s)}, not ${show(v)}`
      return null
    }
    case 'array': {
      const arr = v as unknown[]
      if (s.maxItems !== undefined && arr.length > s.maxItems) return `${at} must have at most ${s.maxItems} items, not ${arr.length}`
      if (s.minItems !== undefined && arr.length < s.minItems) return `${at} must have at least ${s.minItems} items, not ${arr.length}`
      if (s.items !== undefined) {
        for (let i = 0; i < arr.length; i++) {
          const e = explain(s.items, arr[i], child(at, i), o)
          if (e !== null) return e
        }
      }
      return null
    }
    case 'object': return explainObject(s, v as Record<string, unknown>, at, o)
  }
  return null
}

function explainObject (s: Schema, v: Record<string, unknown>, at: string, o: ExplainOptions): string | null {
  const props: Schema = s.properties ?? {}
  const names = Object.keys(props)
  if (s.additionalProperties === false) {
    const unknown = Object.keys(v).filter((k) => !(k in props))
    if (unknown.length > 0) {
      return `${at} has ${unknown.length === 1 ? 'an unknown field' : 'unknown fields'} ${list(unknown.map(show))}; ` +
        (names.length > 0 ? `it takes ${list(names.map(show), 'and')}` : 'it takes none')
    }
  }
  for (const r of (s.required ?? []) as string[]) {
    if (!(r in v)) return `${at} is missing the required field ${show(r)}`
  }
  for (const k of names) {
    if (!(k in v)) continue
    const e = explain(props[k], v[k], child(at, k), o)
    if (e !== null) return e
  }
  return null
}

function explainUnion (s: Schema, v: unknown, at: string, o: ExplainOptions): string | null {
  const branches: Schema[] = s.anyOf
  if (branches.some((b) => explain(b, v, at, o) === null)) return null
  // Objects told apart by a literal field (the WebSocket's `op`, a data `type`): name the
  // branch the value chose, or say which values that field takes.
  const tag = discriminator(branches)
  if (tag !== null && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const value = (v as Record<string, unknown>)[tag]
    const chosen = branches.find((b) => b.properties[tag].const === value)
    if (chosen !== undefined) return explain(chosen, v, at, o)
    const tags = branches.map((b) => show(b.properties[tag].const))
    return value === undefined
      ? `${at} is missing the required field ${show(tag)} (one of ${list(tags)})`
      : `${child(at, tag)} must be one of ${list(tags)}, not ${show(value)}`
  }
  // One structured branch of the value's own kind (an object beside literals): its sentence is the useful one.
  const sameKind = branches.filter((b) => (b.type === 'object' || b.type === 'array') && typeMatches(b, v, o))
  if (sameKind.length === 1) return explain(sameKind[0], v, at, o)
  return `${at} must be ${allowed(s)}, not ${show(v)}`
}

/** A property every branch has as a distinct `const`, if there is one. */
function discriminator (branches: Schema[]): string | null {
  if (branches.length < 2 || !branches.every((b) => b.type === 'object' && b.properties !== undefined)) return null
  for (const key of Object.keys(branches[0].properties)) {
    const seen = new Set<unknown>()
    if (branches.every((b) => b.properties[key] !== undefined && 'const' in b.properties[key] && !seen.has(b.properties[key].const) && seen.add(b.properties[key].const))) return key
  }
  return null
}
