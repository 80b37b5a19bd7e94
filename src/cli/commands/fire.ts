import { Command, Option } from 'commander'
import { MSIX_MAX_TABLE_SIZE } from '../../core/constants.ts'
import { MAX_FIRE_COUNT } from '../../http/bounds.ts'
import { seg } from '../client.ts'
import { ctx, examples, int, intList, irqIndex, show } from '../common.ts'
import { table } from '../format.ts'

interface FireResult { fired: number, delivered: number, lost: number, pended: number, coalesced: number }
interface FireOpts { vector?: number, count?: number, vectors?: number[], level?: string }

export function fireCommand (): Command {
  const fire = new Command('fire')
    .summary('the device fires interrupts: MSI/MSI-X vectors, INTx level, ERR, REQ')
    .description('the device fires interrupts (POST /v1/devices/ID/interrupts): MSI/MSI-X vectors, an INTx level, ERR or REQ; ' +
      'prints how many were fired, delivered to a trigger eventfd, and lost')
    .argument('<id>', 'device id')
    .argument('<index>', 'IRQ index (intx, msi, msix, err, req or 0-4)', irqIndex)
    .option('--vector <n>', 'MSI/MSI-X: the vector to fire (with --count)', int(0, MSIX_MAX_TABLE_SIZE - 1))
    .option('--count <n>', 'how many times --vector (or ERR/REQ) fires; default 1', int(1, MAX_FIRE_COUNT))
    .option('--vectors <list>', 'MSI/MSI-X: fire each, in order; repeats fire again (e.g. 0,3,3)', intList(0, MSIX_MAX_TABLE_SIZE - 1))
    .addOption(new Option('--level <level>', 'INTx: drive the line (default pulse)').choices(['assert', 'deassert', 'pulse']))
    .action(async (id: string, index: string, opts: FireOpts, cmd: Command) => {
      const c = ctx(cmd)
      if (opts.vectors !== undefined && (opts.vector !== undefined || opts.count !== undefined)) {
        cmd.error('error: give either --vectors LIST, or --vector N with --count N')
      }
      const body = {
        index,
        ...(opts.vectors !== undefined ? { vectors: opts.vectors } : {}),
        ...(opts.vector !== undefined ? { vector: opts.vector } : {}),
        ...(opts.count !== undefined ? { count: opts.count } : {}),
        ...(opts.level !== undefined ? { level: opts.level } : {})
      }
      const res = await c.client.post<FireResult>(`/v1/devices/${seg(id)}/interrupts`, { body })
      const r = res.body as FireResult
      show(c, r, () => table(['FIRED', 'DELIVERED', 'LOST', 'PENDED', 'COALESCED'], [[r.fired, r.delivered, r.lost, r.pended, r.coalesced]]))
    })
  fire.addHelpText('after', '\nLost interrupts are counted per vector and reason; a fire on a masked MSI-X vector sets its pending bit\n' +
    '(pended) or joins one already set (coalesced): see `virq irqs vectors ID INDEX` and `virq irqs pba ID msix`.\n')
  return examples(fire,
    'virq fire $ID msix --vectors 0,5,5,6     # => fired 4, delivered 3, pended 1 (vector 6 has no trigger: masked)',
    'virq fire $ID msix --vector 3 --count 1000',
    'virq fire $ID intx --level assert',
    'virq fire $ID err')
}
