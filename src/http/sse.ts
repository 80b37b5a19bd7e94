import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

// What the two Server-Sent Events routes (an eventfd's signals, a device's rates and trace)
// share: HEAD without a stream, and the response a stream starts with.

/** A comment line this often keeps proxies and clients from timing an idle stream out. */
export const HEARTBEAT_MS = 15_000

const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }

/**
 * HEAD gets the headers a stream would have and no stream (Node would hold a hijacked HEAD
 * open forever). True when it has answered.
 */
export function answeredHead (req: FastifyRequest, reply: FastifyReply): boolean {
  if (req.method !== 'HEAD') return false
  reply.hijack()
  reply.raw.writeHead(200, HEADERS)
  reply.raw.end()
  return true
}

/** Takes the response over from fastify and starts the stream with a comment line. */
export function beginStream (reply: FastifyReply, comment: string): ServerResponse {
  reply.hijack()
  const res = reply.raw
  // No proxy buffering: events must arrive as they happen.
  res.writeHead(200, { ...HEADERS, connection: 'keep-alive', 'x-accel-buffering': 'no' })
  res.write(`: ${comment}\n\n`)
  return res
}
