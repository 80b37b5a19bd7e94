import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import fp from 'fastify-plugin'
import { lazySerializer } from './lazy-compile.ts'
import * as model from './schemas.ts'
import * as service from './schemas-service.ts'

// Every named schema, registered once on the root instance. Routes name them with
// Type.Ref(...): ajv validates against them, fast-json-stringify serialises with them, and
// @fastify/swagger lists each under components.schemas by its $id (openapi.ts), so that a
// generated client's types carry these names (Device, IrqSetRequest, ...).

const named = (schemas: Record<string, unknown>): TSchema[] => Object.values(schemas)
  .filter((s): s is TSchema => s !== null && typeof s === 'object' && typeof (s as TSchema).$id === 'string')

/** The schemas with an $id, in the order their modules declare them. */
const COMPONENTS: readonly TSchema[] = [...named(model), ...named(service)]

async function components (app: FastifyInstance): Promise<void> {
  for (const schema of COMPONENTS) app.addSchema(schema)
}

export default fp(components, { name: 'virq-components' })

/** The shared schemas that `schema` refers to, directly or through each other, by $id. */
function referenced (schema: unknown, shared: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return
    const ref = (node as { $ref?: unknown }).$ref
    if (typeof ref === 'string') {
      const id = ref.replace(/#.*$/, '')
      if (id !== '' && !(id in out) && shared[id] !== undefined) {
        out[id] = shared[id]
        walk(shared[id])
      }
    }
    for (const value of Object.values(node)) walk(value)
  }
  walk(schema)
  return out
}

/**
 * fastify's serializer compiler, given for each response schema only the shared schemas it
 * refers to. fast-json-stringify checks every shared schema it is handed on every response it
 * compiles; handed all of them, start-up took about half a second longer, long enough to block
 * the event loop past the overload guard's first sample. What each response serialises to is
 * unchanged: the same compiler with the same schemas that it uses. Each compiles on its
 * route's first answer with that status (lazy-compile.ts), not at start.
 */
export function buildSerializer () {
  const factory = SerializerSelector()
  return (externalSchemas: Record<string, unknown>, options: unknown) => (route: { schema: object }) =>
    lazySerializer(() => factory(referenced(route.schema, externalSchemas) as any, options as any)(route as any) as (data: unknown) => string)
}
