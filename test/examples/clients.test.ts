import t from 'tap'
import { build } from '../helper.ts'
import { sdkTour } from '../../examples/sdk.ts'
import { websocketTour } from '../../examples/websocket.ts'

// The README's client examples run against a real server and print what they say.

async function listening (t: Parameters<typeof build>[0]): Promise<string> {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

t.test('example:sdk: dynamic MSI-X adds a vector, the fires arrive, linux-6.1 refuses the same with EINVAL', async (t) => {
  const lines: string[] = []
  const r = await sdkTour(await listening(t), undefined, (l) => lines.push(l))
  t.equal(r.enable, 0)
  t.equal(r.add, 0)
  t.match(r.fired, { fired: 10, delivered: 10, lost: 0 })
  t.equal(r.read, 10)
  t.same(r.refused, { status: 400, errno: 'EINVAL', reason: 'beyond-enabled-vectors' })
  t.equal(lines.length, 7, 'it prints a line per step')
  t.match(lines[5], /read eventfd \d+: 10/)
})

t.test('example:websocket: 1,000 interrupts over one socket arrive as signals; a bad fire is an error', async (t) => {
  const lines: string[] = []
  const r = await websocketTour(await listening(t), undefined, (l) => lines.push(l))
  t.equal(r.total, 1000, 'every interrupt reached the reader')
  t.ok(r.signals >= 1 && r.signals <= 1000, `${r.signals} signal messages (a reader takes the whole counter)`)
  t.match(r.error, { type: 'error', reason: 'vector-out-of-range', id: 'bad' })
  t.equal(lines.length, 5)
})
