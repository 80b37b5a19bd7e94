import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { must } from './http.ts'

// The WebSocket stream (openapi/stream.md, served at /docs/stream.md): one socket subscribes to
// an eventfd, fires interrupts at a device and reads the signals they cause, for rates where a
// request per interrupt costs too much. Node 20 has no WebSocket of its own: this uses `ws`.
// Run against the quick-start server:  npm run example:websocket
// or another one:                      npm run example:websocket -- --url http://HOST:PORT

export async function websocketTour (base: string, token?: string, print: (line: string) => void = console.log) {
  const dev = await must(base, token, 'POST', '/v1/devices', { name: 'ws-nic', msix: { tableSize: 8 } })
  const efd = await must(base, token, 'POST', '/v1/eventfds', { label: 'ws-vec0' })
  await must(base, token, 'POST', `/v1/devices/${dev.id}/irqs/msix`, { action: 'trigger', start: 0, data: { type: 'eventfd', fds: [efd.fd] } })
  print(`device ${dev.id}, vector 0 -> eventfd ${efd.fd}`)

  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/stream`, token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {})
  const messages: any[] = []
  const waiters: Array<() => void> = []
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)))
    for (const w of waiters.splice(0)) w()
  })
  const next = async (pred: (m: any) => boolean): Promise<any> => {
    for (;;) {
      const m = messages.find(pred)
      if (m !== undefined) return m
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })

  ws.send(JSON.stringify({ op: 'subscribe', fds: [efd.fd] }))
  print(`-> subscribe ${efd.fd}: ${JSON.stringify(await next((m) => m.type === 'subscribed'))}`)
  // 1,000 interrupts in 10 messages; the last asks for an acknowledgement.
  for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ op: 'fire', device: dev.id, index: 'msix', vector: 0, count: 100, ...(i === 9 ? { id: 'last' } : {}) }))
  print(`-> fire x10 (100 each): ${JSON.stringify(await next((m) => m.type === 'fired'))}`)
  // A reader takes the whole counter at once, as read(2) on an eventfd does: signals add up.
  let total = 0
  while (total < 1000) {
    const s = await next((m) => m.type === 'signal' && !m.seen)
    s.seen = true
    total += s.value
  }
  const signals = messages.filter((m) => m.type === 'signal').length
  print(`<- ${signals} signal message(s) carrying ${total} interrupts`)
  ws.send(JSON.stringify({ op: 'fire', device: dev.id, index: 'msix', vector: 99, id: 'bad' }))
  print(`-> fire vector 99: ${JSON.stringify(await next((m) => m.type === 'error'))}`)
  ws.close()
  return { total, signals, error: messages.find((m) => m.type === 'error') }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' } } })
  await websocketTour(values.url ?? process.env.VIRQ_URL ?? 'http://127.0.0.1:8080', values.token ?? process.env.VIRQ_TOKEN)
}
