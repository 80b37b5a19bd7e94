import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from '../helper.ts'

// A newcomer's pass: the README's walk-through blocks (those marked `<!-- newcomer: run -->`),
// pasted into bash in order against a fresh server, as they are; only the address changes
// (the server listens on a free port, not 8080). Every command must succeed (set -e), and
// every `# => X` line must be what the command before it printed (JSON: equal; text: one of its lines).

const ROOT = new URL('../../', import.meta.url).pathname

interface Step { command: string, expect: string | null }

/** The marked ```sh blocks, as commands (continuation lines joined) and the `# =>` after each. */
export function readmeSteps (readme: string): Step[] {
  const steps: Step[] = []
  const blocks = [...readme.matchAll(/<!-- newcomer: run -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1])
  for (const block of blocks) {
    const lines = block.split('\n')
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]
      const expect = /^# => (.*)$/.exec(line)
      if (expect !== null) {
        const last = steps[steps.length - 1]
        if (last === undefined || last.expect !== null) throw new Error(`"# =>" without a command before it: ${line}`)
        last.expect = expect[1]
        continue
      }
      if (line.trim() === '' || line.trim().startsWith('#')) continue
      while (line.endsWith('\\')) line = `${line}\n${lines[++i]}`
      steps.push({ command: line, expect: null })
    }
  }
  return steps
}

const tools = ['curl', 'jq'].filter((tool) => spawnSync(tool, ['--version']).status !== 0)

t.test('README: the walk-through pastes and answers as written', { skip: tools.length > 0 && process.env.VIRQ_REQUIRE_TOOLS === undefined ? `needs ${tools.join(' and ')}` : false }, async (t) => {
  if (tools.length > 0) {
    t.fail(`VIRQ_REQUIRE_TOOLS is set but ${tools.join(' and ')} missing`)
    return
  }
  const steps = readmeSteps(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  t.ok(steps.length >= 20, `the README has its walk-through (${steps.length} commands)`)
  t.ok(steps.filter((s) => s.expect !== null).length >= 12, 'with answers to check')

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--db', join(tempDir(t), 'readme.db'), '--port', '0', '--log-level', 'warn'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /virq listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m !== null) { clearInterval(timer); resolve(m[1]) }
    }, 20)
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`server exited ${code}`)) })
  })

  // A loaded test machine can stall the fresh server past its overload guard's second (503
  // with Retry-After): wait, as a client would, until it answers normally.
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/devices`).catch(() => null)
    if (res !== null && res.status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }

  // One bash for every block, so that variables carry over as in a terminal; a marker before
  // each command tells whose output is whose.
  const script = ['set -euo pipefail', ...steps.map((s, i) => `printf "\\n@@step ${i}\\n"\n${s.command.replace(/localhost:8080/g, `127.0.0.1:${port}`)}`)].join('\n')
  // VIRQ_SOURCE=1: the CLI in the blocks runs the sources in the tree, never a stale dist/ build.
  const run = spawnSync('bash', ['-c', script], {
    cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, VIRQ_URL: `http://127.0.0.1:${port}`, npm_config_loglevel: 'silent', VIRQ_SOURCE: '1' }
  })
  const outputs = run.stdout.split(/^@@step \d+\n/m).slice(1)
  t.equal(run.status, 0, `every command succeeds (stopped after step ${outputs.length - 1}: ${steps[outputs.length - 1]?.command}\n${run.stderr})`)
  t.equal(outputs.length, steps.length, 'every command ran')
  steps.forEach((step, i) => {
    if (step.expect === null || outputs[i] === undefined) return
    const got = outputs[i].trim()
    let expected: unknown = null
    try { expected = JSON.parse(step.expect) } catch {}
    if (expected !== null && typeof expected === 'object') t.same(JSON.parse(got), expected, step.command)
    else t.ok(got.split('\n').some((l) => l.trim() === step.expect), `${step.command}\n  printed: ${got}`)
  })
  child.kill('SIGTERM')
})
