// Bundles the server into one file, dist/server.js, which `npm start` runs (`npm run build`
// runs this after tsc, replacing tsc's dist/server.js). Starting from one file instead of
// about 560 (virq's modules and those of fastify, ajv, yaml, prom-client, ws...) saves the
// resolving, stat-ing and opening of each: most of the time virq took to start beyond what
// a bare fastify app takes. The CLI and everything else in dist/ stay tsc's file-per-module.
//
// Left out of the bundle, loaded from node_modules as usual:
// - better-sqlite3: a native addon, found relative to its own package;
// - @fastify/swagger-ui: serves static files from its own package folder, and loads only when
//   /docs is first opened;
// - bufferutil, utf-8-validate: optional native speed-ups that ws tries and may not find.
// Files virq reads itself (migrations, src/ui, openapi/stream.md) are found through
// src/paths.ts, which is one folder below the package root here as in src/ and dist/.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export const EXTERNAL = ['better-sqlite3', '@fastify/swagger-ui', 'bufferutil', 'utf-8-validate']

/** Writes the bundle of src/server.ts to `outfile` (a file one folder below the package root). */
export async function bundleServer (outfile: string): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('../src/server.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS modules inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as virqCreateRequire } from 'node:module'; const require = virqCreateRequire(import.meta.url);" },
    logLevel: 'warning'
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleServer(fileURLToPath(new URL('../dist/server.js', import.meta.url)))
}
