import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateOpenApi, OPENAPI_FILE } from '../../scripts/openapi.ts'
import { build } from '../helper.ts'

t.test('the committed openapi/openapi.json is what the code generates (run npm run openapi)', async (t) => {
  const generated = await generateOpenApi()
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated)
})

t.test('GET /openapi.json serves the same document', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')))
})

t.test('every operation has an operationId, a summary and tags; every request body an example', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))
  const ids = new Set<string>()
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const where = `${method.toUpperCase()} ${path}`
      t.type(op.operationId, 'string', `${where} operationId`)
      t.notOk(ids.has(op.operationId), `${where} operationId is unique`)
      ids.add(op.operationId)
      t.ok(op.summary, `${where} summary`)
      t.ok(op.tags?.length > 0, `${where} tags`)
      const body = op.requestBody?.content?.['application/json']
      if (body !== undefined) t.ok(component(doc, body.schema)?.examples?.length > 0 || body.examples !== undefined || body.example !== undefined, `${where} body example`)
    }
  }
  for (const name of ['Problem', 'Device', 'IrqIndex', 'Eventfd']) t.ok(doc.components.schemas[name], `components/schemas/${name}`)
})

/** The component a `#/components/schemas/Name` reference names; the schema itself when it is inline. */
function component (doc: any, schema: any): any {
  const name = refName(schema)
  return name === null ? schema : doc.components.schemas[name]
}
const refName = (schema: any): string | null => /^#\/components\/schemas\/([A-Za-z0-9]+)$/.exec(schema?.$ref ?? '')?.[1] ?? null

// Generated clients name their types after components; an inline body would get a made-up
// name (CreateDevice201Response). Streams (text/event-stream) and the backup file are not JSON.
t.test('every JSON request body and every 2xx/4xx JSON response is a named component', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))
  const schemas: Record<string, any> = doc.components.schemas
  let checked = 0
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const where = `${method.toUpperCase()} ${path}`
      const parts: Array<[string, Record<string, any>]> = [[`${where} request`, op.requestBody?.content ?? {}]]
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        if (/^[24]/.test(status)) parts.push([`${where} ${status}`, res.content ?? {}])
      }
      for (const [what, content] of parts) {
        for (const [type, media] of Object.entries<any>(content)) {
          if (!/^application\/(.+\+)?json$/.test(type)) continue
          const name = refName(media.schema)
          t.ok(name !== null && schemas[name] !== undefined, `${what} ${type} is a $ref to a component (got ${JSON.stringify(media.schema).slice(0, 60)})`)
          checked++
        }
      }
    }
  }
  t.ok(checked > 50, `${checked} bodies checked`)
  // The names clients see, each from its $id.
  for (const name of [
    'DeviceCreateRequest', 'Device', 'DevicePage', 'Template', 'TemplateList', 'IrqIndex', 'IrqIndexList', 'IrqSetRequest', 'IrqSetResult',
    'VectorState', 'VectorPage', 'Pba', 'FireRequest', 'FireResult', 'EventfdCreateRequest', 'Eventfd', 'EventfdPage', 'EventfdWriteRequest',
    'EventfdCounter', 'ParentCreateRequest', 'Parent', 'ParentList', 'HostInfo', 'Health', 'Readiness', 'Token', 'TokenList',
    'TokenCreateRequest', 'TokenCreated', 'AdminHost', 'TraceEntry', 'TracePage', 'TeardownWindow', 'TeardownWindowList', 'Rates',
    'RawGetInfoRequest', 'RawDeviceInfo', 'RawGetIrqInfoRequest', 'RawIrqInfo', 'RawSetIrqsRequest', 'RawResult', 'VfioUserState', 'Problem'
  ]) t.ok(schemas[name], `components/schemas/${name}`)
  // No made-up names: every component is named by an $id (def-N is the resolver's fallback).
  t.same(Object.keys(schemas).filter((n) => !/^[A-Z][A-Za-z]+$/.test(n)), [])
})

t.test('GET /docs serves an HTML reference that loads the document', async (t) => {
  const app = await build(t)
  for (const url of ['/docs', '/docs/']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /text\/html/)
    t.match(res.body, 'swagger-ui', 'the reference page')
  }
  // The page reads this copy of the document, the one /openapi.json serves.
  const doc = await app.inject({ method: 'GET', url: '/docs/json' })
  t.same(doc.json(), (await app.inject({ method: 'GET', url: '/openapi.json' })).json())
  const missing = await app.inject({ method: 'GET', url: '/docs/nope' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().reason, 'route-not-found')
})
