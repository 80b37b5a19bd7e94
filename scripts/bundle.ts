// Bundles the two programs a user runs, each into one file that replaces tsc's output
// (`npm run build` runs this after tsc):
// - dist/server.js, which `npm start` and `virq serve` run: one file instead of about 560
//   (virq's modules and those of fastify, ajv, yaml, prom-client, ws...) saves resolving,
//   stat-ing and opening each, which was most of the time virq took to start beyond what a
//   bare fastify app takes;
// - dist/cli/main.js, which bin/virq.js runs: about 40 ms less per call, a fifth of it.
// The rest of dist/ stays tsc's file per module.
//
// Left out of the server's bundle, loaded from node_modules as usual:
// - better-sqlite3: a native addon, found relative to its own package;
// - @fastify/swagger-ui: serves static files from its own package folder, and loads only when
//   /docs is first opened;
// - bufferutil, utf-8-validate: optional native speed-ups that ws tries and may not find.
// Files virq reads itself (migrations, src/ui, openapi/stream.md, package.json) are found
// through src/paths.ts, which looks for the package root from wherever it was bundled.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const EXTERNAL = ['better-sqlite3', '@fastify/swagger-ui', 'bufferutil', 'utf-8-validate']

const source = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url))

async function bundle (entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [source(entry)],
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

/** Writes the server's bundle (src/server.ts) to `outfile`. */
export async function bundleServer (outfile: string): Promise<void> { await bundle('src/server.ts', outfile) }

/** Writes the CLI's bundle (src/cli/main.ts) to `outfile`. */
export async function bundleCli (outfile: string): Promise<void> { await bundle('src/cli/main.ts', outfile) }

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleServer(source('dist/server.js'))
  await bundleCli(source('dist/cli/main.js'))
}
