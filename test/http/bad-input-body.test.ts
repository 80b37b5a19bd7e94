import t from 'tap'
import { build, snapshot } from '../helper.ts'
import { buildFixture, runTable, type Case, type Fixture } from './bad-input-lib.ts'

// Request bodies that are not what the schema says: malformed, wrong media type, empty,
// wrong types (never coerced), unknown fields (rejected, never stripped), out of range, too
// many elements, too large, too deep. Each answers a problem and changes nothing.

const msix = (f: Fixture): string => `/v1/devices/${f.a}/irqs/msix`
const raw = (f: Fixture): string => `/v1/devices/${f.a}/ioctl/set-irqs`
const write = (f: Fixture): string => `/v1/eventfds/${f.e1}/write`
const devices = (): string => '/v1/devices'
const eventfds = (): string => '/v1/eventfds'
const JSON_CT = (): Record<string, string> => ({ 'content-type': 'application/json' })
/** A valid friendly body that would change state if it got through (assigns vector 2). */
const assign = (f: Fixture, extra: object = {}) => ({ action: 'trigger', start: 2, count: 1, data: { type: 'eventfd', fds: [f.e3] }, ...extra })
const invalid = { status: 400, reason: 'invalid-request' } as const
const malformed = { status: 400, reason: 'malformed-json' } as const
const unsupported = { status: 415, reason: 'unsupported-media-type' } as const
const tooLarge = { status: 413, reason: 'body-too-large' } as const
const LIMIT = 256 * 1024
const nest = (depth: number, leaf = '1'): string => '['.repeat(depth) + leaf + ']'.repeat(depth)
const nestObj = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

const cases: Case[] = [
  // ---- malformed JSON ----
  { name: 'set-irqs: truncated JSON', method: 'POST', url: msix, body: () => '{"action":', headers: JSON_CT, ...malformed },
  { name: 'create device: trailing comma', method: 'POST', url: devices, body: () => '{"name":"x",}', headers: JSON_CT, ...malformed },
  { name: 'write: not JSON at all', method: 'POST', url: write, body: () => 'value=1', headers: JSON_CT, ...malformed },
  { name: 'raw set-irqs: unclosed array', method: 'POST', url: raw, body: () => '{"flags":36,"data":[1,2', headers: JSON_CT, ...malformed },
  { name: 'create eventfd: single quotes', method: 'POST', url: eventfds, body: () => "{'label':'x'}", headers: JSON_CT, ...malformed },
  { name: 'create eventfd: two JSON documents', method: 'POST', url: eventfds, body: () => '{}{}', headers: JSON_CT, ...malformed },
  { name: 'set-irqs: NaN literal', method: 'POST', url: msix, body: () => '{"action":"trigger","start":NaN,"data":{"type":"none"}}', headers: JSON_CT, ...malformed },

  // ---- wrong content type ----
  { name: 'set-irqs: application/xml', method: 'POST', url: msix, body: (f) => JSON.stringify(assign(f)), headers: () => ({ 'content-type': 'application/xml' }), ...unsupported },
  { name: 'create device: form-encoded', method: 'POST', url: devices, body: () => 'name=x', headers: () => ({ 'content-type': 'application/x-www-form-urlencoded' }), ...unsupported },
  { name: 'raw set-irqs: octet-stream', method: 'POST', url: raw, body: () => Buffer.from([0x18, 0, 0, 0]), headers: () => ({ 'content-type': 'application/octet-stream' }), ...unsupported },
  { name: 'write: no content-type', method: 'POST', url: write, body: () => '{"value":1}', headers: () => ({ 'content-type': '' }), ...unsupported },
  // fastify keeps its text/plain parser: the JSON text arrives as a string and fails the schema.
  // Either answer is a rejection; what matters is that it is not parsed as JSON.
  { name: 'write: JSON sent as text/plain', method: 'POST', url: write, body: () => '{"value":1}', headers: () => ({ 'content-type': 'text/plain' }), status: [400, 415], reason: ['invalid-request', 'unsupported-media-type'] },

  // ---- empty body where one is required ----
  { name: 'set-irqs: no body', method: 'POST', url: msix, ...invalid, errorPath: 'body' },
  { name: 'set-irqs: empty JSON body', method: 'POST', url: msix, body: () => '', headers: JSON_CT, ...invalid, errorPath: 'body' },
  { name: 'set-irqs: JSON null', method: 'POST', url: msix, body: () => 'null', headers: JSON_CT, ...invalid },
  { name: 'set-irqs: JSON array', method: 'POST', url: msix, body: () => '[]', headers: JSON_CT, ...invalid },
  { name: 'set-irqs: empty object', method: 'POST', url: msix, body: () => ({}), ...invalid },
  { name: 'write: no body', method: 'POST', url: write, ...invalid, errorPath: 'body' },
  { name: 'raw set-irqs: no body', method: 'POST', url: raw, ...invalid, errorPath: 'body' },
  { name: 'raw set-irqs: missing flags', method: 'POST', url: raw, body: () => ({ index: 2, start: 0, count: 0 }), ...invalid },
  { name: 'set-irqs: data none without count', method: 'POST', url: msix, body: () => ({ action: 'trigger', data: { type: 'none' } }), status: 400, reason: 'count-required' },

  // ---- wrong types: never coerced ----
  { name: 'set-irqs: start as a string', method: 'POST', url: msix, body: (f) => assign(f, { start: '2' }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: count as a string', method: 'POST', url: msix, body: (f) => assign(f, { count: '1' }), ...invalid, errorPath: 'body/count' },
  { name: 'set-irqs: start as a boolean', method: 'POST', url: msix, body: (f) => assign(f, { start: true }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: start as a float', method: 'POST', url: msix, body: (f) => assign(f, { start: 2.5 }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: start null', method: 'POST', url: msix, body: (f) => assign(f, { start: null }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: fd as a string', method: 'POST', url: msix, body: (f) => assign(f, { data: { type: 'eventfd', fds: [String(f.e3)] } }), ...invalid },
  { name: 'set-irqs: bool value as a string', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 0, count: 1, data: { type: 'bool', values: ['true'] } }), ...invalid },
  { name: 'set-irqs: bool value as 1', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 0, count: 1, data: { type: 'bool', values: [1] } }), ...invalid },
  { name: 'set-irqs: action as a number', method: 'POST', url: msix, body: (f) => assign(f, { action: 32 }), ...invalid },
  { name: 'set-irqs: data as a string', method: 'POST', url: msix, body: (f) => assign(f, { data: 'none' }), ...invalid },
  { name: 'write: value as a string', method: 'POST', url: write, body: () => ({ value: '1' }), ...invalid, errorPath: 'body/value' },
  { name: 'write: value as a float', method: 'POST', url: write, body: () => ({ value: 1.5 }), ...invalid, errorPath: 'body/value' },
  { name: 'create device: pcie as a string', method: 'POST', url: devices, body: () => ({ pcie: 'true' }), ...invalid, errorPath: 'body/pcie' },
  { name: 'create device: intx as 1', method: 'POST', url: devices, body: () => ({ intx: 1 }), ...invalid, errorPath: 'body/intx' },
  { name: 'create device: msi vectors as a string', method: 'POST', url: devices, body: () => ({ msi: { vectors: '4' } }), ...invalid },
  { name: 'create device: tableSize as a string', method: 'POST', url: devices, body: () => ({ msix: { tableSize: '8' } }), ...invalid },
  { name: 'create device: name as a number', method: 'POST', url: devices, body: () => ({ name: 5 }), ...invalid, errorPath: 'body/name' },
  { name: 'create eventfd: semaphore as 1', method: 'POST', url: eventfds, body: () => ({ semaphore: 1 }), ...invalid, errorPath: 'body/semaphore' },
  { name: 'create eventfd: semaphore as "true"', method: 'POST', url: eventfds, body: () => ({ semaphore: 'true' }), ...invalid, errorPath: 'body/semaphore' },
  { name: 'create eventfd: label as a number', method: 'POST', url: eventfds, body: () => ({ label: 5 }), ...invalid, errorPath: 'body/label' },
  { name: 'raw set-irqs: flags as a string', method: 'POST', url: raw, body: () => ({ flags: '36', index: 2, start: 2, count: 1, data: [-1] }), ...invalid, errorPath: 'body/flags' },
  { name: 'raw set-irqs: data element as a string', method: 'POST', url: raw, body: (f) => ({ flags: 36, index: 2, start: 2, count: 1, data: [String(f.e3)] }), ...invalid },
  { name: 'raw set-irqs: data element as a float', method: 'POST', url: raw, body: () => ({ flags: 36, index: 2, start: 2, count: 1, data: [1.5] }), ...invalid },
  { name: 'raw get-irq-info: index as a string', method: 'POST', url: (f) => `/v1/devices/${f.a}/ioctl/get-irq-info`, body: () => ({ argsz: 16, index: '2' }), ...invalid, errorPath: 'body/index' },

  // ---- unknown fields: rejected, not stripped (stripping would let these change state) ----
  { name: 'set-irqs: unknown top-level field', method: 'POST', url: msix, body: (f) => assign(f, { force: true }), ...invalid },
  { name: 'set-irqs: unknown field in data', method: 'POST', url: msix, body: (f) => assign(f, { data: { type: 'eventfd', fds: [f.e3], extra: 1 } }), ...invalid },
  { name: 'set-irqs: values on an eventfd body', method: 'POST', url: msix, body: (f) => assign(f, { data: { type: 'eventfd', fds: [f.e3], values: [true] } }), ...invalid },
  { name: 'create device: unknown field', method: 'POST', url: devices, body: () => ({ name: 'x', colour: 'red' }), ...invalid },
  { name: 'create device: unknown field in msix', method: 'POST', url: devices, body: () => ({ msix: { tableSize: 8, extra: 1 } }), ...invalid },
  { name: 'create device: unknown field in msi', method: 'POST', url: devices, body: () => ({ msi: { vectors: 4, maskable: true } }), ...invalid },
  { name: 'create device: id given by the client', method: 'POST', url: devices, body: () => ({ id: 'mine' }), ...invalid },
  { name: 'create eventfd: unknown field', method: 'POST', url: eventfds, body: () => ({ labels: 'x' }), ...invalid },
  { name: 'write: unknown field', method: 'POST', url: write, body: () => ({ value: 1, force: true }), ...invalid },
  { name: 'raw set-irqs: unknown field', method: 'POST', url: raw, body: () => ({ argsz: 24, flags: 36, index: 2, start: 2, count: 1, data: [-1], pad: 0 }), ...invalid },
  { name: 'raw get-info: unknown field', method: 'POST', url: (f) => `/v1/devices/${f.a}/ioctl/get-info`, body: () => ({ argsz: 16, flags: 0 }), ...invalid },

  // ---- out-of-range numbers ----
  { name: 'set-irqs: negative start', method: 'POST', url: msix, body: (f) => assign(f, { start: -1 }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: start above u32', method: 'POST', url: msix, body: (f) => assign(f, { start: 2 ** 32 }), ...invalid, errorPath: 'body/start' },
  { name: 'set-irqs: negative count', method: 'POST', url: msix, body: (f) => assign(f, { count: -1 }), ...invalid, errorPath: 'body/count' },
  { name: 'set-irqs: count above u32', method: 'POST', url: msix, body: (f) => assign(f, { count: 2 ** 32 }), ...invalid, errorPath: 'body/count' },
  { name: 'set-irqs: fd above s32', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 2, count: 1, data: { type: 'eventfd', fds: [2 ** 31] } }), ...invalid },
  { name: 'set-irqs: fd below s32', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 2, count: 1, data: { type: 'eventfd', fds: [-(2 ** 31) - 1] } }), ...invalid },
  { name: 'raw set-irqs: argsz above u32', method: 'POST', url: raw, body: () => ({ argsz: 2 ** 32, flags: 36, index: 2, start: 2, count: 1, data: [-1] }), ...invalid, errorPath: 'body/argsz' },
  { name: 'raw set-irqs: negative index', method: 'POST', url: raw, body: () => ({ flags: 36, index: -1, start: 2, count: 1, data: [-1] }), ...invalid, errorPath: 'body/index' },
  { name: 'raw set-irqs: data element below s32', method: 'POST', url: raw, body: () => ({ flags: 36, index: 2, start: 2, count: 1, data: [-(2 ** 31) - 1] }), ...invalid },
  { name: 'create device: MSI vectors 3', method: 'POST', url: devices, body: () => ({ msi: { vectors: 3 } }), ...invalid },
  { name: 'create device: MSI vectors 64', method: 'POST', url: devices, body: () => ({ msi: { vectors: 64 } }), ...invalid },
  { name: 'create device: MSI vectors 0', method: 'POST', url: devices, body: () => ({ msi: { vectors: 0 } }), ...invalid },
  { name: 'create device: MSI-X tableSize 0', method: 'POST', url: devices, body: () => ({ msix: { tableSize: 0 } }), ...invalid, errorPath: 'body/msix/tableSize' },
  { name: 'create device: MSI-X tableSize 2049', method: 'POST', url: devices, body: () => ({ msix: { tableSize: 2049 } }), ...invalid, errorPath: 'body/msix/tableSize' },
  { name: 'create device: msix.dynamic true under linux-6.1', method: 'POST', url: devices, body: () => ({ abi: 'linux-6.1', msix: { tableSize: 8, dynamic: true } }), status: 400, reason: 'dynamic-msix-needs-linux-6.5' },
  { name: 'create device: unknown abi', method: 'POST', url: devices, body: () => ({ abi: 'linux-5.4' }), ...invalid },
  { name: 'create device: empty name', method: 'POST', url: devices, body: () => ({ name: '' }), ...invalid, errorPath: 'body/name' },
  { name: 'create device: name of 129 characters', method: 'POST', url: devices, body: () => ({ name: 'n'.repeat(129) }), ...invalid, errorPath: 'body/name' },
  { name: 'create eventfd: label of 129 characters', method: 'POST', url: eventfds, body: () => ({ label: 'l'.repeat(129) }), ...invalid, errorPath: 'body/label' },
  { name: 'write: negative value', method: 'POST', url: write, body: () => ({ value: -1 }), ...invalid, errorPath: 'body/value' },
  { name: 'write: value 2^53', method: 'POST', url: write, body: () => ({ value: 2 ** 53 }), ...invalid, errorPath: 'body/value' },

  // ---- huge arrays: over the 16384-element cap ----
  { name: 'set-irqs: 16385 fds', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 0, count: 1, data: { type: 'eventfd', fds: new Array(16385).fill(-1) } }), ...invalid },
  { name: 'set-irqs: 16385 bool values', method: 'POST', url: msix, body: () => ({ action: 'trigger', start: 0, count: 1, data: { type: 'bool', values: new Array(16385).fill(true) } }), ...invalid },
  { name: 'raw set-irqs: 16385 data elements', method: 'POST', url: raw, body: () => ({ flags: 36, index: 2, start: 0, count: 1, data: new Array(16385).fill(-1) }), ...invalid },

  // ---- bodies over the 256 KiB limit ----
  { name: 'create eventfd: valid JSON padded to limit + 1', method: 'POST', url: eventfds, body: () => '{}' + ' '.repeat(LIMIT - 1), headers: JSON_CT, ...tooLarge },
  { name: 'set-irqs: 100000 fds (over the limit)', method: 'POST', url: msix, body: () => `{"action":"trigger","start":0,"count":1,"data":{"type":"eventfd","fds":[${new Array(100000).fill(-1).join(',')}]}}`, headers: JSON_CT, ...tooLarge },
  { name: 'create device: 1 MiB name', method: 'POST', url: devices, body: () => ({ name: 'x'.repeat(1024 * 1024) }), ...tooLarge },
  { name: 'over the limit without a content-type', method: 'POST', url: devices, body: () => 'x'.repeat(LIMIT + 1), headers: () => ({ 'content-type': '' }), status: [413, 415], reason: ['body-too-large', 'unsupported-media-type'] },

  // ---- deeply nested JSON (under the size limit) ----
  { name: 'create device: name nested 50000 arrays deep', method: 'POST', url: devices, body: () => `{"name":${nest(50000)}}`, headers: JSON_CT, ...invalid },
  { name: 'set-irqs: fds nested 50000 arrays deep', method: 'POST', url: msix, body: () => `{"action":"trigger","start":0,"count":1,"data":{"type":"eventfd","fds":${nest(50000, '-1')}}}`, headers: JSON_CT, ...invalid },
  { name: 'create eventfd: label nested 20000 objects deep', method: 'POST', url: eventfds, body: () => `{"label":${nestObj(20000)}}`, headers: JSON_CT, ...invalid },
  { name: 'set-irqs: unknown field nested 50000 deep', method: 'POST', url: msix, body: () => `{"action":"trigger","start":0,"count":0,"data":{"type":"none"},"x":${nest(50000)}}`, headers: JSON_CT, ...invalid },
  { name: 'write: 100000 unclosed arrays', method: 'POST', url: write, body: () => '['.repeat(100000), headers: JSON_CT, ...malformed }
]

t.test('malformed, mistyped, unknown, out-of-range and oversized bodies change nothing', async (t) => {
  const app = await build(t)
  const f = await buildFixture(app)
  await runTable(t, app, f, cases)
})

t.test('the table can tell: a valid version of a rejected body does change state', async (t) => {
  // Guards the table itself: if snapshot() missed what these requests change, every
  // "nothing changed" above would be vacuous.
  const app = await build(t)
  const f = await buildFixture(app)
  for (const [url, body] of [
    [msix(f), assign(f)],
    [write(f), { value: 1 }],
    [devices(), { name: 'x' }],
    [eventfds(), { label: 'x' }]
  ] as const) {
    const before = await snapshot(app)
    const res = await app.inject({ method: 'POST', url, payload: body })
    t.ok(res.statusCode === 200 || res.statusCode === 201, `${url} accepted`)
    t.notSame(await snapshot(app), before, `${url} changed the snapshot`)
  }
})

t.test('a body of exactly the limit is accepted', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/eventfds', headers: { 'content-type': 'application/json' }, payload: '{}' + ' '.repeat(LIMIT - 2) })
  t.equal(res.statusCode, 201)
})
