import { readdirSync } from 'node:fs'
import { join } from 'node:path'

// What the architecture tests read: the source files under a folder.

/** Every .ts and .js file under `dir` (not .d.ts), skipping node_modules and test fixtures. */
export function filesUnder (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'fixtures') walk(p)
      } else if (/\.(ts|js)$/.test(p) && !p.endsWith('.d.ts')) out.push(p)
    }
  }
  walk(dir)
  return out
}
