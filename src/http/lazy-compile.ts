// Schemas compile on a route's first use, not while the service starts. Fastify compiles a
// validator for every route part and a serializer for every route and status at ready: most
// of virq's routes (and nearly all of their error statuses) are never used by a given run,
// and compiling them all was a fifth of the time to listening. The wrapper costs one check of
// a variable per call; an invalid schema now fails on its route's first request instead of
// at start, and test/openapi and the route tests use every route.

/** A validator as fastify calls it: true or false, the reasons of a false in `errors`. */
export interface Validator {
  (data: unknown): boolean
  errors?: unknown
}

/** A validator compiled on its first call; it answers and reports errors as the compiled one does. */
export function lazyValidator (compile: () => Validator): Validator {
  let compiled: Validator | undefined
  const validate: Validator = (data: unknown) => {
    compiled ??= compile()
    const ok = compiled(data)
    validate.errors = compiled.errors
    return ok
  }
  return validate
}

/** A serializer compiled on its first call. */
export function lazySerializer (compile: () => (data: unknown) => string): (data: unknown) => string {
  let compiled: ((data: unknown) => string) | undefined
  return (data: unknown) => (compiled ??= compile())(data)
}
