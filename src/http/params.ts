import type { FastifyReply, FastifyRequest } from 'fastify'
import { IRQ_INDEX_NAMES } from '../core/constants.ts'
import type { Device } from '../core/device.ts'
import type { Eventfd } from '../core/eventfds.ts'
import { HttpProblem, notFound } from './problem.ts'

// What a route's path parameters name, as the caller's tenant sees it: a device (honouring
// If-Match, sending its ETag), an eventfd, an IRQ index. Another tenant's device or eventfd is
// "not found", never "forbidden": its existence is not the caller's business.

export function findDevice (req: FastifyRequest, id: string): Device {
  const dev = req.server.devices.get(id)
  if (dev === undefined || dev.owner !== req.tenant) throw notFound('device', id)
  return dev
}

export function findEventfd (req: FastifyRequest, fd: number): Eventfd {
  // The number is looked up in the caller's own table: another tenant's eventfds are not in it.
  const efd = req.server.eventfds.get(fd, req.tenant)
  if (efd === undefined) throw notFound('eventfd', fd)
  return efd
}

const etagOf = (dev: Device): string => `"${dev.version}"`

/**
 * If-Match (RFC 9110 13.1.1): `*`, or a list of entity tags one of which must equal the
 * current one by strong comparison (a weak tag W/"..." never matches).
 */
function checkIfMatch (req: FastifyRequest, dev: Device): void {
  const header = req.headers['if-match']
  if (header === undefined) return
  const value = Array.isArray(header) ? header.join(',') : header
  if (value.trim() === '*') return
  const current = String(dev.version)
  const tags = value.split(',').map((t) => t.trim())
  const bad = tags.find((t) => !/^(W\/)?"[^"]*"$/.test(t))
  if (bad !== undefined) {
    throw new HttpProblem(400, 'invalid-if-match', `If-Match takes entity tags in double quotes, as the ETag header gives them (If-Match: "${/^[0-9]+$/.test(bad) ? bad : current}"), not ${bad}`)
  }
  if (!tags.includes(`"${current}"`)) {
    throw new HttpProblem(412, 'version-mismatch', `device ${dev.id} is at version ${current}, not ${value}`)
  }
}

/** A device for a state-changing route: it exists and If-Match, if sent, matches. */
export function deviceForUpdate (req: FastifyRequest, id: string): Device {
  const dev = findDevice(req, id)
  checkIfMatch(req, dev)
  return dev
}

export function sendEtag (reply: FastifyReply, dev: Device): void {
  reply.header('etag', etagOf(dev))
}

/** `msix` or `2` -> 2; an out-of-range number goes on to the model, which answers EINVAL. */
export function parseIndex (param: string | number): number {
  if (typeof param === 'number') return param
  const named = (IRQ_INDEX_NAMES as readonly string[]).indexOf(param)
  if (named >= 0) return named
  if (/^(0|[1-9][0-9]{0,9})$/.test(param)) return Number(param)
  throw new HttpProblem(400, 'invalid-index', `unknown IRQ index ${param}; use intx, msi, msix, err, req or 0-4`)
}
