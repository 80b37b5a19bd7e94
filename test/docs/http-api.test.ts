import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ABIS } from '../../src/core/profiles.ts'
import { DRIVER_NAMES } from '../../src/core/drivers/ops.ts'
import { TEMPLATE_NAMES } from '../../src/core/templates.ts'
import { LOSS_REASONS, PROBLEM_TYPES } from '../../src/http/problem-types.ts'
import { TraceEntry } from '../../src/http/schemas-service.ts'
import { build } from '../helper.ts'

// docs/http-api.md stays honest: the routes it names exist, every route of the OpenAPI
// document is named in it, the problem reasons it names exist, and its links resolve.
//
// How the page is read:
// - Fenced code blocks are examples with concrete values (ids, numbers): the route and link
//   checks skip them. Their JSON answers' "reason" fields are still checked.
// - A route is a path beginning with /v1/ or one of the routes outside /v1 (/metrics,
//   /healthz, /readyz, /openapi.json, /docs, /ui, /problems), not preceded by a letter, a
//   dot or a slash (so docs/model.md and ../openapi/stream.md are not routes). `/v1` alone is
//   the base path, not a route. A method written just before it (`GET /metrics`) is checked
//   too; HEAD is GET's.
// - Parameters are written in braces, with any name: `/v1/devices/{id}` matches the
//   document's `/v1/devices/{id}` and would match `/v1/devices/{device}`. A concrete value
//   (`.../irqs/msix`) is not a route: write it in an example, or after `...`.
// - Routes the document leaves out (hide: true: /openapi.json, /docs, /problems, /ui, ...)
//   must be routes the app registers.
// - Every operation of the document must be named with its method (`DELETE /v1/devices/{id}`),
//   so that a new route, or a new method on a path, fails until the page says what it does.
// - A problem reason is any inline-code kebab-case word (`bad-fd`): it must be a problem or
//   loss reason of src/http/problem-types.ts, unless it is another name the API uses in that
//   form (an abi, a driver, a template, a trace op).
// - A link is a relative path to a file of the repository: no URL, no absolute path, nothing
//   outside the repository; a #fragment must be a heading of the markdown file it names.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const PAGE = 'docs/http-api.md'

/** The page without its fenced code blocks (lines kept, so nothing joins across a block). */
export function prose (markdown: string): string {
  let fenced = false
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced
      return ''
    }
    return fenced ? '' : line
  }).join('\n')
}

/** The fenced code blocks' text. */
function fences (markdown: string): string {
  let fenced = false
  const out: string[] = []
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    else if (fenced) out.push(line)
  }
  return out.join('\n')
}

export interface RouteMention { method: string | null, path: string }

const ROUTE = /(?:\b(GET|POST|PUT|PATCH|DELETE|HEAD)\s+)?(?<![A-Za-z0-9_./-])(\/(?:v1|metrics|healthz|readyz|openapi\.json|docs|ui|problems)(?:\/[A-Za-z0-9{}_.-]+)*)/g

/** Every route the text names, with its method when one is written before it. */
export function routeMentions (text: string): RouteMention[] {
  const out: RouteMention[] = []
  for (const m of text.matchAll(ROUTE)) {
    const path = m[2].replace(/\.+$/, '')
    if (path === '/v1') continue
    out.push({ method: m[1] === 'HEAD' ? 'GET' : m[1] ?? null, path })
  }
  return out
}

/** A path with its parameters' names taken out: `/v1/devices/{id}` -> `/v1/devices/{}`. */
export const normalise = (path: string): string => path.replace(/\{[^}/]*\}/g, '{}')

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')
const page = read(PAGE)
const text = prose(page)
const doc = JSON.parse(read('openapi/openapi.json')) as { paths: Record<string, Record<string, unknown>> }

/** The document's operations: normalised path -> its methods, upper-case. */
const operations = new Map<string, Set<string>>()
for (const [path, ops] of Object.entries(doc.paths)) {
  operations.set(normalise(path), new Set(Object.keys(ops).map((m) => m.toUpperCase())))
}

t.test('http-api.md: every route it names exists (in the OpenAPI document, or registered and hidden from it)', async (t) => {
  const app = await build(t)
  await app.ready()
  const mentions = routeMentions(text)
  t.ok(mentions.length > 80, `the page names routes (${mentions.length} mentions)`)
  const wrong: string[] = []
  for (const { method, path } of mentions) {
    const where = `${method ?? ''} ${path}`.trim()
    const methods = operations.get(normalise(path))
    if (methods !== undefined) {
      if (method !== null && !methods.has(method)) wrong.push(`${where}: the document has ${[...methods].join(', ')} only`)
      continue
    }
    // Not in the document: a route the app serves but hides (its parameters in fastify's form).
    const url = path.replace(/\{([^}/]*)\}/g, (_, name: string) => `:${name === '' ? 'p' : name}`)
    if (!app.hasRoute({ method: method ?? 'GET', url })) wrong.push(`${where}: neither in openapi/openapi.json nor a route of the app`)
  }
  t.same(wrong, [], 'routes named in docs/http-api.md that do not exist')
})

t.test('http-api.md: every operation of the OpenAPI document is named in it', async (t) => {
  const named = new Set(routeMentions(text).filter((m) => m.method !== null).map((m) => `${m.method} ${normalise(m.path)}`))
  const missing: string[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
      if (!named.has(`${method} ${normalise(path)}`)) missing.push(`${method} ${path}`)
    }
  }
  t.ok(operations.size > 30, `the document has its paths (${operations.size})`)
  t.same(missing, [], 'operations docs/http-api.md never names as `METHOD /path` (document the new route there)')
})

t.test('http-api.md: every problem reason it names exists', async (t) => {
  const reasons = new Set([...Object.keys(PROBLEM_TYPES), ...Object.keys(LOSS_REASONS)])
  const traceOps = (TraceEntry.properties.op.anyOf as Array<{ const: string }>).map((s) => s.const)
  const otherNames = new Set<string>([...ABIS, ...DRIVER_NAMES, ...TEMPLATE_NAMES, ...traceOps])
  const kebab = /^[a-z][a-z0-9]*(?:-[a-z0-9.]+)+$/
  const inline = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]).filter((w) => kebab.test(w))
  t.ok(inline.filter((w) => reasons.has(w)).length > 40, 'the page names reasons')
  t.same(inline.filter((w) => !reasons.has(w) && !otherNames.has(w)), [],
    'inline-code kebab-case words that are no problem reason, loss reason or other known name')
  // The examples' answers: every "reason" in them.
  const answered = [...fences(page).matchAll(/"reason":\s*"([^"]+)"/g)].map((m) => m[1])
  t.ok(answered.length > 0, 'the examples show reasons')
  t.same(answered.filter((r) => !reasons.has(r)), [], '"reason" values in the examples that are no reason')
})

/** GitHub's anchor for each heading of a markdown file (duplicates get -1, -2, ...). */
export function anchors (markdown: string): Set<string> {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of prose(markdown).split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line)
    if (m === null) continue
    const base = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

t.test('http-api.md: every link resolves to a file of the repository (and its heading)', async (t) => {
  const links = [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1])
  t.ok(links.length > 10, `the page has links (${links.length})`)
  const broken: string[] = []
  for (const link of links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('/')) {
      broken.push(`${link}: links only to files of the repository, by a relative path`)
      continue
    }
    const [file, fragment] = link.split('#', 2)
    const target = file === '' ? join(ROOT, PAGE) : resolve(ROOT, dirname(PAGE), file)
    if (relative(ROOT, target).startsWith('..')) {
      broken.push(`${link}: outside the repository`)
      continue
    }
    if (!existsSync(target)) {
      broken.push(`${link}: no such file`)
      continue
    }
    if (fragment !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(fragment)) {
      broken.push(`${link}: no heading #${fragment} in ${relative(ROOT, target)}`)
    }
  }
  t.same(broken, [], 'links in docs/http-api.md that do not resolve')
})

t.test('the page reader: routes, parameters and anchors', async (t) => {
  t.same(routeMentions('`GET /metrics`, see docs/model.md and ../openapi/stream.md; under `/v1`, `HEAD /v1/devices/{id}`.'), [
    { method: 'GET', path: '/metrics' },
    { method: 'GET', path: '/v1/devices/{id}' }
  ])
  t.same(routeMentions('at /v1/host. Or `/v1/devices/{id}/rates?seconds=60`'), [
    { method: null, path: '/v1/host' },
    { method: null, path: '/v1/devices/{id}/rates' }
  ])
  t.equal(normalise('/v1/devices/{device}/irqs/{index}'), '/v1/devices/{}/irqs/{}')
  t.same(prose('a\n```\nGET /v1/nope\n```\nb'), 'a\n\n\n\nb')
  t.same([...anchors('# A b\n## `GET /v1/x` (SSE)\n## A b\n```\n# not a heading\n```')], ['a-b', 'get-v1x-sse', 'a-b-1'])
})
