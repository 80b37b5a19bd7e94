import { Command } from 'commander'
import { seg } from '../client.ts'
import { ctx, examples, show } from '../common.ts'
import { table } from '../format.ts'

// `virq vfio-user start|status|stop ID`: serve a device to a VMM over vfio-user (docs/model.md 14).

interface ClientStats { version: { major: number, minor: number } | null, messages: Record<string, number>, errors: number, externalEventfds: number }
interface State { socket: string, state: string, connections: number, refused: number, client: ClientStats | null }

function render (s: State): string {
  const rows: Array<Array<string | number>> = [[s.state, s.socket, s.connections, s.refused]]
  let out = table(['STATE', 'SOCKET', 'CONNECTIONS', 'REFUSED'], rows)
  if (s.client !== null) {
    const v = s.client.version === null ? '-' : `${s.client.version.major}.${s.client.version.minor}`
    const msgs = Object.entries(s.client.messages).map(([k, n]) => `${k}=${n}`).join(' ')
    out += `\nclient: version ${v}, ${s.client.externalEventfds} eventfds held, ${s.client.errors} error replies\nmessages: ${msgs}`
  }
  return out
}

export function vfioUserCommand (): Command {
  const cmd = new Command('vfio-user')
    .description('serve a device to a VMM over vfio-user (QEMU: -device \'{"driver":"vfio-user-pci","socket":{"path":"SOCKET","type":"unix"}}\')')
  const start = cmd.command('start')
    .description('start serving the device on a UNIX socket (POST /v1/devices/ID/vfio-user); prints the socket path')
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const c = ctx(sub)
      const res = await c.client.post<State>(`/v1/devices/${seg(id)}/vfio-user`, { body: undefined })
      show(c, res.body, () => render(res.body as State))
    })
  examples(start, 'virq vfio-user start $ID    # then: qemu-system-x86_64 ... -device \'{"driver":"vfio-user-pci","socket":{"path":"SOCKET","type":"unix"}}\'')
  const status = cmd.command('status')
    .description('listening or connected, the negotiated version and message counts (GET /v1/devices/ID/vfio-user)')
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const c = ctx(sub)
      const res = await c.client.get<State>(`/v1/devices/${seg(id)}/vfio-user`)
      show(c, res.body, () => render(res.body as State))
    })
  examples(status, 'virq vfio-user status $ID', 'virq --json vfio-user status $ID | jq .client.messages')
  const stop = cmd.command('stop')
    .description('stop serving: the client is disconnected (its interrupts torn down) and the socket removed')
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, sub: Command) => {
      const c = ctx(sub)
      await c.client.delete(`/v1/devices/${seg(id)}/vfio-user`)
      show(c, { stopped: id }, () => `stopped serving ${id}`)
    })
  examples(stop, 'virq vfio-user stop $ID')
  return examples(cmd,
    'virq vfio-user start $ID',
    'virq vfio-user status $ID',
    'virq vfio-user stop $ID')
}
