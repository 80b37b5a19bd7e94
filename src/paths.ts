import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Where the package's own files are (migrations, static pages, package.json, the native addon).
// virq runs from src/ through tsx, from dist/ as tsc compiled it, and from the bundles in dist/
// (scripts/bundle.ts), each with its modules in other folders: a module that resolved `../../`
// from its own place would find the wrong folder in a bundle. So every module asks here, and
// this one looks upwards from wherever it ended up for the folder that holds package.json.

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`virq: no package.json above ${from}`)
  }
}

/** The package root. */
const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

/** A file or folder of the package, by its path from the root ('migrations/', 'src/ui/'). */
export const packagePath = (relative: string): string => join(PACKAGE_ROOT, relative)
