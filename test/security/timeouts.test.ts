// Slow and idle clients are cut within the documented bounds (SECURITY.md). The limits are
// small here so that the test runs fast; the defaults are the same code with other numbers.
import net from 'node:net'
import t from 'tap'
import { TIMEOUTS } from '../../src/app.ts'
import { secured } from './lib.ts'

const small = { headersMs: 400, requestMs: 800, keepAliveMs: 400, checkMs: 50 }
/** Scheduling slack on a loaded machine, on top of the documented bound. */
const SLACK_MS = 400
/** Node adds this to the keep-alive timeout of an idle connection. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1000

/** Connects, runs `feed` on the socket, and resolves with how long the server kept it open and what it said. */
async function cut (port: number, feed: (s: net.Socket) => void): Promise<{ ms: number, said: string }> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const started = Date.now()
  let said = ''
  socket.on('data', (chunk) => { said += chunk.toString() })
  socket.on('error', () => {})
  feed(socket)
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { ms: Date.now() - started, said }
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function dribble (socket: net.Socket, text: string, everyMs: number): void {
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer)
    socket.write(text[i++])
  }, everyMs)
  socket.once('close', () => clearInterval(timer))
}

t.test('the documented defaults: headers 10 s, whole request 30 s, idle keep-alive 72 s, checked every second', async (t) => {
  t.same(TIMEOUTS, { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, checkMs: 1000 })
})

t.test('timeouts: slow headers, slow bodies and idle keep-alive connections are cut within their bounds', async (t) => {
  const { port } = await secured(t, { adminToken: undefined, timeouts: small })
  for (const [name, bound, feed, expect] of [
    ['headers sent one byte every 50 ms', small.headersMs + small.checkMs,
      (s: net.Socket) => dribble(s, 'GET /v1/host HTTP/1.1\r\nHost: virq\r\nX-Slow: ' + 'a'.repeat(1000) + '\r\n\r\n', 50), /^HTTP\/1\.1 408 /],
    ['nothing sent at all', small.headersMs + small.checkMs, () => {}, /^(HTTP\/1\.1 408 |)/],
    ['a body sent one byte every 50 ms', small.requestMs + small.checkMs,
      (s: net.Socket) => {
        s.write('POST /v1/eventfds HTTP/1.1\r\nHost: virq\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n')
        dribble(s, ' '.repeat(999) + '{', 50)
      }, /^HTTP\/1\.1 408 /],
    ['an idle keep-alive connection after one request', small.keepAliveMs + NODE_KEEP_ALIVE_BUFFER_MS,
      (s: net.Socket) => s.write('GET /v1/host HTTP/1.1\r\nHost: virq\r\n\r\n'), /^HTTP\/1\.1 200 /]
  ] as const) {
    const { ms, said } = await cut(port, feed)
    t.ok(ms <= bound + SLACK_MS, `${name}: cut after ${ms} ms (bound ${bound} ms)`)
    t.match(said, expect, `${name}: answered ${JSON.stringify(said.split('\r\n')[0])}`)
  }
})
