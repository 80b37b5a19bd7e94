import { Command, Option } from 'commander'
import type { Static } from '@sinclair/typebox'
import type { Device as DeviceSchema } from '../../http/schemas.ts'
import { MSIX_MAX_TABLE_SIZE } from '../../core/constants.ts'
import { DEFAULT_DRIVER, DRIVER_NAMES } from '../../core/drivers/ops.ts'
import { ABIS, DEFAULT_ABI } from '../../core/profiles.ts'
import { TEMPLATE_NAMES } from '../../core/templates.ts'
import { seg } from '../client.ts'
import { ctx, examples, listAction, ifMatch, int, show } from '../common.ts'
import { list, nonZero, record, table } from '../format.ts'

type Device = Static<typeof DeviceSchema>

function caps (d: Device): string {
  const out: string[] = []
  if (d.pcie) out.push('pcie')
  if (d.reset) out.push('reset')
  if (d.intx) out.push('intx')
  if (d.msi !== undefined) out.push(`msi ${d.msi.vectors}`)
  if (d.msix !== undefined) out.push(`msix ${d.msix.tableSize}${d.msix.dynamic ? ' dynamic' : ' noresize'}`)
  if (d.parent !== null) out.push(`ims${(d.msix?.emulated ?? []).length > 0 ? ` (emulated ${(d.msix?.emulated ?? []).join(' ')})` : ''}`)
  return out.length === 0 ? '-' : out.join(', ')
}

function deviceRecord (d: Device): string {
  return record([
    ['id', d.id],
    ['name', d.name],
    ['abi', d.abi],
    ['driver', d.driver],
    ['template', d.template ?? '-'],
    ['parent', d.parent ?? '-'],
    ['capabilities', caps(d)],
    ['irq type', d.irqType],
    ['interrupts', `fired ${d.totals.fired}, delivered ${d.totals.delivered}, lost ${d.totals.lost}` +
      `${d.totals.lost > 0 ? ` (${nonZero(d.totals.lostBy)})` : ''}, pended ${d.totals.pended}, pending ${d.totals.pending}`],
    ['flags', `${list(d.info.flags)} (0x${d.info.flagsValue.toString(16)})`],
    ['regions', d.info.numRegions],
    ['irqs', d.info.numIrqs],
    ['version', d.version],
    ['created', d.createdAt]
  ])
}

export function deviceTable (items: Device[]): string {
  if (items.length === 0) return 'no devices'
  return table(['ID', 'NAME', 'ABI', 'IRQ TYPE', 'CAPABILITIES', 'VERSION'],
    items.map((d) => [d.id, d.name, d.abi, d.irqType, caps(d), d.version]))
}

interface CreateOpts { name?: string, abi?: string, driver?: string, template?: string, pcie?: boolean, reset?: boolean, intx?: boolean, msi?: number, msix?: number, dynamic?: boolean, parent?: string, emulated?: number[] }

export function devicesCommand (): Command {
  const devices = new Command('devices').description('create, list, inspect, reset and delete emulated vfio-pci devices')
  examples(devices, 'virq devices create --name nic0 --pcie --intx --msix 64', 'virq devices list')

  examples(devices.command('create')
    .description('create a device (POST /v1/devices); prints it, with its id')
    .option('--name <name>', 'device name (default: its id)')
    .addOption(new Option('--abi <abi>', `kernel behaviour to emulate (default ${DEFAULT_ABI})`).choices(ABIS))
    .addOption(new Option('--driver <driver>', `whose answers the device gives (default ${DEFAULT_DRIVER})`).choices(DRIVER_NAMES))
    .addOption(new Option('--template <template>', 'fill the capabilities of a known device (GET /v1/templates)').choices(TEMPLATE_NAMES))
    .option('--pcie', 'PCI Express: adds the ERR index')
    .option('--reset', 'supports VFIO_DEVICE_RESET')
    .option('--intx', 'has an INTx pin')
    .option('--msi <n>', 'MSI vectors: 1, 2, 4, 8, 16 or 32', int(1, 32))
    .option('--msix <n>', `MSI-X table size, 1..${MSIX_MAX_TABLE_SIZE}`, int(1, MSIX_MAX_TABLE_SIZE))
    .option('--dynamic', 'dynamic MSI-X (the linux-6.12 default)')
    .option('--no-dynamic', 'MSI-X without dynamic allocation (NORESIZE), also under linux-6.12')
    .option('--parent <id>', 'IMS-backed MSI-X: a slot of this parent per vector with an eventfd (virq parents create)')
    .option('--emulated <vector>', 'with --parent: an MSI-X vector signalled in software, no slot (repeatable)', (v: string, all: number[] = []) => [...all, int(0, MSIX_MAX_TABLE_SIZE - 1)(v)])
    .action(async (opts: CreateOpts, cmd: Command) => {
      const c = ctx(cmd)
      if (opts.dynamic !== undefined && opts.msix === undefined) cmd.error('error: --dynamic/--no-dynamic need --msix N')
      if (opts.emulated !== undefined && opts.msix === undefined) cmd.error('error: --emulated needs --msix N')
      const body = {
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.abi !== undefined ? { abi: opts.abi } : {}),
        ...(opts.driver !== undefined ? { driver: opts.driver } : {}),
        ...(opts.template !== undefined ? { template: opts.template } : {}),
        ...(opts.pcie === true ? { pcie: true } : {}),
        ...(opts.reset === true ? { reset: true } : {}),
        ...(opts.intx === true ? { intx: true } : {}),
        ...(opts.msi !== undefined ? { msi: { vectors: opts.msi } } : {}),
        ...(opts.msix !== undefined
          ? { msix: { tableSize: opts.msix, ...(opts.dynamic !== undefined ? { dynamic: opts.dynamic } : {}), ...(opts.emulated !== undefined ? { emulated: opts.emulated } : {}) } }
          : {}),
        ...(opts.parent !== undefined ? { parent: opts.parent } : {})
      }
      const res = await c.client.post<Device>('/v1/devices', { body })
      show(c, res.body, () => deviceRecord(res.body as Device))
    }),
  'virq devices create --name nic0 --pcie --reset --intx --msix 64',
  'virq devices create --abi linux-6.1 --msi 8 --msix 16',
  'virq devices create --abi tglx-2021 --template virtio-net',
  'virq devices create --abi linux-6.1 --template mtty',
  'virq devices create --template idxd-vdev --parent 5d1e... --msix 16 --emulated 0',
  'ID=$(virq --json devices create --intx | jq -r .id)')

  examples(devices.command('list')
    .description('list devices (all pages, unless --limit or --cursor asks for one page)')
    .option('--limit <n>', 'one page of at most n devices', int(1, 1000))
    .option('--cursor <cursor>', 'the page after this cursor (nextCursor of the previous page)')
    .action(listAction<Device>('/v1/devices', deviceTable)),
  'virq devices list', 'virq --json devices list --limit 10')

  examples(devices.command('show')
    .description('show one device: capabilities, GET_INFO flags, enabled interrupt type, version')
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.get<Device>(`/v1/devices/${seg(id)}`)
      show(c, res.body, () => deviceRecord(res.body as Device))
    }),
  'virq devices show 0b7c...')

  examples(devices.command('delete')
    .description('close and delete a device: disables its interrupts and returns its host vectors')
    .argument('<id>', 'device id')
    .option('--if-match <version>', 'only if the device is at this version (else HTTP 412, exit 1)', int(0))
    .action(async (id: string, opts: { ifMatch?: number }, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.delete(`/v1/devices/${seg(id)}`, { headers: ifMatch(opts.ifMatch) })
      show(c, res.body, () => `deleted device ${id}`)
    }),
  'virq devices delete 0b7c...')

  examples(devices.command('reset')
    .description('VFIO_DEVICE_RESET: keeps the interrupt configuration, lowers the INTx line')
    .argument('<id>', 'device id')
    .option('--if-match <version>', 'only if the device is at this version (else HTTP 412, exit 1)', int(0))
    .action(async (id: string, opts: { ifMatch?: number }, cmd: Command) => {
      const c = ctx(cmd)
      const res = await c.client.post<Device>(`/v1/devices/${seg(id)}/reset`, { headers: ifMatch(opts.ifMatch) })
      show(c, res.body, () => deviceRecord(res.body as Device))
    }),
  'virq devices reset 0b7c...  # EINVAL (exit 22) unless created with --reset')

  return devices
}
