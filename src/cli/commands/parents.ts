import { Command } from 'commander'
import type { Static } from '@sinclair/typebox'
import type { ParentSchema } from '../../http/schemas.ts'
import { seg } from '../client.ts'
import { ctx, examples, int, show } from '../common.ts'
import { record, table } from '../format.ts'

// `virq parents`: IMS parents (docs/model.md 13), whose interrupt message store backs the
// MSI-X vectors of the devices created under them (`virq devices create --parent ID`).

type Parent = Static<typeof ParentSchema>

const slots = (p: Parent): string => `${p.slots.used}/${p.slots.total} used, ${p.slots.free} free`

function parentRecord (p: Parent): string {
  const head = record([
    ['id', p.id],
    ['name', p.name],
    ['ims slots', slots(p)],
    ['devices', p.devices.length],
    ['created', p.createdAt]
  ])
  if (p.devices.length === 0) return head
  return `${head}\n\n${table(['DEVICE', 'NAME', 'SLOTS'], p.devices.map((d) => [d.id, d.name, d.slots]))}`
}

function parentTable (items: Parent[]): string {
  if (items.length === 0) return 'no parents'
  return table(['ID', 'NAME', 'SLOTS', 'USED', 'FREE', 'DEVICES'],
    items.map((p) => [p.id, p.name, p.slots.total, p.slots.used, p.slots.free, p.devices.length]))
}

export function parentsCommand (): Command {
  const parents = new Command('parents').description('IMS parents: interrupt message stores that back the MSI-X of the devices under them')
  examples(parents, 'virq parents create --name dsa0 --slots 2048', 'virq parents list')

  examples(parents.command('create')
    .description('create a parent (POST /v1/parents); prints it, with its id')
    .option('--name <name>', 'parent name (default: its id)')
    .requiredOption('--slots <n>', 'entries in its IMS store, 1..65536', int(1, 65536))
    .action(async (opts: { name?: string, slots: number }, cmd: Command) => {
      const c = ctx(cmd)
      const body = { ...(opts.name !== undefined ? { name: opts.name } : {}), imsSlots: opts.slots }
      const res = await c.client.post<Parent>('/v1/parents', { body })
      show(c, res.body, () => parentRecord(res.body as Parent))
    }),
  'virq parents create --name dsa0 --slots 2048',
  'P=$(virq --json parents create --slots 64 | jq -r .id); virq devices create --template idxd-vdev --parent $P')

  examples(parents.command('list')
    .description('list parents with their slots total, used and free')
    .action(async (_opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const items = await c.client.all<Parent>('/v1/parents')
      show(c, { items }, () => parentTable(items))
    }),
  'virq parents list')

  examples(parents.command('show')
    .description('show one parent: its slots and the slots each of its devices holds')
    .argument('<id>', 'parent id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.get<Parent>(`/v1/parents/${seg(id)}`)
      show(c, res.body, () => parentRecord(res.body as Parent))
    }),
  'virq parents show 5d1e...')

  examples(parents.command('delete')
    .description('delete a parent; refused (HTTP 409, EBUSY) while devices are created under it')
    .argument('<id>', 'parent id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.delete(`/v1/parents/${seg(id)}`)
      show(c, res.body, () => `deleted parent ${id}`)
    }),
  'virq parents delete 5d1e...')

  return parents
}
