import t from 'tap'
import { execFile } from 'node:child_process'
import { createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { commandOf } from '../../src/cli/program.ts'

// The CLI's HTTP client against a scripted server: the process exits as soon as its answer is
// read (no connection kept open), and error answers, non-JSON bodies and an unreachable server
// give the same messages and exit statuses as always (docs/architecture.md, The CLI).

const BIN = fileURLToPath(new URL('../../bin/virq.js', import.meta.url))
t.setTimeout(300_000) // each run starts node + tsx: about a second each on a busy machine

interface Run { code: number, stdout: string, stderr: string, exitedAt: number }

function run (args: string[]): Promise<Run> {
  const { VIRQ_URL: _url, VIRQ_TOKEN: _token, ...env } = process.env
  return new Promise((resolve) => {
    // VIRQ_SOURCE=1: the sources in the tree, never a stale dist/ build.
    execFile(process.execPath, [BIN, ...args], { env: { ...env, VIRQ_SOURCE: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stdout, stderr, exitedAt: performance.now() })
    })
  })
}

interface Answer { status: number, reason: string, type?: string, body: string }

const DEVICES = JSON.stringify({ items: [{ id: 'd1', name: 'nic0' }] })
const PROBLEM = { type: 'https://virq.dev/problems/ebusy', title: 'Device or resource busy', status: 409, detail: 'vector 3 is busy', errno: 'EBUSY', errnoValue: 16, reason: 'vector-busy' }

/** What the scripted server answers, by request path (without the query). */
const ANSWERS: Record<string, Answer> = {
  '/v1/devices': { status: 200, reason: 'OK', type: 'application/json', body: DEVICES },
  '/v1/devices/busy': { status: 409, reason: 'Conflict', type: 'application/problem+json', body: JSON.stringify(PROBLEM) },
  '/v1/devices/proxy': { status: 502, reason: 'Bad Gateway', type: 'text/plain', body: 'upstream went away\n' },
  '/v1/devices/empty': { status: 503, reason: 'Service Unavailable', body: '' },
  '/v1/devices/text': { status: 200, reason: 'OK', type: 'text/plain', body: 'not json' }
}

interface Seen { path: string, headers: Record<string, string>, answeredAt: number }

/**
 * An HTTP/1.1 server written on a bare socket so that it never closes a connection: it
 * answers `Connection: keep-alive` whatever the client asked, and only the client can end it.
 */
async function scripted (): Promise<{ server: Server, url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffer = ''
    socket.on('data', (b) => {
      buffer += b.toString('latin1')
      let end: number
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const [line, ...fields] = buffer.slice(0, end).split('\r\n')
        buffer = buffer.slice(end + 4) // the CLI's GETs have no body
        const path = line.split(' ')[1].split('?')[0]
        const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]))
        const a = ANSWERS[path] ?? { status: 404, reason: 'Not Found', body: '' }
        const body = Buffer.from(a.body)
        socket.write(`HTTP/1.1 ${a.status} ${a.reason}\r\n${a.type !== undefined ? `content-type: ${a.type}\r\n` : ''}` +
          `content-length: ${body.length}\r\nconnection: keep-alive\r\nkeep-alive: timeout=600\r\n\r\n`)
        socket.write(body)
        seen.push({ path, headers, answeredAt: performance.now() })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen }
}

const { url, seen } = await scripted()

t.test('the CLI exits once its answer is read, although the server keeps the connection open', async (t) => {
  const r = await run(['--url', url, '--json', 'devices', 'list'])
  t.same({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' })
  t.same(JSON.parse(r.stdout), JSON.parse(DEVICES))
  const req = seen.find((s) => s.path === '/v1/devices')
  t.ok(req, 'the server saw the request')
  // A socket of its own, closed after the answer: a keep-alive pool (fetch's, or node's global
  // agent) would ask to keep it and then hold the finished process open for seconds.
  t.equal(req!.headers.connection, 'close', 'the request asks the server to close the connection')
  // The server here never closes the connection, so a client waiting for it would be killed
  // by run()'s 60 s timeout; the bound is generous for a loaded machine.
  t.ok(r.exitedAt - req!.answeredAt < 5_000, `exited ${Math.round(r.exitedAt - req!.answeredAt)} ms after the answer`)
})

t.test('answers that are errors or not JSON, and an unreachable server: their messages and exit statuses', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) })
  })
  const cases: Array<{ rule: string, args: string[], code: number, stdout: string, stderr: string }> = [
    {
      rule: 'problem+json: its detail, errno and reason on stderr; exit with the errno\'s number',
      args: ['--url', url, 'devices', 'show', 'busy'],
      code: 16,
      stdout: '',
      stderr: 'virq: vector 3 is busy (EBUSY, reason vector-busy, HTTP 409)\n'
    },
    {
      rule: 'problem+json under --json: the problem also on stdout, as the server sent it',
      args: ['--url', url, '--json', 'devices', 'show', 'busy'],
      code: 16,
      stdout: `${JSON.stringify(PROBLEM)}\n`,
      stderr: 'virq: vector 3 is busy (EBUSY, reason vector-busy, HTTP 409)\n'
    },
    {
      rule: 'an error with a text body: the text is the detail; exit 1',
      args: ['--url', url, 'devices', 'show', 'proxy'],
      code: 1,
      stdout: '',
      stderr: 'virq: upstream went away (HTTP 502)\n'
    },
    {
      rule: 'an error without a body: method, path and status line; exit 1',
      args: ['--url', url, 'devices', 'show', 'empty'],
      code: 1,
      stdout: '',
      stderr: 'virq: GET /v1/devices/empty: HTTP 503 Service Unavailable (HTTP 503)\n'
    },
    {
      rule: 'a success whose body is not JSON: exit 1',
      args: ['--url', url, 'devices', 'show', 'text'],
      code: 1,
      stdout: '',
      stderr: 'virq: GET /v1/devices/text: the server answered 200 with a body that is not JSON\n'
    },
    {
      rule: 'nothing listening: "cannot reach virq" with the error code; exit 1',
      args: ['--url', `http://127.0.0.1:${port}`, 'devices', 'list'],
      code: 1,
      stdout: '',
      stderr: `virq: cannot reach virq at http://127.0.0.1:${port}: ECONNREFUSED\n`
    }
  ]
  const runs = await Promise.all(cases.map(async (c) => await run(c.args)))
  cases.forEach((c, i) => t.same({ code: runs[i].code, stdout: runs[i].stdout, stderr: runs[i].stderr }, { code: c.code, stdout: c.stdout, stderr: c.stderr }, c.rule))
})

t.test('only the command group the arguments name is loaded; anything else gets the whole tree', async (t) => {
  const cases: Array<[string[], string | undefined]> = [
    [['devices', 'list'], 'devices'],
    [['--json', 'irqs', 'info', 'x'], 'irqs'],
    [['--url', 'http://h:1', 'fire', 'x', 'msix'], 'fire'],
    [['--token', 'devices', 'eventfd', 'list'], 'eventfd'], // a global option's value is not a command
    [['--url=http://h:1', 'vfio-user', 'list'], 'vfio-user'],
    [['--help'], undefined],
    [['help', 'devices'], undefined],
    [['devicez', 'list'], undefined],
    [['--', 'devices'], undefined],
    [[], undefined]
  ]
  for (const [args, want] of cases) t.equal(commandOf(['node', 'virq', ...args]), want, args.join(' ') || '(none)')
})
