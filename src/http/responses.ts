import { Type } from '@sinclair/typebox'

const DESCRIPTIONS: Record<number, string> = {
  401: 'No valid bearer token',
  403: 'The token is of the wrong kind for this route',
  429: "A limit is reached: the tenant's own or the instance's (reason says which)",
  400: 'Invalid request, or the model answered EINVAL, ENOTTY, EBADF, ERANGE or EFAULT',
  404: 'Unknown device, eventfd or parent',
  409: 'EBUSY (also: a parent that still has devices, an IMS store with no free slot), or the eventfd counter would overflow',
  412: 'If-Match does not match the device version',
  503: 'The service cannot do this now (reason says why)',
  507: 'ENOSPC: the host vector pool is exhausted'
}

/** Problem+json responses for the given statuses, referencing the shared Problem schema. */
export function problemResponses (...statuses: number[]) {
  const out: Record<number, { description: string, content: { 'application/problem+json': { schema: ReturnType<typeof Type.Ref> } } }> = {}
  for (const s of statuses) {
    out[s] = { description: DESCRIPTIONS[s], content: { 'application/problem+json': { schema: Type.Ref('Problem') } } }
  }
  return out
}

/** Every field of this body is optional, so no body at all means the defaults. */
export async function emptyBodyIsEmptyObject (req: { body: unknown }): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {}
}
