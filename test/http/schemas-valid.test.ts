import { Ajv } from 'ajv'
import t from 'tap'
import { buildApp } from '../../src/app.ts'

// The service compiles its validators without checking the schemas against the JSON Schema
// meta-schema (it cost a tenth of the time to start; see buildValidator in src/app.ts). This
// test does that check instead, for every shared component and every route's schemas.

t.test('every shared schema and every route parameter schema is valid JSON Schema', async (t) => {
  const app = await buildApp({ db: ':memory:', hostVectors: 64, flushMs: 0 })
  t.teardown(async () => await app.close())
  await app.ready()
  const ajv = new Ajv({ strict: false })
  // Request bodies and responses are shared components (test/openapi/openapi.test.ts checks that
  // none is inline); path and query parameters are inline, and the document lists each route's.
  const shared = Object.values(app.getSchemas()) as Array<Record<string, unknown>>
  t.ok(shared.length > 40, `the shared components were seen (${shared.length})`)
  for (const schema of shared) ajv.addSchema(schema)
  for (const schema of shared) t.ok(ajv.validateSchema(schema), `${String(schema.$id)}: ${ajv.errorsText()}`)
  const doc = app.swagger() as { paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string, schema: object }> }>> }
  let parameters = 0
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const p of op.parameters ?? []) {
        parameters++
        t.ok(ajv.validateSchema(p.schema), `${method.toUpperCase()} ${path} ${p.in} ${p.name}: ${ajv.errorsText()}`)
      }
    }
  }
  t.ok(parameters > 30, `the route parameters were seen (${parameters})`)
})

t.test('the check can fail: a schema that is not JSON Schema is refused', async (t) => {
  const ajv = new Ajv({ strict: false })
  t.notOk(ajv.validateSchema({ type: 'integer', minimum: 'zero' }))
  t.notOk(ajv.validateSchema({ type: 'whole-number' }))
})
