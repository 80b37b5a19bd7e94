// Real-socket clients for the stream tests (not a test file itself): an SSE reader over fetch
// and a WebSocket that records every message. Both wait for events, never for time.
import WebSocket from 'ws'
import { build, createDevice, createEventfd, listen, setIrqs, type Tap, triggerFds, until } from '../helper.ts'

export interface SseEvent { event: string, data: any }

export class SseClient {
  readonly events: SseEvent[] = []
  ended = false
  status = 0
  private readonly done: Promise<void>
  private buf = ''

  private constructor (res: Response) {
    this.status = res.status
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    this.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          this.buf += decoder.decode(value, { stream: true })
          this.parse()
        }
      } catch {
        // a reset connection ends the stream too
      }
      this.ended = true
    })()
  }

  static async open (url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } })
    return new SseClient(res)
  }

  private parse (): void {
    let i
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i)
      this.buf = this.buf.slice(i + 2)
      let event = 'message'
      let data: string | null = null
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data = line.slice(6)
      }
      if (data !== null) this.events.push({ event, data: JSON.parse(data) })
    }
  }

  signals (): number[] {
    return this.events.filter((e) => e.event === 'signal').map((e) => e.data.value)
  }

  total (): number {
    return this.signals().reduce((a, b) => a + b, 0)
  }

  /** Resolves when the server has ended the stream. */
  async end (ms = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the SSE stream did not end within ${ms} ms`)), ms)
    })
    try {
      await Promise.race([this.done, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

export class WsClient {
  readonly messages: any[] = []
  closed = false
  closeCode = 0
  private constructor (readonly ws: WebSocket) {
    ws.on('message', (raw) => { this.messages.push(JSON.parse(raw.toString())) })
    ws.on('close', (code) => { this.closed = true; this.closeCode = code })
    ws.on('error', () => {})
  }

  static async open (url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const ws = new WebSocket(url, { headers })
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new WsClient(ws)
  }

  send (msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  /** The first message from position `from` on that matches; waits for it. */
  async next (pred: (m: any) => boolean, what: string, from = 0): Promise<any> {
    let found: any
    await until(() => (found = this.messages.slice(from).find(pred)) !== undefined, what)
    return found
  }

  signals (fd: number): number[] {
    return this.messages.filter((m) => m.type === 'signal' && m.fd === fd).map((m) => m.value)
  }

  total (fd: number): number {
    return this.signals(fd).reduce((a, b) => a + b, 0)
  }

  close (): void {
    this.ws.close()
  }
}

/** A listening app with an MSI-X device whose vector 0 triggers eventfd `e`. */
export async function listening (t: Tap, semaphore = false) {
  const app = await build(t)
  const { base, ws } = await listen(app)
  const id = await createDevice(app, { msix: { tableSize: 8 } })
  const e = await createEventfd(app, { semaphore })
  await setIrqs(app, id, 'msix', triggerFds(0, [e]))
  return { app, base, ws: `${ws}/v1/stream`, id, e }
}

/** A WebSocket subscribed to `fds` (throws unless the server confirms exactly those). */
export async function subscribed (ws: string, fds: number[]): Promise<WsClient> {
  const c = await WsClient.open(ws)
  c.send({ op: 'subscribe', fds })
  const m = await c.next((m) => m.type === 'subscribed' || m.type === 'error', 'subscribed')
  if (JSON.stringify(m) !== JSON.stringify({ type: 'subscribed', fds })) throw new Error(`subscribe answered ${JSON.stringify(m)}`)
  return c
}
