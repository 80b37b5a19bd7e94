import { InvalidArgumentError, type Command } from 'commander'
import { Client } from './client.ts'

// What every command shares: the global options, output, and argument parsers.

export const DEFAULT_URL = 'http://127.0.0.1:8080'

export interface Ctx {
  client: Client
  /** --json: print the server's JSON answer as is, for scripts. */
  json: boolean
}

export function ctx (cmd: Command): Ctx {
  const g = cmd.optsWithGlobals<{ url?: string, token?: string, json?: boolean }>()
  return { client: new Client(g.url ?? DEFAULT_URL, g.token), json: g.json === true }
}

/** Prints the raw body under --json, the human rendering otherwise. */
export function show (c: Ctx, body: unknown, human: () => string): void {
  if (c.json) {
    if (body !== undefined) process.stdout.write(`${JSON.stringify(body)}\n`)
    return
  }
  const text = human()
  if (text !== '') process.stdout.write(`${text}\n`)
}

/**
 * `list` of a paginated collection: every page by default, one page (printed as the server
 * gave it) when --limit or --cursor is set.
 */
export function listAction<T> (path: string, render: (items: T[]) => string) {
  return async (opts: { limit?: number, cursor?: string }, cmd: Command): Promise<void> => {
    const c = ctx(cmd)
    if (opts.limit !== undefined || opts.cursor !== undefined) {
      const page = (await c.client.get<{ items: T[], nextCursor?: string }>(path, { query: { limit: opts.limit, cursor: opts.cursor } })).body as { items: T[], nextCursor?: string }
      show(c, page, () => render(page.items) + (page.nextCursor !== undefined ? `\nmore: --cursor ${page.nextCursor}` : ''))
      return
    }
    const items = await c.client.all<T>(path)
    show(c, { items }, () => render(items))
  }
}

/** Appends an "Example(s):" block to a command's --help. */
export function examples (cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`)
}

/** If-Match header from --if-match VERSION (a device version, as its ETag carries it). */
export function ifMatch (version: number | undefined): Record<string, string> {
  return version === undefined ? {} : { 'if-match': `"${version}"` }
}

function integer (text: string, min: number, max: number): number {
  const t = text.trim()
  if (!/^-?[0-9]+$/.test(t)) throw new InvalidArgumentError(`not an integer: "${text}"`)
  const n = Number(t)
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}, not ${text}`)
  return n
}

/** commander argParser: an integer in [min, max]. */
export const int = (min = 0, max = Number.MAX_SAFE_INTEGER) => (text: string): number => integer(text, min, max)

/** commander argParser: a comma-separated integer list such as 1,-1,3. */
export const intList = (min: number, max: number) => (text: string): number[] => {
  if (text.trim() === '') return []
  return text.split(',').map((x) => integer(x, min, max))
}

/** commander argParser: booleans as 1,0 or true,false. */
export function boolList (text: string): boolean[] {
  if (text.trim() === '') return []
  return text.split(',').map((x) => {
    const t = x.trim().toLowerCase()
    if (t === '1' || t === 'true' || t === 'yes') return true
    if (t === '0' || t === 'false' || t === 'no') return false
    throw new InvalidArgumentError(`not a boolean (1/0, true/false): "${x}"`)
  })
}

/** Positional IRQ index: a name or 0-4 (larger numbers go to the server, which answers EINVAL). */
export function irqIndex (text: string): string {
  const t = text.trim().toLowerCase()
  if (['intx', 'msi', 'msix', 'err', 'req'].includes(t) || /^[0-9]{1,10}$/.test(t)) return t
  throw new InvalidArgumentError(`IRQ index is intx, msi, msix, err, req or 0-4, not "${text}"`)
}
