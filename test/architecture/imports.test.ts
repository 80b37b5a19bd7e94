import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import { filesUnder } from './sources.ts'

// What may import what in src/ (docs/architecture.md, "What may depend on what"), read from the
// import statements themselves, so that a new cycle or a reach across layers fails here.

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

interface Edge { from: string, to: string, typeOnly: boolean }

/** Every relative import and re-export of a module: `import type` and `{ type A }` lists are type-only. */
export function importsOf (source: string): Array<{ spec: string, typeOnly: boolean }> {
  const out: Array<{ spec: string, typeOnly: boolean }> = []
  for (const m of source.matchAll(/^(?:import|export)\s+([^'"]*?)\s*from\s+['"](\.[^'"]+)['"]/gm)) {
    const clause = m[1].trim()
    const names = /^\{([^}]*)\}$/s.exec(clause)?.[1].split(',').map((s) => s.trim()).filter(Boolean)
    const typeOnly = /^type\s/.test(clause) || (names !== undefined && names.every((n) => n.startsWith('type ')))
    out.push({ spec: m[2], typeOnly })
  }
  for (const m of source.matchAll(/^import\s+['"](\.[^'"]+)['"]/gm)) out.push({ spec: m[1], typeOnly: false })
  return out
}

function readEdges (): Edge[] {
  const files = filesUnder(SRC).filter((f) => f.endsWith('.ts'))
  return files.flatMap((f) => importsOf(readFileSync(f, 'utf8')).map(({ spec, typeOnly }) => ({
    from: relative(SRC, f), to: relative(SRC, resolve(dirname(f), spec)), typeOnly
  })))
}

/** Every import in src/, read once for all the checks below. */
const EDGES = readEdges()

/** The cycles' members (strongly connected components of more than one module, or a self-import). */
export function cycles (list: Edge[]): string[][] {
  const next = new Map<string, string[]>()
  for (const e of list) next.set(e.from, [...(next.get(e.from) ?? []), e.to])
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const members: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      members.push(w)
    } while (w !== v)
    if (members.length > 1 || (next.get(v) ?? []).includes(v)) found.push(members.sort())
  }
  for (const v of next.keys()) if (!index.has(v)) visit(v)
  return found
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.')

/** Which folders a folder may import from (type imports too). `.` is src/ itself (app, server, config, services). */
const MAY_IMPORT: Record<string, (to: string) => boolean> = {
  core: (to) => folderOf(to) === 'core',
  store: (to) => ['core', 'store'].includes(folderOf(to)),
  hot: (to) => ['core', 'hot'].includes(folderOf(to)),
  // The engine joins the model and its store: group commit, undo of a failed batch, long-poll waiters.
  engine: (to) => ['core', 'store', 'hot', 'engine'].includes(folderOf(to)),
  'vfio-user': (to) => ['core', 'hot', 'vfio-user'].includes(folderOf(to)) || to === 'engine/engine.ts',
  http: (to) => folderOf(to) !== 'cli',
  // The CLI is a client: it shares the request schemas and the model's names, never the service.
  cli: (to) => ['cli', 'core'].includes(folderOf(to)) || ['http/schemas.ts', 'http/bounds.ts', 'config.ts'].includes(to),
  '.': (to) => folderOf(to) !== 'cli' || to === 'cli/main.ts'
}

/** Leaf modules of src/ itself that any folder but core may use: paths.ts (where the package's files are). */
const SHARED_LEAVES = new Set(['paths.ts'])
const allowed = (e: Edge): boolean => MAY_IMPORT[folderOf(e.from)]?.(e.to) !== false || (SHARED_LEAVES.has(e.to) && folderOf(e.from) !== 'core')

t.test('the cycle finder finds a cycle, a self-import, and none in a chain (it can fail)', async (t) => {
  const e = (from: string, to: string): Edge => ({ from, to, typeOnly: false })
  t.same(cycles([e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd')]), [['a', 'b', 'c']])
  t.same(cycles([e('a', 'a')]), [['a']])
  t.same(cycles([e('a', 'b'), e('b', 'c'), e('a', 'c')]), [])
  t.same(importsOf("import type { A } from './a.ts'\nimport { type B, c } from './b.ts'\nexport { d } from './d.ts'\nimport { type E } from './e.ts'"),
    [{ spec: './a.ts', typeOnly: true }, { spec: './b.ts', typeOnly: false }, { spec: './d.ts', typeOnly: false }, { spec: './e.ts', typeOnly: true }])
})

t.test('src has imports to check', async (t) => {
  const list = EDGES
  t.ok(list.length > 300, `${list.length} imports read`)
  t.ok(list.some((e) => e.from === 'app.ts' && e.to === 'engine/engine.ts'), 'app.ts imports engine/engine.ts')
})

t.test('no module of src imports itself again through others at run time', async (t) => {
  t.same(cycles(EDGES.filter((e) => !e.typeOnly)), [])
})

t.test('no import cycle in src, type imports included', async (t) => {
  t.same(cycles(EDGES), [])
  t.ok(EDGES.some((e) => e.typeOnly && e.to === 'core/model-types.ts'), 'type imports are among the edges checked')
})

t.test('core/model-types.ts holds types only: it imports types only and compiles to nothing', async (t) => {
  // The types that name one another (Device, DriverOps, MsixBacking, World, Effects,
  // InterruptPath) are declared there, so that no two modules of core import each other
  // (docs/architecture.md, "The model's types"); the cycle check above keeps it a leaf. It
  // must also cost nothing at run time: compiled, it is empty.
  const file = 'core/model-types.ts'
  const out = ts.transpileModule(readFileSync(join(SRC, file), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, removeComments: true, verbatimModuleSyntax: true }
  }).outputText
  t.same(out.replace(/export \{\};?/, '').trim(), '', 'it compiles to nothing')
  const own = EDGES.filter((e) => e.from === file)
  t.ok(own.length > 0 && own.every((e) => e.typeOnly), 'it imports types only')
})

t.test('the rules of core name World and Effects through core/model-types.ts; only world.ts holds the classes', async (t) => {
  const holders = EDGES.filter((e) => folderOf(e.from) === 'core' && ['core/world.ts', 'core/effects.ts'].includes(e.to))
  t.same(holders.map((e) => `${e.from} -> ${e.to}`), ['core/world.ts -> core/effects.ts'])
})

t.test('each folder imports only from the folders below it', async (t) => {
  const wrong = EDGES.filter((e) => !allowed(e)).map((e) => `${e.from} -> ${e.to}`)
  t.same(wrong, [])
  t.same(EDGES.filter((e) => SHARED_LEAVES.has(e.from)), [], 'the shared leaves import nothing of src')
  t.same(Object.keys(MAY_IMPORT).sort(), [...new Set(EDGES.map((e) => folderOf(e.from)))].sort(), 'every folder has a rule')
})

t.test('routes use the narrow services (app.devices, app.eventfds, app.interrupts, app.streams), not the engine', async (t) => {
  // The operator's routes act on the whole service: health and host (service.ts), tenants and
  // quotas (admin.ts), the database copy (backup.ts).
  const operator = new Set(['service.ts', 'admin.ts', 'backup.ts'])
  const dir = join(SRC, 'http/routes')
  const reaching = readdirSync(dir).filter((f) => !operator.has(f) && /\bengine\b/.test(readFileSync(join(dir, f), 'utf8')))
  t.same(reaching, [])
  t.ok(/\bengine\b/.test(readFileSync(join(dir, 'service.ts'), 'utf8')), 'the check reads the files (service.ts does use the engine)')
})
