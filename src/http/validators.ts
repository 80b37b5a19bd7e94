import { Ajv, type Options } from 'ajv'
import * as formats from 'ajv-formats'
import fastUri from 'fast-uri'
import { lazyValidator, type Validator } from './lazy-compile.ts'
import { canonicalIntegers } from './strict-input.ts'

// The request validators: Ajv as fastify's default compiler (@fastify/ajv-compiler) sets it up,
// built here so that the service starts without what it does not use:
// - that package also loads Ajv's JTD dialect, which no virq route uses;
// - Ajv checks every schema against the JSON Schema meta-schema by default, and compiling the
//   meta-schema was a tenth of the time to start. Our schemas are fixed when virq is built, so
//   test/http/schemas-valid.test.ts checks every one of them against it instead.

/** @fastify/ajv-compiler's defaults (lib/default-ajv-options.js), with virq's choices after them. */
const AJV_OPTIONS: Options = {
  coerceTypes: 'array',
  useDefaults: true,
  uriResolver: fastUri,
  addUsedSchema: false,
  // Unknown fields are errors, not dropped; the first error is enough (allErrors is a DoS risk).
  removeAdditional: false,
  allErrors: false,
  validateSchema: false
}

// ajv-formats is a CommonJS module that is the plugin and has it as `default` too; its types
// only declare the latter, which under ESM is one level further down.
const addFormats = formats.default.default

function ajvWith (externalSchemas: Record<string, object>, options: Options): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, ...options })
  addFormats(ajv)
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema)
  return ajv
}

/** Compiles a route part's schema, or returns the shared component it names by $id. */
function compileWith (ajv: Ajv, schema: { $id?: string }): Validator {
  return ((schema.$id !== undefined ? ajv.getSchema(schema.$id) : undefined) ?? ajv.compile(schema)) as Validator
}

/**
 * Fastify's validator compiler factory. Request bodies are validated without type coercion (a
 * string is not a number), query strings and path parameters with it (they are always text on
 * the wire). Each validator compiles on its route's first request (lazy-compile.ts).
 */
export function buildValidator () {
  const instances = new Map<string, { lenient: Ajv, strict: Ajv }>()
  return (externalSchemas: Record<string, object>) => {
    // One pair of Ajv instances per set of shared schemas (an encapsulated context that adds
    // its own gets its own pair), as @fastify/ajv-compiler pools them.
    const key = Object.keys(externalSchemas).join('\n')
    let pair = instances.get(key)
    if (pair === undefined) {
      pair = { lenient: ajvWith(externalSchemas, {}), strict: ajvWith(externalSchemas, { coerceTypes: false, useDefaults: false }) }
      instances.set(key, pair)
    }
    const { lenient, strict } = pair
    return (route: { httpPart?: string, schema: { $id?: string } }) => lazyValidator(() => route.httpPart === 'body'
      ? compileWith(strict, route.schema)
      : canonicalIntegers(route.schema as any, compileWith(lenient, route.schema)) as Validator)
  }
}
