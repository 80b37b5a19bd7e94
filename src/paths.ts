import { fileURLToPath } from 'node:url'

// Where the package's own files are (migrations, static pages, package.json, the native addon).
// This file sits one folder below the package root in every form virq runs in: src/paths.ts
// through tsx, dist/paths.js compiled by tsc, and dist/server.js, the bundle `npm start` runs,
// into which it is inlined. Files deeper in src/ therefore ask here instead of resolving
// `../../` from their own place, which the bundle would move.

/** The package root, with a trailing slash. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url))

/** A file or folder of the package, by its path from the root ('migrations/', 'src/ui/'). */
export const packagePath = (relative: string): string => fileURLToPath(new URL(relative, new URL('../', import.meta.url)))
