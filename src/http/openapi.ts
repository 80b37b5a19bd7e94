import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { routeNotFound } from './problem.ts'
import { readFileSync } from 'node:fs'
import { packagePath } from '../paths.ts'

/** The package's own version, so that the document and the package never disagree. */
const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }

/**
 * The OpenAPI 3.1 document, generated from the route schemas (the TypeBox schemas are the one
 * source). Shared schemas keep their $id as their component name. Served at /openapi.json and
 * committed at openapi/openapi.json (npm run openapi).
 */
async function openapi (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'virq',
        version,
        description: 'Linux vfio-pci interrupt plumbing emulated over HTTP: VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS ' +
          '(INTx, MSI, MSI-X with NORESIZE or dynamic allocation, ERR, REQ), device-originated interrupts and eventfds. ' +
          'Errors are RFC 9457 problem details with `reason`, and `errno`/`errnoValue` where the model produced one. ' +
          'The WebSocket at /v1/stream is described in [/docs/stream.md](/docs/stream.md). Every problem `reason` is explained at [/problems](/problems) (each problem\'s `type` URI answers its own page).',
        license: { name: 'MIT', identifier: 'MIT' }
      },
      servers: [{ url: 'http://127.0.0.1:8080', description: 'the default local instance' }],
      tags: [
        { name: 'devices', description: 'Emulated VFIO PCI devices' },
        { name: 'parents', description: 'IMS parents: interrupt message stores that back the MSI-X of the devices under them' },
        { name: 'irqs', description: 'GET_IRQ_INFO and SET_IRQS in JSON' },
        { name: 'ioctl', description: 'The raw ioctls: the kernel structs as numbers' },
        { name: 'interrupts', description: 'What the device does: fire interrupts' },
        { name: 'eventfds', description: 'Counters that interrupts signal and consumers read' },
        { name: 'service', description: 'Health, readiness, metrics, the host' },
        { name: 'admin', description: 'Tenant tokens (needs the admin token)' }
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A tenant token from POST /v1/admin/tokens, or the admin token for /v1/admin and /metrics. Needed only when virq runs with --admin-token.' }
        }
      },
      // Bearer when virq runs with --admin-token; none otherwise (loopback only).
      security: [{ bearer: [] }, {}]
    },
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })

  // A browsable reference of the same document (@fastify/swagger-ui, fastify's own), public
  // (see tenancy.ts). Its plugin and static files load on the first request for /docs, in a
  // fastify instance of its own holding a copy of the document, that these routes hand the
  // request to: start-up pays nothing for a page most runs never open.
  let reference: Promise<FastifyInstance> | undefined
  const loadReference = async (): Promise<FastifyInstance> => {
    const [{ default: innerSwagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')])
    const inner = Fastify({ logger: false })
    inner.setNotFoundHandler(routeNotFound)
    await inner.register(innerSwagger, { mode: 'static', specification: { document: app.swagger() as never } })
    await inner.register(swaggerUi, { routePrefix: '/docs', staticCSP: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'", uiConfig: { deepLinking: true, docExpansion: 'list' } })
    await inner.ready()
    return inner
  }
  const serveReference = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reference ??= loadReference()
    const res = await (await reference).inject({ method: req.method as 'GET', url: req.url, headers: { accept: req.headers.accept ?? '*/*' } })
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive'].includes(name)) reply.header(name, value)
    }
    return reply.code(res.statusCode).send(res.rawPayload)
  }
  app.addHook('onClose', async () => { if (reference !== undefined) await (await reference).close() })
  // The plugin's own routes: the page, its static files, and the document it reads (/docs/json).
  for (const url of ['/docs', '/docs/', '/docs/*']) {
    app.get(url, { config: { access: 'public' }, schema: { hide: true } as object }, serveReference)
  }

  app.get('/openapi.json', {
    config: { access: 'public' },
    schema: { operationId: 'getOpenApi', summary: 'This OpenAPI document', tags: ['service'], hide: true } as object
  }, async () => app.swagger())
}

export default fp(openapi, { name: 'virq-openapi' })
