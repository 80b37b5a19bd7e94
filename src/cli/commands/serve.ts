import { spawn } from 'node:child_process'
import { Command } from 'commander'
import { SETTINGS } from '../../config.ts'
import { packagePath } from '../../paths.ts'
import { examples } from '../common.ts'

// `virq serve`: the same as `npm start`, run as a child process with the flags passed through.

// Compiled (from dist/) it starts dist/server.js, the server's bundle, with plain node; run from
// the sources (src/cli/commands/serve.ts) it starts src/server.ts through tsx.
const COMPILED = import.meta.url.endsWith('.js')
const SERVER = packagePath(COMPILED ? 'dist/server.js' : 'src/server.ts')

export function serveCommand (): Command {
  const serve = new Command('serve')
    .summary('run the virq server (like npm start)')
    .description('run the virq server (like npm start). Flags win over environment variables, which win over defaults')
  for (const s of SETTINGS) serve.option(`--${s.flag} <value>`, `${s.help} (env ${s.env}, default ${s.default})`)
  serve.action(async (opts: Record<string, string | undefined>) => {
    const args: string[] = []
    for (const s of SETTINGS) {
      const value = opts[s.key]
      if (value !== undefined) args.push(`--${s.flag}`, value)
    }
    // The tsx loader by absolute URL, so `virq serve` works from any directory.
    const loader = COMPILED ? [] : ['--import', import.meta.resolve('tsx')]
    const child = spawn(process.execPath, [...loader, SERVER, ...args], { stdio: 'inherit' })
    // A terminal's Ctrl-C reaches the child too; a signal sent to this process alone is passed on.
    const forward = (signal: NodeJS.Signals) => (): void => { child.kill(signal) }
    const onInt = forward('SIGINT')
    const onTerm = forward('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => { process.stderr.write(`virq: cannot start the server: ${err.message}\n`); resolve(1) })
      child.on('exit', (status, signal) => resolve(status ?? (signal !== null ? 128 + signalNumber(signal) : 1)))
    })
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
    process.exitCode = code
  })
  return examples(serve, 'virq serve', 'virq serve --port 0 --db :memory: --log-level warn', 'VIRQ_PORT=9000 virq serve')
}

function signalNumber (signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0
}
