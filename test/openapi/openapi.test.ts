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
      if (body !== undefined) t.ok(body.schema?.examples?.length > 0 || body.examples !== undefined || body.example !== undefined, `${where} body example`)
    }
  }
  for (const name of ['Problem', 'Device', 'IrqIndex', 'Eventfd']) t.ok(doc.components.schemas[name], `components/schemas/${name}`)
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
