import { createRequire } from 'node:module'
import { Command, Option } from 'commander'
import { DEFAULT_URL } from './common.ts'
import { backupCommand } from './commands/backup.ts'
import { devicesCommand } from './commands/devices.ts'
import { parentsCommand } from './commands/parents.ts'
import { eventfdCommand } from './commands/eventfd.ts'
import { fireCommand } from './commands/fire.ts'
import { irqsCommand } from './commands/irqs.ts'
import { serveCommand } from './commands/serve.ts'
import { topCommand } from './commands/top.ts'
import { vfioUserCommand } from './commands/vfio-user.ts'

// The virq command tree: global options, the command groups, and the help texts.

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

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

export function buildProgram (): Command {
  const program = new Command('virq')
    .description('virq: emulated vfio-pci interrupts over HTTP (GET_IRQ_INFO, SET_IRQS, eventfds, device interrupts)')
    .version(version)
    .addOption(new Option('--url <url>', 'virq server to talk to').env('VIRQ_URL').default(DEFAULT_URL))
    // The environment variable is the safer way: a flag shows in `ps` and in shell history.
    .addOption(new Option('--token <token>', 'bearer token (tenant or admin) when the server runs with --admin-token; prefer VIRQ_TOKEN').env('VIRQ_TOKEN'))
    .option('--json', 'print the server\'s JSON answer as is (for scripts) instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', HELP)
  program.addCommand(devicesCommand())
  program.addCommand(parentsCommand())
  program.addCommand(irqsCommand())
  program.addCommand(eventfdCommand())
  program.addCommand(fireCommand())
  program.addCommand(topCommand())
  program.addCommand(serveCommand())
  program.addCommand(backupCommand())
  program.addCommand(vfioUserCommand())
  return program
}
