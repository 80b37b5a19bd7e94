import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import * as model from './schemas.ts'
import * as service from './schemas-service.ts'

// Every named schema, registered once on the root instance. Routes name them with
// Type.Ref(...): ajv validates against them, fast-json-stringify serialises with them, and
// @fastify/swagger lists each under components.schemas by its $id (openapi.ts), so that a
// generated client's types carry these names (Device, IrqSetRequest, ...).

const named = (schemas: Record<string, unknown>): TSchema[] => Object.values(schemas)
  .filter((s): s is TSchema => s !== null && typeof s === 'object' && typeof (s as TSchema).$id === 'string')

/** The schemas with an $id, in the order their modules declare them. */
export const COMPONENTS: readonly TSchema[] = [...named(model), ...named(service)]

async function components (app: FastifyInstance): Promise<void> {
  for (const schema of COMPONENTS) app.addSchema(schema)
}

export default fp(components, { name: 'virq-components' })
