import { CliError, seg } from '../client.ts'
import type { Ctx } from '../common.ts'

// `virq eventfd watch FD`: follows GET /v1/eventfds/FD/events (Server-Sent Events).

interface SseEvent { event: string, data: string }

/** Splits an SSE byte stream (the client's answer stream) into events (comments and heartbeats dropped). */
export async function * sseEvents (body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let event = 'message'
  let data: string[] = []
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    let nl: number
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(buffer[nl] === '\r' ? nl + 2 : nl + 1)
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') }
        event = 'message'
        data = []
      } else if (line.startsWith(':')) {
        continue
      } else {
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') event = value
        else if (field === 'data') data.push(value)
      }
    }
  }
}

/** Prints each signal until Ctrl-C, `count` events, or a `closed` event; a dropped stream is an error. */
export async function watch (c: Ctx, fd: number, count?: number): Promise<void> {
  const abort = new AbortController()
  let interrupted = false
  const stop = (): void => { interrupted = true; abort.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let seen = 0
  try {
    const res = await c.client.raw('GET', `/v1/eventfds/${seg(fd)}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal })
    for await (const ev of sseEvents(res)) {
      if (ev.event === 'closed') {
        process.stderr.write(`eventfd ${fd} was deleted; stream closed\n`)
        return
      }
      if (ev.event !== 'signal') continue
      if (c.json) {
        process.stdout.write(`${ev.data}\n`)
      } else {
        const { value } = JSON.parse(ev.data) as { value: number }
        process.stdout.write(`${value}\n`)
      }
      if (count !== undefined && ++seen >= count) {
        abort.abort()
        return
      }
    }
    if (!interrupted) throw new CliError(`the server ended the event stream of eventfd ${fd}`)
  } catch (err) {
    if (interrupted || (count !== undefined && seen >= count)) return
    if ((err as Error).name === 'AbortError') return
    throw err
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}
