import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { packagePath } from '../paths.ts'
import { DEFAULT_URL } from './common.ts'

// The virq command tree: global options, the command groups, and the help texts.

/**
 * The command groups in help order, each imported only when it is built: a call names one
 * group, and loading the other eight (with the core and config modules they read their choices
 * from) was a fifth of the CLI's start (bench/README.md, "What bounds each figure", cli).
 */
const COMMANDS: ReadonlyArray<{ name: string, load: () => Promise<Command> }> = [
  { name: 'devices', load: async () => (await import('./commands/devices.ts')).devicesCommand() },
  { name: 'parents', load: async () => (await import('./commands/parents.ts')).parentsCommand() },
  { name: 'irqs', load: async () => (await import('./commands/irqs.ts')).irqsCommand() },
  { name: 'eventfd', load: async () => (await import('./commands/eventfd.ts')).eventfdCommand() },
  { name: 'fire', load: async () => (await import('./commands/fire.ts')).fireCommand() },
  { name: 'top', load: async () => (await import('./commands/top.ts')).topCommand() },
  { name: 'serve', load: async () => (await import('./commands/serve.ts')).serveCommand() },
  { name: 'backup', load: async () => (await import('./commands/backup.ts')).backupCommand() },
  { name: 'vfio-user', load: async () => (await import('./commands/vfio-user.ts')).vfioUserCommand() }
]

/** Global options that take a value: their value is not the command's name. */
const VALUED = new Set(['--url', '--token'])

/**
 * The command group an argv names (the first word that is not a global option or its value),
 * or undefined when it names none of them: --help, --version, `help`, a typo.
 */
export function commandOf (argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') return undefined
    if (VALUED.has(a)) { i++; continue }
    if (a.startsWith('-')) continue
    return COMMANDS.some((c) => c.name === a) ? a : undefined
  }
  return undefined
}

const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }

const HELP = `
Exit status:
  0    success
  N    the server answered with an errno: its number (22 EINVAL, 16 EBUSY, 9 EBADF,
       28 ENOSPC, 25 ENOTTY, 34 ERANGE, 11 EAGAIN; also 11 for an eventfd read with nothing to read)
  1    anything else: unknown device or eventfd (404), If-Match mismatch (412), invalid
       request, bad usage, server unreachable
  Errors print the problem's detail, errno and reason on stderr; with --json the problem
  body is also printed on stdout.

Examples:
  $ virq serve --port 8080 --db :memory: &
  $ ID=$(virq --json devices create --name nic0 --pcie --intx --msix 64 | jq -r .id)
  $ virq eventfd create --label vec0
  $ virq irqs set $ID msix --action trigger --start 0 --fds 1
  $ virq fire $ID msix --vectors 0,0,1
  $ virq eventfd read 1                  # => 2
  $ virq irqs vectors $ID msix
  $ virq top                             # devices by interrupt rate, live; q quits
`

/**
 * The program with every command group, or with only `only` (main passes the one its argv
 * names; anything else, help and errors included, gets the whole tree).
 */
export async function buildProgram (only?: string): Promise<Command> {
  const program = new Command('virq')
    .description('virq: emulated vfio-pci interrupts over HTTP (GET_IRQ_INFO, SET_IRQS, eventfds, device interrupts)')
    .version(version)
    .addOption(new Option('--url <url>', 'virq server to talk to').env('VIRQ_URL').default(DEFAULT_URL))
    // The environment variable is the safer way: a flag shows in `ps` and in shell history.
    .addOption(new Option('--token <token>', 'bearer token (tenant or admin) when the server runs with --admin-token; prefer VIRQ_TOKEN').env('VIRQ_TOKEN'))
    .option('--json', 'print the server\'s JSON answer as is (for scripts) instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', HELP)
  const groups = await Promise.all(COMMANDS.filter((c) => only === undefined || c.name === only).map(async (c) => await c.load()))
  for (const g of groups) program.addCommand(g)
  return program
}
