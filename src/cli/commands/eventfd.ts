import { Command } from 'commander'
import type { Static } from '@sinclair/typebox'
import type { Eventfd as EventfdSchema } from '../../http/schemas.ts'
import { MAX_READ_WAIT_MS } from '../../http/bounds.ts'
import { CliError, seg } from '../client.ts'
import { ctx, examples, listAction, int, show } from '../common.ts'
import { cell, record, table } from '../format.ts'
import { watch } from './watch.ts'

type Eventfd = Static<typeof EventfdSchema>

/** Exit status of a read that found nothing: EAGAIN, as read(2) on a non-blocking eventfd. */
const EXIT_EAGAIN = 11
const fdArg = int(1)

function eventfdRecord (e: Eventfd): string {
  const pairs: Array<[string, string | number | boolean | null]> = [
    ['fd', e.fd], ['value', e.value], ['semaphore', e.semaphore], ['label', e.label], ['created', e.createdAt]
  ]
  if (e.bindings !== undefined) {
    pairs.push(['bindings', e.bindings.length === 0 ? '-' : e.bindings.map((b) => `${b.deviceId} ${b.name}[${b.vector}] ${b.role}`).join('; ')])
  }
  return record(pairs)
}

function eventfdTable (items: Eventfd[]): string {
  if (items.length === 0) return 'no eventfds'
  return table(['FD', 'VALUE', 'SEMAPHORE', 'LABEL', 'CREATED'], items.map((e) => [e.fd, e.value, e.semaphore, cell(e.label), e.createdAt]))
}

export function eventfdCommand (): Command {
  const eventfd = new Command('eventfd').description('eventfd-like counters that interrupts signal and readers drain')
  examples(eventfd, 'virq eventfd create --label vec0', 'virq eventfd read 1 --timeout 5000', 'virq eventfd watch 1')

  examples(eventfd.command('create')
    .description('create an eventfd (POST /v1/eventfds); prints it, with its fd number')
    .option('--semaphore', 'EFD_SEMAPHORE: each read takes 1')
    .option('--label <label>', 'a label for humans')
    .action(async (opts: { semaphore?: boolean, label?: string }, cmd: Command) => {
      const c = ctx(cmd)
      const body = { ...(opts.semaphore === true ? { semaphore: true } : {}), ...(opts.label !== undefined ? { label: opts.label } : {}) }
      const res = await c.client.post<Eventfd>('/v1/eventfds', { body })
      show(c, res.body, () => eventfdRecord(res.body as Eventfd))
    }),
  'virq eventfd create --label vm1-q0', 'FD=$(virq --json eventfd create | jq .fd)')

  examples(eventfd.command('list')
    .description('list eventfds with their counters (all pages, unless --limit or --cursor asks for one)')
    .option('--limit <n>', 'one page of at most n eventfds', int(1, 1000))
    .option('--cursor <cursor>', 'the page after this cursor')
    .action(listAction<Eventfd>('/v1/eventfds', eventfdTable)),
  'virq eventfd list')

  examples(eventfd.command('show')
    .description('show one eventfd: its counter (not consumed) and the vectors it is bound to')
    .argument('<fd>', 'eventfd number', fdArg)
    .action(async (fd: number, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.get<Eventfd>(`/v1/eventfds/${seg(fd)}`)
      show(c, res.body, () => eventfdRecord(res.body as Eventfd))
    }),
  'virq eventfd show 1')

  examples(eventfd.command('read')
    .summary('read(2): take the counter; nothing to read: exit 11 (EAGAIN)')
    .description('read(2): take the counter (semaphore: 1) and print it. Nothing to read (after --timeout): ' +
      `prints nothing on stdout, "EAGAIN" on stderr, exit status ${EXIT_EAGAIN}`)
    .argument('<fd>', 'eventfd number', fdArg)
    .option('--timeout <ms>', `wait up to ms for a value (0..${MAX_READ_WAIT_MS}, default 0: do not wait)`, int(0, MAX_READ_WAIT_MS))
    .action(async (fd: number, opts: { timeout?: number }, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.post<{ value: number }>(`/v1/eventfds/${seg(fd)}/read`, { query: { timeoutMs: opts.timeout } })
      if (res.status === 204 || res.body === undefined) throw new CliError(`EAGAIN: eventfd ${fd} has nothing to read`, EXIT_EAGAIN)
      show(c, res.body, () => String(res.body?.value))
    }),
  'virq eventfd read 2                # => 2 (two interrupts, coalesced)',
  'virq eventfd read 2 --timeout 5000 || echo "nothing within 5 s (exit $?)"')

  examples(eventfd.command('write')
    .description('write(2): add value (default 1) to the counter; prints the counter after the write')
    .argument('<fd>', 'eventfd number', fdArg)
    .argument('[value]', 'what to add (default 1)', int(0))
    .action(async (fd: number, value: number | undefined, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.post<{ value: number }>(`/v1/eventfds/${seg(fd)}/write`, { body: { value: value ?? 1 } })
      show(c, res.body, () => `counter ${res.body?.value}`)
    }),
  'virq eventfd write 3        # an INTx unmask eventfd: unmasks the line')

  examples(eventfd.command('watch')
    .summary('follow the eventfd\'s event stream, one value per line, until Ctrl-C')
    .description('be the eventfd\'s reader (GET /v1/eventfds/FD/events, Server-Sent Events): print the value each read ' +
      'takes, one per line (--json: {"fd":N,"value":N}), until Ctrl-C, --count events, or the eventfd is deleted')
    .argument('<fd>', 'eventfd number', fdArg)
    .option('--count <n>', 'stop after n events', int(1))
    .action(async (fd: number, opts: { count?: number }, cmd: Command) => {
      await watch(ctx(cmd), fd, opts.count)
    }),
  'virq eventfd watch 1', 'virq --json eventfd watch 1 --count 10')

  examples(eventfd.command('delete')
    .description('close an eventfd; EBUSY (exit 16) while bound to a vector unless --force')
    .argument('<fd>', 'eventfd number', fdArg)
    .option('--force', 'de-assign it from every vector first')
    .action(async (fd: number, opts: { force?: boolean }, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.delete(`/v1/eventfds/${seg(fd)}`, { query: { force: opts.force === true ? true : undefined } })
      show(c, res.body, () => `deleted eventfd ${fd}`)
    }),
  'virq eventfd delete 2 --force')

  return eventfd
}
