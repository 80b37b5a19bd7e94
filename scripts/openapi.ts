import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp } from '../src/app.ts'

// npm run openapi: writes openapi/openapi.json from the route schemas, without listening.

export async function generateOpenApi (): Promise<string> {
  const app = await buildApp({ db: ':memory:', hostVectors: 4096, flushMs: 0 })
  try {
    await app.ready()
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
  }
}

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'openapi', 'openapi.json')

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(OPENAPI_FILE, await generateOpenApi())
  console.log(`wrote ${OPENAPI_FILE}`)
}
