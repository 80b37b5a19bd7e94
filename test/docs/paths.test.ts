import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The docs name files so that a reader can go to them: every file or folder a page names in
// backticks exists. A path is read from the repository's root (`src/core/world.ts`), or, as
// the layout lists write them, from the folder they are listed under (`core/world.ts` in src/,
// `helpers/app.ts` in test/, `drivers/ops.ts` in src/core/). Placeholders (`NNN_*.sql`,
// `<abi>/`) and the Linux and QEMU sources the model cites (`.c`, `.h`, `.rst`) are not ours.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PAGES = ['README.md', 'SECURITY.md', 'bench/README.md', 'openapi/stream.md',
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const BASES = ['', 'src/', 'test/', 'src/core/', 'src/cli/', 'src/vfio-user/']

/** Backticked tokens that look like a path in a folder: `a/b.ts`, `src/core/`, `dist/server.js`. */
export function namedPaths (markdown: string): string[] {
  const out = new Set<string>()
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    const token = m[1].replace(/[:#].*$/, '')
    if (!/^\.?[a-z][\w.-]*\/[\w./-]*$/.test(token)) continue // a folder, then more
    if (/^https?:|NN|<|\*/.test(token) || /\.(c|h|rst)$/.test(token)) continue
    if (!/\.[a-z]{1,4}$/.test(token) && !token.endsWith('/')) continue // a file with its extension, or a folder/
    out.add(token)
  }
  return [...out]
}

/** Built by `npm run build`, not committed: a fresh clone has no dist/. */
const built = (p: string): boolean => p.startsWith('dist/')

t.test('the reader finds paths and leaves the rest (it can fail)', async (t) => {
  t.same(namedPaths('see `src/core/world.ts`, `core/`, `npm test`, `a/b`, `migrations/NNN_*.sql`, `http/params.ts:12`, `fs/eventfd.c` and `x.ts`'),
    ['src/core/world.ts', 'core/', 'http/params.ts'])
})

for (const page of PAGES) {
  t.test(`${page}: every path it names exists`, async (t) => {
    const paths = namedPaths(readFileSync(join(ROOT, page), 'utf8')).filter((p) => !built(p))
    const missing = paths.filter((p) => !BASES.some((base) => existsSync(join(ROOT, base, p))))
    t.same(missing, [], `${paths.length} paths named`)
  })
}
