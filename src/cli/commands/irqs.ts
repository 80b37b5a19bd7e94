import { Command, Option } from 'commander'
import type { Static } from '@sinclair/typebox'
import type { IrqIndex as IrqIndexSchema, SetIrqsBody, Vector as VectorSchema } from '../../http/schemas.ts'
import { seg } from '../client.ts'
import { boolList, ctx, examples, ifMatch, int, intList, irqIndex, show } from '../common.ts'
import { cell, list, nonZero, table } from '../format.ts'

type Irq = Static<typeof IrqIndexSchema>
type Vector = Static<typeof VectorSchema>
interface Vectors { index: number, name: string, count: number, items: Vector[] }
interface Pba { pending: number[], words: string[] }
interface SetResult { result: number, irq: Irq, version: number }

/** The configuration part of one index, in a few words. */
function state (i: Irq): string {
  const parts: string[] = []
  if (i.trigger !== undefined) parts.push(`trigger ${cell(i.trigger)}`)
  if (i.masked !== undefined) parts.push(`masked ${cell(i.masked)}`)
  if (i.line !== undefined) parts.push(`line ${i.line ? 'high' : 'low'}`)
  if (i.unmaskEventfd !== undefined) parts.push(`unmask-fd ${cell(i.unmaskEventfd)}`)
  if (i.dynamic !== undefined) parts.push(i.dynamic ? 'dynamic' : 'noresize')
  if (i.enabledVectors !== undefined) parts.push(`enabled-vectors ${i.enabledVectors}`)
  if (i.hostVectors !== undefined) parts.push(`host-vectors ${i.hostVectors}`)
  if (i.triggers !== undefined) parts.push(`triggers ${i.triggers}`)
  return parts.join(', ')
}

function irqTable (items: Irq[]): string {
  return table(['INDEX', 'NAME', 'COUNT', 'FLAGS', 'ENABLED', 'FIRED', 'DELIVERED', 'LOST', 'PENDING', 'STATE'],
    items.map((i) => [i.index, i.name, i.count, `${list(i.flags)} (0x${i.flagsValue.toString(16)})`, i.enabled,
      i.totals.fired, i.totals.delivered, i.totals.lost, i.totals.pending, state(i)]))
}

function vectorTable (v: Vectors): string {
  if (v.items.length === 0) return `${v.name}: no vectors (count ${v.count})`
  return table(['VECTOR', 'ALLOCATED', 'BACKING', 'TRIGGER', 'MASKED BY', 'PENDING', 'FIRED', 'DELIVERED', 'FROM PENDING', 'PENDED', 'COALESCED', 'LOST', 'LOST BY'],
    v.items.map((x) => [x.vector, x.allocated, x.backing, x.trigger, list(x.maskedBy), x.pending, x.fired, x.delivered, x.deliveredFromPending,
      x.pended, x.coalesced, x.lost, nonZero(x.lostBy)]))
}

interface SetOpts { action: 'trigger' | 'mask' | 'unmask', start?: number, count?: number, fds?: number[], bools?: boolean[], none?: boolean, ifMatch?: number }

function setBody (opts: SetOpts, cmd: Command): SetIrqsBody {
  const given = [opts.fds, opts.bools, opts.none].filter((x) => x !== undefined).length
  if (given !== 1) cmd.error('error: give exactly one of --fds LIST, --bools LIST or --none')
  const data: SetIrqsBody['data'] = opts.fds !== undefined
    ? { type: 'eventfd', fds: opts.fds }
    : opts.bools !== undefined ? { type: 'bool', values: opts.bools } : { type: 'none' }
  return {
    action: opts.action,
    ...(opts.start !== undefined ? { start: opts.start } : {}),
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    data
  }
}

export function irqsCommand (): Command {
  const irqs = new Command('irqs').description('GET_IRQ_INFO, SET_IRQS and per-vector counters of a device\'s interrupt indexes')
  irqs.addHelpText('after', '\nINDEX is intx, msi, msix, err, req or its number 0-4.\n')
  examples(irqs, 'virq irqs info $ID', 'virq irqs set $ID msix --action trigger --start 0 --fds 1,-1,2')

  examples(irqs.command('info')
    .description('VFIO_DEVICE_GET_IRQ_INFO for every index (or one), with its current configuration')
    .argument('<id>', 'device id')
    .argument('[index]', 'one IRQ index (intx, msi, msix, err, req or 0-4)', irqIndex)
    .action(async (id: string, index: string | undefined, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      if (index === undefined) {
        const res = await c.client.get<{ items: Irq[] }>(`/v1/devices/${seg(id)}/irqs`)
        show(c, res.body, () => irqTable(res.body?.items ?? []))
        return
      }
      const res = await c.client.get<Irq>(`/v1/devices/${seg(id)}/irqs/${seg(index)}`)
      show(c, res.body, () => irqTable([res.body as Irq]))
    }),
  'virq irqs info $ID', 'virq irqs info $ID msix   # no "noresize" flag: vectors can be added while enabled')

  examples(irqs.command('set')
    .description('VFIO_DEVICE_SET_IRQS: mask, unmask or trigger vectors [start, start+count) of an index')
    .argument('<id>', 'device id')
    .argument('<index>', 'IRQ index (intx, msi, msix, err, req or 0-4)', irqIndex)
    .addOption(new Option('--action <action>', 'ACTION_TRIGGER, ACTION_MASK or ACTION_UNMASK').choices(['trigger', 'mask', 'unmask']).makeOptionMandatory())
    .option('--start <n>', 'first vector (default 0)', int(0, 0xffffffff))
    .option('--count <n>', 'number of vectors (default: the length of --fds/--bools; required with --none)', int(0, 0xffffffff))
    .option('--fds <list>', 'DATA_EVENTFD: eventfd numbers, -1 de-assigns (e.g. 1,-1,3)', intList(-2147483648, 2147483647))
    .option('--bools <list>', 'DATA_BOOL: one 1/0 per vector (e.g. 1,0)', boolList)
    .option('--none', 'DATA_NONE (with --action trigger and --count 0: disable the index)')
    .option('--if-match <version>', 'only if the device is at this version (else HTTP 412, exit 1)', int(0))
    .action(async (id: string, index: string, opts: SetOpts, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.post<SetResult>(`/v1/devices/${seg(id)}/irqs/${seg(index)}`, { body: setBody(opts, cmd), headers: ifMatch(opts.ifMatch) })
      const r = res.body as SetResult
      show(c, r, () => `result ${r.result}${r.result > 0 ? ' (only this many host vectors: retry with this count)' : ''}, device version ${r.version}\n${irqTable([r.irq])}`)
    }),
  'virq irqs set $ID msix --action trigger --start 0 --fds -1      # enable MSI-X, vector 0 allocated, no trigger',
  'virq irqs set $ID msix --action trigger --start 5 --fds 2       # add vector 5 (EINVAL, exit 22, under linux-6.1)',
  'virq irqs set $ID msix --action trigger --count 0 --none        # disable MSI-X',
  'virq irqs set $ID intx --action unmask --fds 3                  # INTx unmask eventfd (a second one: EBUSY, exit 16)',
  'virq irqs set $ID intx --action mask --bools 1')

  examples(irqs.command('vectors')
    .description('per-vector state of an index: host vector, trigger eventfd, fired/delivered/lost counters')
    .argument('<id>', 'device id')
    .argument('<index>', 'IRQ index (intx, msi, msix, err, req or 0-4)', irqIndex)
    .option('--active', 'only vectors with a host vector or a trigger')
    .option('--lost', 'only vectors that lost interrupts')
    .action(async (id: string, index: string, opts: { active?: boolean, lost?: boolean }, cmd: Command) => {
      const c = ctx(cmd)
      const query = [opts.active === true ? 'active=true' : '', opts.lost === true ? 'lost=true' : ''].filter((q) => q !== '').join('&')
      const res = await c.client.get<Vectors>(`/v1/devices/${seg(id)}/irqs/${seg(index)}/vectors${query === '' ? '' : `?${query}`}`)
      show(c, res.body, () => vectorTable(res.body as Vectors))
    }),
  'virq irqs vectors $ID msix', 'virq irqs vectors $ID msix --lost     # only the vectors that lost interrupts')

  examples(irqs.command('pba')
    .description('the Pending Bit Array of MSI-X (or per-vector-mask MSI) as a guest reads it: pending vectors and 64-bit words')
    .argument('<id>', 'device id')
    .argument('[index]', 'msix (default) or msi', irqIndex)
    .action(async (id: string, index: string | undefined, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.get<Pba>(`/v1/devices/${seg(id)}/irqs/${seg(index ?? 'msix')}/pba`)
      const r = res.body as Pba
      show(c, r, () => `pending: ${r.pending.length === 0 ? '-' : r.pending.join(',')}\n${table(['WORD', 'VALUE'], r.words.map((w, i) => [i, w]))}`)
    }),
  'virq irqs pba $ID', 'virq irqs pba $ID msi')

  return irqs
}
