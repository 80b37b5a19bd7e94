import { Command } from 'commander'
import { seg, type Client } from '../client.ts'
import { ctx, examples, type Ctx } from '../common.ts'
import { table } from '../format.ts'
import { sseEvents } from './watch.ts'

// `virq top`: devices sorted by interrupt rate, refreshed once a second from each device's
// event stream (GET /v1/devices/ID/events); `--once --json` prints one sample for scripts.

interface Device { id: string, name: string, abi: string, irqType: string }
interface TraceEntry { seq: number, at: string, op: string, request: any, result: number | null, errno: string | null, lost: number }
interface Rates { fired: number, delivered: number, lost: number, pended: number }

export interface TopRow extends Rates { id: string, name: string, abi: string, irqType: string, lastCall: TraceEntry | null }
export interface TopSample { t: number, devices: TopRow[] }

async function devices (client: Client): Promise<Device[]> {
  return await client.all<Device>('/v1/devices')
}

async function lastCall (client: Client, id: string): Promise<TraceEntry | null> {
  const page = (await client.get<{ items: TraceEntry[] }>(`/v1/devices/${seg(id)}/trace`, { query: { last: 1 } })).body
  return page?.items[0] ?? null
}

/** Highest fired rate first; ties by lost, then by name. */
export function byRate (a: TopRow, b: TopRow): number {
  return b.fired - a.fired || b.lost - a.lost || a.name.localeCompare(b.name)
}

/** One sample without streams: the last complete second of every device's rates. */
export async function sample (client: Client): Promise<TopSample> {
  const list = await devices(client)
  let t = 0
  const rows = await Promise.all(list.map(async (d): Promise<TopRow> => {
    const r = (await client.get<{ end: number, device: Record<keyof Rates, number[]> }>(`/v1/devices/${seg(d.id)}/rates`, { query: { seconds: 2, vectors: false } })).body!
    t = Math.max(t, r.end - 1)
    return {
      id: d.id,
      name: d.name,
      abi: d.abi,
      irqType: d.irqType,
      fired: r.device.fired[0],
      delivered: r.device.delivered[0],
      lost: r.device.lost[0],
      pended: r.device.pended[0],
      lastCall: await lastCall(client, d.id)
    }
  }))
  return { t, devices: rows.sort(byRate) }
}

function describeCall (e: TraceEntry | null): string {
  if (e === null) return '-'
  const r = e.request ?? {}
  const what = e.op === 'set-irqs'
    ? `SET_IRQS ${r.index} ${r.action} ${r.start ?? 0}+${r.count ?? (r.data?.fds ?? r.data?.values ?? []).length}`
    : e.op === 'ioctl-set-irqs' ? `ioctl SET_IRQS flags 0x${Number(r.flags).toString(16)} index ${r.index} ${r.start}+${r.count}` : e.op
  const ago = Math.max(0, (Date.now() - Date.parse(e.at)) / 1000)
  return `${what} -> ${e.errno ?? e.result} (${ago < 60 ? `${ago.toFixed(0)}s` : `${(ago / 60).toFixed(0)}m`} ago)`
}

export function render (s: TopSample): string {
  const head = `virq top: ${s.devices.length} device(s), second ${new Date(s.t * 1000).toISOString().slice(11, 19)} UTC; q quits`
  return `${head}\n\n${table(['NAME', 'ABI', 'TYPE', 'FIRED/s', 'DELIVERED/s', 'LOST/s', 'PENDED/s', 'LAST CALL'],
    s.devices.map((d) => [d.name, d.abi, d.irqType, d.fired, d.delivered, d.lost, d.pended, describeCall(d.lastCall)]))}`
}

/** Live: one event stream per device; the screen is redrawn once a second until q or Ctrl-C. */
async function live (c: Ctx): Promise<void> {
  const rows = new Map<string, TopRow>()
  const streams = new Map<string, AbortController>()
  let t = Math.floor(Date.now() / 1000) - 1
  const follow = (row: TopRow): void => {
    const abort = new AbortController()
    streams.set(row.id, abort)
    void (async () => {
      try {
        const res = await c.client.raw('GET', `/v1/devices/${seg(row.id)}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal })
        for await (const ev of sseEvents(res)) {
          const data = JSON.parse(ev.data)
          if (ev.event === 'rates') {
            Object.assign(row, { fired: data.fired, delivered: data.delivered, lost: data.lost, pended: data.pended })
            t = Math.max(t, data.t)
          } else if (ev.event === 'trace') {
            row.lastCall = data
            row.irqType = data.irqTypeAfter
          } else if (ev.event === 'closed') {
            break
          }
        }
      } catch {
        // aborted, or the server went away: the device drops out at the next listing
      }
      rows.delete(row.id)
      streams.delete(row.id)
    })()
  }
  const relist = async (): Promise<void> => {
    for (const d of await devices(c.client)) {
      if (rows.has(d.id)) continue
      const row: TopRow = { ...d, fired: 0, delivered: 0, lost: 0, pended: 0, lastCall: await lastCall(c.client, d.id) }
      rows.set(d.id, row)
      follow(row)
    }
  }
  await relist()
  const draw = (): void => {
    process.stdout.write('\x1b[H\x1b[2J' + render({ t, devices: [...rows.values()].sort(byRate) }) + '\n')
  }
  draw()
  await new Promise<void>((resolve) => {
    const tick = setInterval(draw, 1000)
    const listing = setInterval(() => { relist().catch(() => {}) }, 5000)
    const stop = (): void => {
      clearInterval(tick)
      clearInterval(listing)
      for (const a of streams.values()) a.abort()
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(false)
        process.stdin.pause()
      }
      process.off('SIGINT', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    // Keys only from a terminal; otherwise (piped, no stdin) it runs until SIGINT.
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true)
      process.stdin.resume()
      process.stdin.on('data', (b: Buffer) => {
        const k = b.toString()
        if (k === 'q' || k === 'Q' || k === '\u0003') stop()
      })
    }
  })
}

export function topCommand (): Command {
  const top = new Command('top')
    .summary('devices sorted by interrupt rate, refreshed every second')
    .description('devices sorted by interrupt rate, with fired / delivered / lost / pended per second and the last configuration call, ' +
      'refreshed once a second from each device\'s event stream; q quits. --once prints one sample (--json for scripts)')
    .option('--once', 'print one sample (the last complete second) and exit')
    .action(async (opts: { once?: boolean }, cmd: Command) => {
      const c = ctx(cmd)
      if (opts.once === true) {
        const s = await sample(c.client)
        process.stdout.write(c.json ? `${JSON.stringify(s)}\n` : `${render(s)}\n`)
        return
      }
      await live(c)
    })
  return examples(top, 'virq top', 'virq --json top --once | jq \'.devices[0]\'')
}
