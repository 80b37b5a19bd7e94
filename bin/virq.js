#!/usr/bin/env node
// The virq command-line client: TypeScript run through tsx, no build step.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
