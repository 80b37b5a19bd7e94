// Authorisation follows the route the router matched, whatever way its path is written: every
// registered route, reached through encoded and mangled variants of its path, as anonymous, as
// a tenant and as the admin, never lets the wrong caller in.
import http from 'node:http'
import t from 'tap'

import { ADMIN, request, secured } from './lib.ts'

interface Route { method: string, path: string }

/** Every registered route, read from the router's own tree (app.printRoutes). */
function routesOf (tree: string): Route[] {
  const out: Route[] = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([^)]*)\)$/.exec(line)
    if (m === null) continue
    const depth = m[1].length / 4
    const path = (depth > 0 ? stack[depth - 1] : '') + m[2]
    stack[depth] = path
    stack.length = depth + 1
    for (const method of m[3].split(', ')) if (method !== '-') out.push({ method, path })
  }
  return out
}

/**
 * Ways of writing a route's `path` (a template: `:param` segments are left as they are, to be
 * filled in afterwards) that a router may read as the same route, or as none.
 */
function variants (path: string): string[] {
  const inParam = (i: number): boolean => path.lastIndexOf(':', i) > path.lastIndexOf('/', i) || path[i] === '*'
  const out = new Set<string>()
  const hex = (c: string, upper: boolean): string => {
    const h = c.charCodeAt(0).toString(16).padStart(2, '0')
    return `%${upper ? h.toUpperCase() : h.toLowerCase()}`
  }
  const at = (i: number, text: string): string => path.slice(0, i) + text + path.slice(i + 1)
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '/') {
      for (const s of ['%2F', '%2f', '//', '/./', '\\']) out.add(at(i, s))
      continue
    }
    if (inParam(i)) continue
    // Each character percent-encoded, in lower- or upper-case hex by turns (both cases of every
    // character are covered by the whole-path encodings below).
    out.add(at(i, hex(path[i], i % 2 === 0)))
  }
  const encodeAll = (upper: boolean, double: boolean): string =>
    path.replace(/[^/]/g, (c, i: number) => (inParam(i) ? c : double ? `%25${hex(c, upper).slice(1)}` : hex(c, upper)))
  for (const upper of [false, true]) for (const double of [false, true]) out.add(encodeAll(upper, double))
  for (const v of [
    `${path}/`, `${path}//`, `/${path}`, `//${path}`, `${path}/.`, `${path}/..`, `/x/..${path}`, `${path}%00`, `${path}%20`,
    `${path};`, `${path};x=1`, `${path}?x=1`, `${path}#x`, path.toUpperCase(), path.replace(/[a-z]/, (c) => c.toUpperCase()),
    path.replace('/', '/%2e/'), path.replace('/', '/%2E%2E/x/')
  ]) out.add(v)
  out.delete(path)
  return [...out]
}

// Thousands of raw-socket requests: give the file more than the default per-file timeout.
t.setTimeout(600_000)

type Who = 'anonymous' | 'tenant' | 'admin'
/** Who is to be let in: the route's kind, by the path it was declared with. */
const kindOf = (path: string): 'public' | 'admin' | 'tenant' =>
  /^\/(healthz|readyz|openapi\.json|docs|ui|problems)(\/|$)|^\/$/.test(path) ? 'public' : /^\/(v1\/admin\/|metrics$)/.test(path) ? 'admin' : 'tenant'
/** The only answers a caller who may not use the route can get (or a refusal before routing). */
const REFUSED = new Set<number | 'pre-route'>([401, 403, 404, 'pre-route'])

t.test('encoded paths: no variant of any route\'s path lets a caller in that the route refuses', async (t) => {
  const { app, port, token, as } = await secured(t)
  const tenant = await token('alpha')
  const victim = await token('victim')
  const dev = (await as(tenant.token)('POST', '/v1/devices', { msix: { tableSize: 8 } })).json().id as string
  const fd = (await as(tenant.token)('POST', '/v1/eventfds', {})).json().fd as number

  const routes = routesOf(app.printRoutes({ commonPrefix: false }))
  const paths = new Set(routes.map((r) => r.path))
  for (const p of ['/v1/admin/tokens', '/v1/admin/tokens/:id', '/metrics', '/v1/devices/:id/ioctl/set-irqs', '/v1/eventfds/:fd/read', '/v1/stream', '/healthz']) {
    t.ok(paths.has(p), `the walk finds ${p}`)
  }
  t.ok(routes.length >= 40, `${routes.length} routes (method, path) to walk`)

  const concrete = (route: string) => (path: string): string => path
    .replace(':id', route.startsWith('/v1/admin/') ? victim.id : dev).replace(':fd', String(fd)).replace(':index', 'msix').replace('*', 'x')
  const headers: Record<Who, Record<string, string>> = {
    anonymous: {},
    tenant: { authorization: `Bearer ${tenant.token}` },
    admin: { authorization: `Bearer ${ADMIN}` }
  }
  const bodyFor = (method: string, path: string): string | undefined => {
    if (method !== 'POST') return undefined
    return JSON.stringify(path.startsWith('/v1/admin/') ? { tenant: 'intruder' } : {})
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  t.teardown(() => agent.destroy())
  /** The status, or for a request refused before any route (not HTTP, not a URL) 'pre-route'. */
  const send = async (who: Who, method: string, path: string, body: string | undefined, pooled = true): Promise<number | 'pre-route'> => {
    try {
      const res = await request(port, method, path, { agent: pooled ? agent : undefined, headersOnly: true, headers: { ...headers[who], ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body })
      return res.status === 400 && /"reason":"(bad-request-line|bad-url)"/.test(res.body) ? 'pre-route' : res.status
    } catch (err) {
      // A HEAD answered before routing has a body the client did not expect.
      if (method === 'HEAD' && /^HPE_/.test((err as { code?: string }).code ?? '')) return 'pre-route'
      throw new Error(`${who} ${method} ${path}: ${(err as Error).message}`)
    }
  }

  let sent = 0
  const started = Date.now()
  for (const route of routes) {
    const kind = kindOf(route.path)
    const body = bodyFor(route.method, route.path)
    // The callers this route refuses; a tenant using a tenant route through a variant is fine.
    const refused: Who[] = kind === 'admin' ? ['anonymous', 'tenant'] : kind === 'tenant' ? ['anonymous', 'admin'] : []
    const all = variants(route.path).map(concrete(route.path))
    for (const who of kind === 'public' ? ['anonymous'] as Who[] : refused) {
      const wrong: string[] = []
      const queue = [...all]
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
          const status = await send(who, route.method, v, body)
          sent++
          if (kind === 'public' ? typeof status === 'number' && status >= 500 : !REFUSED.has(status)) wrong.push(`${status} ${route.method} ${v}`)
        }
      }))
      t.same(wrong, [], `${kind} route ${route.method} ${route.path} as ${who}: ${all.length} variants refused`)
    }
  }
  t.comment(`${sent} requests in ${Date.now() - started} ms`)

  // Nothing the refused requests tried happened: no token was created or revoked.
  const tokens = (await as(ADMIN)('GET', '/v1/admin/tokens')).json().items
  t.same(tokens.map((x: { tenant: string, revokedAt: string | null }) => [x.tenant, x.revokedAt]).sort(), [['alpha', null], ['victim', null]])

  // And the routes themselves answer the right caller: the walk above is not vacuous.
  for (const route of routes) {
    const kind = kindOf(route.path)
    if (kind === 'public' || route.method === 'DELETE') continue
    const path = concrete(route.path)(route.path)
    const body = bodyFor(route.method, route.path)
    const right: Who = kind === 'admin' ? 'admin' : 'tenant'
    const wrong: Who = kind === 'admin' ? 'tenant' : 'admin'
    // One connection each: an event stream answers 200 and goes on, the client then drops it.
    const ok = await send(right, route.method, path, body, false)
    t.ok(typeof ok === 'number' && ok !== 401 && ok !== 403 && ok < 500, `${route.method} ${route.path} as ${right}: ${ok}`)
    t.equal(await send(wrong, route.method, path, body, false), 403, `${route.method} ${route.path} as ${wrong}`)
  }
})

t.test('encoded paths: the finding itself, POST /v1/%61dmin/tokens with a tenant token, is 403', async (t) => {
  const { port, token } = await secured(t)
  const tenant = await token('alpha')
  for (const path of ['/v1/%61dmin/tokens', '/v1/%61%64%6d%69%6e/tokens', '/v1/ADMIN/tokens', '/%6Detrics']) {
    const method = path.includes('metrics') ? 'GET' : 'POST'
    const res = await request(port, method, path, { headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{"tenant":"alpha"}' : undefined })
    t.ok(REFUSED.has(res.status), `${method} ${path}: ${res.status}`)
    t.notMatch(res.body, /virq_/, 'no token in the answer')
  }
})
