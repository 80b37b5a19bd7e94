import { readFileSync } from 'node:fs'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import { filesUnder } from './sources.ts'

// Every value a module of src/ exports is used by another module (of src/, the tests, the bench,
// the examples or the scripts). A constant exported and never imported invites a copy of its
// literal elsewhere; a function exported only for itself hides what the module's surface is.
// Types are left out: a type in an exported signature is exported so that callers can name it.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const USERS = ['src', 'test', 'bench', 'examples', 'scripts', 'bin']

/** The values a file declares at its top (`const|let|function|class`), with whether each is exported. */
function topLevelValues (file: ts.SourceFile): Array<{ name: string, exported: boolean }> {
  const out: Array<{ name: string, exported: boolean }> = []
  for (const s of file.statements) {
    const exported = ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) === true
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && s.name !== undefined) out.push({ name: s.name.text, exported })
    if (ts.isVariableStatement(s)) {
      for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) out.push({ name: d.name.text, exported })
    }
  }
  return out
}

/** The names of the values a module exports by declaration (`export const|let|function|class`). */
export function valueExports (source: string): string[] {
  return topLevelValues(ts.createSourceFile('m.ts', source, ts.ScriptTarget.Latest)).filter((v) => v.exported).map((v) => v.name)
}

/**
 * Every identifier a file's code names, except the names it declares itself at the top (its own
 * `const X = 60_000` is a copy of an export, not a use of it): comments and strings do not count.
 */
export function identifiersOf (source: string): Set<string> {
  const file = ts.createSourceFile('m.ts', source, ts.ScriptTarget.Latest)
  const out = new Set<string>()
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) out.add(n.text)
    ts.forEachChild(n, visit)
  }
  visit(file)
  for (const { name } of topLevelValues(file)) out.delete(name)
  return out
}

/** The modules a file imports whole (`import * as m from './m.ts'`): every export of theirs is its to use. */
export function namespaceImports (file: string, source: string): string[] {
  return [...source.matchAll(/^import\s+\*\s+as\s+\w+\s+from\s+['"](\.[^'"]+)['"]/gm)].map((m) => posix.join(posix.dirname(file), m[1]))
}

/** `module: name` for each value export that no other file names. */
export function unusedExports (files: ReadonlyMap<string, string>, exporters: readonly string[]): string[] {
  const ids = new Map([...files].map(([f, src]) => [f, identifiersOf(src)]))
  const whole = new Set([...files].flatMap(([f, src]) => namespaceImports(f, src)))
  const out: string[] = []
  for (const f of exporters) {
    if (whole.has(f)) continue
    for (const name of valueExports(files.get(f)!)) {
      if (![...ids].some(([other, set]) => other !== f && set.has(name))) out.push(`${f}: ${name}`)
    }
  }
  return out
}

t.test('the finder reports an export no other file names, and only that one (it can fail)', async (t) => {
  const files = new Map([
    ['a.ts', 'export const USED = 1\nexport const ONLY_HERE = 2\nexport function helper () { return ONLY_HERE }\nexport type T = number\nconst local = USED'],
    ['b.ts', "import { helper, USED } from './a.ts'\n// ONLY_HERE in a comment is not a use\nconsole.log(helper(), USED, 'ONLY_HERE')"],
    ['c.ts', 'const ONLY_HERE = 2 // a copy of the constant is not a use of it\nconsole.log(ONLY_HERE)']
  ])
  t.same(unusedExports(files, ['a.ts']), ['a.ts: ONLY_HERE'])
  // A module imported whole (components.ts registers every schema schemas.ts exports) is used whole.
  files.set('lib/c.ts', "import * as a from '../a.ts'\nconsole.log(Object.keys(a))")
  t.same(unusedExports(files, ['a.ts']), [])
  t.same(valueExports('export class C {}\nexport async function f () {}\nexport let x = 1, y = 2\nexport interface I {}'), ['C', 'f', 'x', 'y'])
})

t.test('every value src/ exports is used outside its module', async (t) => {
  const all = USERS.flatMap((d) => filesUnder(join(ROOT, d)))
  const files = new Map(all.map((f) => [relative(ROOT, f), readFileSync(f, 'utf8')]))
  const exporters = [...files.keys()].filter((f) => f.startsWith('src/') && f.endsWith('.ts'))
  t.ok(exporters.length > 90, `${exporters.length} modules of src/ read`)
  t.same(unusedExports(files, exporters), [], 'drop the export, or use the constant where its literal is repeated')
})
