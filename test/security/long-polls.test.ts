// Long-poll reads (POST /v1/eventfds/{fd}/read?timeoutMs=) over real sockets: a read takes a
// value only for a client that is still there, and shutdown answers every waiting read at once.
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { sleep, until, waitingReads } from '../helper.ts'
import { request, secured } from './lib.ts'

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

/** A read request written on a raw socket, which the test can drop without reading anything. */
async function rawRead (port: number, fd: number, timeoutMs: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  socket.write(`POST /v1/eventfds/${fd}/read?timeoutMs=${timeoutMs} HTTP/1.1\r\nHost: virq\r\nContent-Length: 0\r\n\r\n`)
  return socket
}

const connections = async (server: http.Server): Promise<number> =>
  await new Promise((resolve, reject) => server.getConnections((err, n) => (err !== null ? reject(err) : resolve(n))))

t.test('long-poll: a read whose client went away does not take the value (it stays for the next reader)', async (t) => {
  for (const [name, drop] of [
    ['client resets the connection', (s: net.Socket) => s.resetAndDestroy()],
    ['client closes the connection', (s: net.Socket) => s.destroy()],
    ['client half-closes (FIN) and waits', (s: net.Socket) => s.end()]
  ] as const) {
    const { app, port } = await secured(t, { adminToken: undefined })
    const fd = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json().fd
    const socket = await rawRead(port, fd, 5000)
    await until(() => waitingReads(app) === 1, 'the read to wait')
    drop(socket)
    await until(async () => (await connections(app.server)) === 0 || waitingReads(app) === 0, 'the server to see the client go')
    t.equal((await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/write`, payload: { value: 5 } })).statusCode, 200)
    await sleep(100) // a read still waiting would have taken it by now
    t.equal(waitingReads(app), 0, `${name}: the read no longer waits`)
    t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).json().value, 5, `${name}: the value is still there`)
    t.same((await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read` })).json(), { value: 5 }, `${name}: the next reader gets it`)
    socket.destroy()
  }
})

t.test('long-poll: a connected client still gets a value written while it waits', async (t) => {
  const { app, port } = await secured(t, { adminToken: undefined })
  const fd = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json().fd
  const answer = request(port, 'POST', `/v1/eventfds/${fd}/read?timeoutMs=5000`)
  await until(() => waitingReads(app) === 1, 'the read to wait')
  await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/write`, payload: { value: 3 } })
  const res = await answer
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { value: 3 })
  t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).json().value, 0)
})

/** Shutdown must not wait for reads to time out: this bound is what operators get. */
const SHUTDOWN_MS = 2000

t.test('shutdown: app.close() answers waiting long-polls at once with 204 and finishes within 2 s', async (t) => {
  const { app, port } = await secured(t, { adminToken: undefined })
  const fd = (await app.inject({ method: 'POST', url: '/v1/eventfds', payload: {} })).json().fd
  // Keep-alive connections, as a client library would use.
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const polls = Array.from({ length: 3 }, async () => await request(port, 'POST', `/v1/eventfds/${fd}/read?timeoutMs=60000`, { agent }))
  await until(() => waitingReads(app) === 3, 'three reads to wait')
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    app.close().then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), SHUTDOWN_MS) })
  ])
  clearTimeout(timer)
  const elapsed = Date.now() - started
  t.ok(closed, `app.close() finished in ${elapsed} ms (bound ${SHUTDOWN_MS} ms)`)
  const answers = await Promise.race([Promise.all(polls), sleep(1000).then(() => null)])
  t.same(answers?.map((r) => r.status), [204, 204, 204], 'each waiting read was answered 204')
})

t.test('shutdown: SIGTERM answers a waiting long-poll and the process exits within 2 s', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, '--port', '0', '--db', ':memory:', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  await until(() => /listening on http:\/\/[^:]+:(\d+)/.test(out), 'the server to listen', 60_000)
  const port = Number(/listening on http:\/\/[^:]+:(\d+)/.exec(out)![1])
  // A loaded machine can block start-up past a second: the overload guard then answers 503 for a second.
  await until(async () => (await request(port, 'GET', '/v1/host')).status === 200, 'the server to take requests', 30_000)
  const created = await request(port, 'POST', '/v1/eventfds', { headers: { 'content-type': 'application/json' }, body: '{}' })
  const fd = JSON.parse(created.body).fd
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const poll = request(port, 'POST', `/v1/eventfds/${fd}/read?timeoutMs=60000`, { agent })
  await until(async () => /^virq_eventfd_reads_waiting 1$/m.test((await request(port, 'GET', '/metrics')).body), 'the read to wait', 30_000)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const started = Date.now()
  child.kill('SIGTERM')
  const code = await Promise.race([exited, sleep(SHUTDOWN_MS + 1000).then(() => 'still running' as const)])
  const elapsed = Date.now() - started
  t.equal(code, 0, 'exits with 0')
  t.ok(elapsed < SHUTDOWN_MS, `exited ${elapsed} ms after SIGTERM (bound ${SHUTDOWN_MS} ms)`)
  const res = await Promise.race([poll, sleep(1000).then(() => null)])
  t.equal(res?.status, 204, 'the waiting read was answered 204')
})
