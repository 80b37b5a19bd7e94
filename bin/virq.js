#!/usr/bin/env node
// The virq command-line client. It runs the compiled JavaScript in dist/ (built by `npm ci`
// through the `prepare` script, or `npm run build`): starting through tsx costs about 0.2 s a
// call. Without dist/ (a checkout that was never built), or with VIRQ_SOURCE=1 (the tests, so
// that they check the code in the tree and never a stale build), it runs the TypeScript
// sources through tsx instead.
import { existsSync } from 'node:fs'

const dist = new URL('../dist/cli/main.js', import.meta.url)
if (process.env.VIRQ_SOURCE !== '1' && existsSync(dist)) {
  await import(dist.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/main.ts')
}
