import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { tempDir } from '../helper.ts'

// What the server prints: one listening line, and at --log-level debug one line per request
// with method, route, status and duration, never a token, a body or a query string.

const ROOT = new URL('../../', import.meta.url).pathname
const TOKEN = 'virq-test-secret-admin-token-0123456789'

async function serve (t: Test, level: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--db', join(tempDir(t), 'v.db'), '--port', '0', '--log-level', level], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIRQ_ADMIN_TOKEN: TOKEN }
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /virq listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) { clearInterval(timer); resolve(m[1]) }
    }, 20)
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`exited ${code}: ${out}`)) })
  })
  const stop = async (): Promise<string> => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    return out
  }
  return { url, stop }
}

/** fetch, retrying a 503 as its Retry-After asks (a loaded test machine can trip the overload guard). */
async function fetchRetry (url: string, init?: RequestInit): Promise<Response> {
  for (let i = 0; ; i++) {
    const res = await fetch(url, init)
    if (res.status !== 503 || i === 20) return res
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

t.test('the server prints one listening line, at any log level', async (t) => {
  for (const level of ['info', 'debug']) {
    const { stop } = await serve(t, level)
    const out = await stop()
    t.equal(out.split('\n').filter((l) => /listening/i.test(l)).length, 1, `${level}: ${out}`)
  }
})

t.test('--log-level debug logs each request without its token, body or query', async (t) => {
  const { url, stop } = await serve(t, 'debug')
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
  const created = await fetchRetry(`${url}/v1/admin/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ tenant: 'secret-tenant-name' }) })
  t.equal(created.status, 201, `create token: ${created.status}`)
  const createdBody = await created.json() as { token: string }
  const tenantToken = createdBody.token
  const bad = await fetchRetry(`${url}/v1/devices?limit=abc`, { headers: { authorization: `Bearer ${tenantToken}` } })
  t.equal(bad.status, 400)
  const out = await stop()
  const lines = out.split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l))
  const answered = lines.filter((l) => l.status !== 503)
  t.match(answered, [
    { level: 20, method: 'POST', route: '/v1/admin/tokens', status: 201, ms: Number },
    { level: 20, method: 'GET', route: '/v1/devices', status: 400, ms: Number }
  ])
  t.notOk(out.includes(TOKEN), 'the admin token is never logged')
  t.notOk(out.includes(tenantToken), 'a tenant token is never logged')
  t.notOk(out.includes('secret-tenant-name'), 'bodies are never logged')
  t.notOk(out.includes('limit=abc'), 'query strings are never logged')
})

t.test('--log-level info logs no request lines', async (t) => {
  const { url, stop } = await serve(t, 'info')
  t.equal((await fetchRetry(`${url}/healthz`)).status, 200)
  const out = await stop()
  t.notOk(out.includes('"msg":"request"'))
})
