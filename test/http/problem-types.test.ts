import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { LOSS_REASONS, PROBLEM_TYPES } from '../../src/http/problem-types.ts'
import { LOST_REASONS } from '../../src/core/counters.ts'
import { build } from '../helper.ts'
import { problemsMarkdown } from '../../scripts/problems-doc.ts'

// Every problem reason the code can answer is explained at /problems/{reason}, and the
// catalogue explains nothing the code never says.

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** The reasons written in the code: each way a reason is given, read off the source text. */
function reasonsInCode (): Set<string> {
  const found = new Set<string>()
  const patterns: Array<[RegExp, (m: RegExpMatchArray) => string[]]> = [
    [/fail\('E[A-Z]+', '([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/fail\('E[A-Z]+', [^']*\? '([a-z0-9.-]+)' : '([a-z0-9.-]+)'/g, (m) => [m[1], m[2]]],
    [/fail\('E[A-Z]+', `\$\{action\}(-[a-z-]+)`/g, (m) => [`mask${m[1]}`, `unmask${m[1]}`]],
    [/HttpProblem\(\d+, '([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/VfioUserError\(\d+, '([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/FireError\('([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/reason: '([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/body\(\d+, '([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/\berror\('([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/\bclose\('([a-z0-9.-]+)'/g, (m) => [m[1]]],
    [/\[\d+, '([a-z0-9-]+)', '/g, (m) => [m[1]]],
    [/notFound\('([a-z]+)'/g, (m) => [`${m[1]}-not-found`]],
    [/within\('([a-z-]+)'/g, (m) => [`tenant-${m[1]}-limit`, `instance-${m[1]}-limit`]]
  ]
  for (const file of sources('src')) {
    if (file.endsWith('problem-types.ts')) continue
    const text = readFileSync(file, 'utf8')
    for (const [re, names] of patterns) for (const m of text.matchAll(re)) for (const n of names(m)) found.add(n)
  }
  return found
}

t.test('problem types: every reason in the code is explained', async (t) => {
  const inCode = reasonsInCode()
  t.ok(inCode.size > 60, `the scan finds the reasons (${inCode.size})`)
  const missing = [...inCode].filter((r) => !(r in PROBLEM_TYPES) && !(r in LOSS_REASONS) && r !== 'eventfd-deleted')
  t.same(missing, [], 'reasons without an explanation in src/http/problem-types.ts')
})

t.test('problem types: every loss reason is explained', async (t) => {
  t.same(Object.keys(LOSS_REASONS).sort(), [...LOST_REASONS].sort())
})

t.test('problem types: /problems/{reason} answers a page, in HTML or JSON', async (t) => {
  const app = await build(t)
  for (const [reason, p] of Object.entries(PROBLEM_TYPES)) {
    const html = await app.inject({ method: 'GET', url: `/problems/${reason}` })
    t.equal(html.statusCode, 200, reason)
    t.match(html.headers['content-type'], /^text\/html/)
    t.ok(html.body.includes(p.text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)), `${reason}: the page says what it means`)
    const json = await app.inject({ method: 'GET', url: `/problems/${reason}`, headers: { accept: 'application/json' } })
    t.same(json.json(), { reason, ...p })
  }
  const index = await app.inject({ method: 'GET', url: '/problems' })
  for (const reason of [...Object.keys(PROBLEM_TYPES), ...Object.keys(LOSS_REASONS)]) t.ok(index.body.includes(`<code>${reason}</code>`), `the index lists ${reason}`)
  const unknown = await app.inject({ method: 'GET', url: '/problems/no-such-thing' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().type, '/problems/route-not-found')
})

t.test('problem types: a real problem\'s type URI answers its page', async (t) => {
  const app = await build(t)
  const p = (await app.inject({ method: 'GET', url: '/v1/devices/nope' })).json()
  const page = await app.inject({ method: 'GET', url: p.type })
  t.equal(page.statusCode, 200)
  t.match(page.body, /No device of yours has this id/)
})

t.test('the API reference: its version is the package\'s, and the stream format it links is served', async (t) => {
  const app = await build(t)
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  t.equal(doc.info.version, JSON.parse(readFileSync('package.json', 'utf8')).version)
  t.match(doc.info.description, /\/docs\/stream\.md/)
  const md = await app.inject({ method: 'GET', url: '/docs/stream.md' })
  t.equal(md.statusCode, 200)
  t.equal(md.body, readFileSync('openapi/stream.md', 'utf8'))
})

t.test('problem types: docs/problems.md is generated from the catalogue (npm run docs:problems)', async (t) => {
  t.equal(readFileSync('docs/problems.md', 'utf8'), problemsMarkdown())
})
