import t from 'tap'
import { build } from '../helper.ts'
import { buildFixture, runTable, type Case, type Fixture } from './bad-input-lib.ts'

// Well-formed requests that the service must still refuse: unknown devices and eventfds,
// unknown IRQ indexes, raw structs that could not have come from C, model errnos (EINVAL,
// ENOTTY, EBADF, EBUSY, EFAULT, EAGAIN), stale If-Match, bad query strings. Each answers a
// problem and changes nothing.

const NOPE = '00000000-0000-0000-0000-000000000000'
const raw = (f: Fixture): string => `/v1/devices/${f.a}/ioctl/set-irqs`
const rawB = (f: Fixture): string => `/v1/devices/${f.b}/ioctl/set-irqs`
const irq = (dev: (f: Fixture) => string, index: string) => (f: Fixture): string => `/v1/devices/${dev(f)}/irqs/${index}`
const A = (f: Fixture): string => f.a
const B = (f: Fixture): string => f.b
const C = (f: Fixture): string => f.c
const none = (start: number, count: number) => ({ action: 'trigger', start, count, data: { type: 'none' } })
const efds = (start: number, list: number[], action = 'trigger') => ({ action, start, count: list.length, data: { type: 'eventfd', fds: list } })
const EINVAL = { status: 400, errno: 'EINVAL', errnoValue: 22 } as const
const invalid = { status: 400, reason: 'invalid-request' } as const
const deviceNotFound = { status: 404, reason: 'device-not-found' } as const
const eventfdNotFound = { status: 404, reason: 'eventfd-not-found' } as const
const mismatch = { status: 412, reason: 'version-mismatch' } as const

const cases: Case[] = [
  // ---- unknown device ----
  { name: 'GET unknown device', method: 'GET', url: () => `/v1/devices/${NOPE}`, ...deviceNotFound },
  { name: 'GET irqs of unknown device', method: 'GET', url: () => `/v1/devices/${NOPE}/irqs`, ...deviceNotFound },
  { name: 'GET one irq of unknown device', method: 'GET', url: () => `/v1/devices/${NOPE}/irqs/msix`, ...deviceNotFound },
  { name: 'GET vectors of unknown device', method: 'GET', url: () => `/v1/devices/${NOPE}/irqs/msix/vectors`, ...deviceNotFound },
  { name: 'SET_IRQS on unknown device', method: 'POST', url: () => `/v1/devices/${NOPE}/irqs/msix`, body: (f) => efds(0, [f.e1]), ...deviceNotFound },
  { name: 'raw set-irqs on unknown device', method: 'POST', url: () => `/v1/devices/${NOPE}/ioctl/set-irqs`, body: () => ({ flags: 36, index: 2, start: 0, count: 1, data: [-1] }), ...deviceNotFound },
  { name: 'raw get-info on unknown device', method: 'POST', url: () => `/v1/devices/${NOPE}/ioctl/get-info`, body: () => ({ argsz: 16 }), ...deviceNotFound },
  { name: 'raw reset on unknown device', method: 'POST', url: () => `/v1/devices/${NOPE}/ioctl/reset`, ...deviceNotFound },
  { name: 'reset unknown device', method: 'POST', url: () => `/v1/devices/${NOPE}/reset`, ...deviceNotFound },
  { name: 'DELETE unknown device', method: 'DELETE', url: () => `/v1/devices/${NOPE}`, ...deviceNotFound },
  { name: 'DELETE unknown device with If-Match *', method: 'DELETE', url: () => `/v1/devices/${NOPE}`, headers: () => ({ 'if-match': '*' }), ...deviceNotFound },
  { name: 'device id over 64 characters', method: 'GET', url: () => `/v1/devices/${'x'.repeat(65)}`, ...invalid },

  // ---- unknown eventfd ----
  { name: 'GET unknown eventfd', method: 'GET', url: () => '/v1/eventfds/9999', ...eventfdNotFound },
  { name: 'GET a closed eventfd number', method: 'GET', url: (f) => `/v1/eventfds/${f.deleted}`, ...eventfdNotFound },
  { name: 'write unknown eventfd', method: 'POST', url: () => '/v1/eventfds/9999/write', body: () => ({ value: 1 }), ...eventfdNotFound },
  { name: 'write a closed eventfd number', method: 'POST', url: (f) => `/v1/eventfds/${f.deleted}/write`, body: () => ({ value: 1 }), ...eventfdNotFound },
  { name: 'read unknown eventfd', method: 'POST', url: () => '/v1/eventfds/9999/read', ...eventfdNotFound },
  { name: 'DELETE unknown eventfd', method: 'DELETE', url: () => '/v1/eventfds/9999', ...eventfdNotFound },
  { name: 'DELETE unknown eventfd with force', method: 'DELETE', url: () => '/v1/eventfds/9999?force=true', ...eventfdNotFound },
  { name: 'eventfd number 0', method: 'GET', url: () => '/v1/eventfds/0', ...invalid },
  { name: 'eventfd number not a number', method: 'GET', url: () => '/v1/eventfds/abc', ...invalid },
  { name: 'eventfd number negative', method: 'POST', url: () => '/v1/eventfds/-1/write', body: () => ({ value: 1 }), ...invalid },
  { name: 'eventfd number beyond 2^53', method: 'GET', url: () => '/v1/eventfds/99999999999999999999', ...invalid },

  // ---- unknown IRQ index ----
  { name: 'GET irq "foo"', method: 'GET', url: irq(A, 'foo'), ...invalid },
  { name: 'GET irq "MSIX" (names are lower case)', method: 'GET', url: irq(A, 'MSIX'), ...invalid },
  { name: 'GET vectors of irq "foo"', method: 'GET', url: (f) => `/v1/devices/${f.a}/irqs/foo/vectors`, ...invalid },
  { name: 'SET_IRQS on irq "foo"', method: 'POST', url: irq(A, 'foo'), body: () => none(0, 0), ...invalid },
  { name: 'SET_IRQS on irq "-1"', method: 'POST', url: irq(A, '-1'), body: () => none(0, 0), ...invalid },
  { name: 'GET irq 5 (EINVAL like GET_IRQ_INFO)', method: 'GET', url: irq(A, '5'), reason: 'index-out-of-range', ...EINVAL },
  { name: 'GET vectors of irq 7', method: 'GET', url: (f) => `/v1/devices/${f.a}/irqs/7/vectors`, reason: 'index-out-of-range', ...EINVAL },
  { name: 'SET_IRQS on irq 5', method: 'POST', url: irq(A, '5'), body: () => none(0, 0), reason: 'index-out-of-range', ...EINVAL },
  { name: 'GET irq 4294967296', method: 'GET', url: irq(A, '4294967296'), reason: 'index-out-of-range', ...EINVAL },
  { name: 'GET err on a device that is not PCIe', method: 'GET', url: irq(C, 'err'), reason: 'not-pcie', ...EINVAL },
  { name: 'raw get-irq-info index 5', method: 'POST', url: (f) => `/v1/devices/${f.a}/ioctl/get-irq-info`, body: () => ({ argsz: 16, index: 5 }), reason: 'index-out-of-range', ...EINVAL, result: -1 },

  // ---- raw structs that C could not have sent ----
  { name: 'raw set-irqs: BOOL byte 256', method: 'POST', url: raw, body: () => ({ flags: 0x22, index: 2, start: 0, count: 1, data: [256] }), status: 400, reason: 'invalid-data-element' },
  { name: 'raw set-irqs: BOOL byte -1', method: 'POST', url: raw, body: () => ({ flags: 0x22, index: 2, start: 0, count: 1, data: [-1] }), status: 400, reason: 'invalid-data-element' },
  { name: 'raw set-irqs: fd 2^31 (outside s32)', method: 'POST', url: raw, body: () => ({ flags: 0x24, index: 2, start: 2, count: 1, data: [2 ** 31] }), status: 400, reason: 'invalid-data-element' },
  { name: 'raw set-irqs: fd 2^32-1 (outside s32)', method: 'POST', url: raw, body: () => ({ flags: 0x24, index: 2, start: 2, count: 1, data: [2 ** 32 - 1] }), status: 400, reason: 'invalid-data-element' },
  { name: 'raw set-irqs: second element bad', method: 'POST', url: raw, body: (f) => ({ flags: 0x24, index: 2, start: 2, count: 2, data: [f.e3, 2 ** 31] }), status: 400, reason: 'invalid-data-element' },
  // count 3 promised by argsz 32, but one element sent: the copy from user memory would fault.
  { name: 'raw set-irqs: data shorter than count, large argsz (EFAULT)', method: 'POST', url: raw, body: (f) => ({ argsz: 32, flags: 0x24, index: 2, start: 2, count: 3, data: [f.e3] }), status: 400, reason: 'data-missing', errno: 'EFAULT', errnoValue: 14, result: -1 },
  { name: 'raw set-irqs: BOOL data shorter than count, large argsz (EFAULT)', method: 'POST', url: raw, body: () => ({ argsz: 1024, flags: 0x22, index: 2, start: 0, count: 8, data: [1] }), status: 400, reason: 'data-missing', errno: 'EFAULT', errnoValue: 14, result: -1 },
  { name: 'raw set-irqs: argsz too small for the data', method: 'POST', url: raw, body: (f) => ({ argsz: 24, flags: 0x24, index: 2, start: 2, count: 2, data: [f.e3, f.e3] }), reason: 'data-too-short', ...EINVAL, result: -1 },
  { name: 'raw set-irqs: argsz 19', method: 'POST', url: raw, body: () => ({ argsz: 19, flags: 0x21, index: 2, start: 0, count: 0 }), reason: 'argsz-too-small', ...EINVAL, result: -1 },
  { name: 'raw set-irqs: flag bit 0x40', method: 'POST', url: raw, body: () => ({ flags: 0x61, index: 2, start: 0, count: 1 }), reason: 'unknown-flags', ...EINVAL, result: -1 },
  { name: 'raw set-irqs: count overflows u32', method: 'POST', url: raw, body: () => ({ flags: 0x21, index: 2, start: 1, count: 0xfffffffe }), reason: 'count-overflow', ...EINVAL, result: -1 },
  { name: 'raw set-irqs: two data types', method: 'POST', url: raw, body: () => ({ flags: 0x23, index: 2, start: 0, count: 1, data: [1] }), reason: 'data-type', ...EINVAL, result: -1 },
  { name: 'raw set-irqs: no action bit (ENOTTY)', method: 'POST', url: raw, body: () => ({ flags: 0x01, index: 2, start: 0, count: 1 }), status: 400, reason: 'no-handler', errno: 'ENOTTY', errnoValue: 25, result: -1 },
  { name: 'raw get-info: argsz 15', method: 'POST', url: (f) => `/v1/devices/${f.a}/ioctl/get-info`, body: () => ({ argsz: 15 }), reason: 'argsz-too-small', ...EINVAL, result: -1 },

  // ---- the model says no, and nothing changes ----
  { name: 'MSI while MSI-X is enabled', method: 'POST', url: irq(A, 'msi'), body: (f) => efds(0, [f.e3]), reason: 'irq-type-conflict', ...EINVAL },
  { name: 'INTx while MSI-X is enabled', method: 'POST', url: irq(A, 'intx'), body: (f) => efds(0, [f.e3]), reason: 'irq-type-conflict', ...EINVAL },
  { name: 'MSI-X mask (ENOTTY)', method: 'POST', url: irq(A, 'msix'), body: () => ({ action: 'mask', start: 0, count: 1, data: { type: 'none' } }), status: 400, reason: 'no-handler', errno: 'ENOTTY', errnoValue: 25 },
  { name: 'MSI-X vector 8 of 8', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(8, [f.e3]), reason: 'range-out-of-bounds', ...EINVAL },
  { name: 'MSI-X start 0 count 9', method: 'POST', url: irq(A, 'msix'), body: () => none(0, 9), reason: 'range-out-of-bounds', ...EINVAL },
  { name: 'MSI disable while MSI is not enabled', method: 'POST', url: irq(A, 'msi'), body: () => none(0, 0), reason: 'irq-type-conflict', ...EINVAL },
  { name: 'ERR with an unknown fd keeps the old trigger (EBADF)', method: 'POST', url: irq(A, 'err'), body: () => efds(0, [9999]), status: 400, reason: 'bad-fd', errno: 'EBADF', errnoValue: 9 },
  { name: 'ERR with fd -2 under linux-6.12', method: 'POST', url: irq(A, 'err'), body: () => efds(0, [-2]), reason: 'negative-fd', ...EINVAL },
  { name: 'REQ release without a trigger', method: 'POST', url: irq(A, 'req'), body: () => none(0, 0), reason: 'no-trigger', ...EINVAL },
  { name: 'REQ count 2', method: 'POST', url: irq(A, 'req'), body: (f) => efds(0, [f.e3, f.e3]), reason: 'range-out-of-bounds', ...EINVAL },
  { name: 'linux-6.1: vector beyond the enabled 3', method: 'POST', url: irq(B, 'msix'), body: (f) => efds(5, [f.e3]), reason: 'beyond-enabled-vectors', ...EINVAL },
  { name: 'linux-6.1: fd -1 beyond the enabled 3', method: 'POST', url: irq(B, 'msix'), body: () => efds(3, [-1]), reason: 'beyond-enabled-vectors', ...EINVAL },
  { name: 'linux-6.1: loopback beyond the enabled 3', method: 'POST', url: irq(B, 'msix'), body: () => none(0, 4), reason: 'beyond-enabled-vectors', ...EINVAL },
  { name: 'linux-6.1 raw: vector beyond the enabled 3', method: 'POST', url: rawB, body: (f) => ({ flags: 0x24, index: 2, start: 10, count: 1, data: [f.e3] }), reason: 'beyond-enabled-vectors', ...EINVAL, result: -1 },
  { name: 'INTx: second unmask eventfd (EBUSY)', method: 'POST', url: irq(C, 'intx'), body: (f) => efds(0, [f.e3], 'unmask'), status: 409, reason: 'unmask-eventfd-busy', errno: 'EBUSY', errnoValue: 16 },
  { name: 'INTx: unmask eventfd that does not exist (EBADF first)', method: 'POST', url: irq(C, 'intx'), body: () => efds(0, [9999], 'unmask'), status: 400, reason: 'bad-fd', errno: 'EBADF', errnoValue: 9 },
  { name: 'INTx: mask by eventfd (ENOTTY)', method: 'POST', url: irq(C, 'intx'), body: (f) => efds(0, [f.e3], 'mask'), status: 400, reason: 'mask-eventfd-unsupported', errno: 'ENOTTY', errnoValue: 25 },
  { name: 'INTx: trigger swap to an unknown fd (EBADF)', method: 'POST', url: irq(C, 'intx'), body: () => efds(0, [9999]), status: 400, reason: 'bad-fd', errno: 'EBADF', errnoValue: 9 },
  { name: 'INTx: start 1', method: 'POST', url: irq(C, 'intx'), body: () => ({ action: 'unmask', start: 1, count: 1, data: { type: 'none' } }), reason: 'range-out-of-bounds', ...EINVAL },
  { name: 'MSI-X on a device without MSI-X', method: 'POST', url: irq(C, 'msix'), body: (f) => efds(0, [f.e3]), reason: 'range-out-of-bounds', ...EINVAL },
  { name: 'reset a device without reset', method: 'POST', url: (f) => `/v1/devices/${f.c}/reset`, reason: 'reset-unsupported', ...EINVAL },
  { name: 'raw reset a device without reset', method: 'POST', url: (f) => `/v1/devices/${f.c}/ioctl/reset`, reason: 'reset-unsupported', ...EINVAL, result: -1 },
  { name: 'close an eventfd still bound (EBUSY)', method: 'DELETE', url: (f) => `/v1/eventfds/${f.e1}`, status: 409, reason: 'eventfd-bound', errno: 'EBUSY', errnoValue: 16 },
  { name: 'close an unmask eventfd still installed (EBUSY)', method: 'DELETE', url: (f) => `/v1/eventfds/${f.unmask}`, status: 409, reason: 'eventfd-bound', errno: 'EBUSY', errnoValue: 16 },
  { name: 'write that would overflow the counter (EAGAIN)', method: 'POST', url: (f) => `/v1/eventfds/${f.e4}/write`, body: () => ({ value: Number.MAX_SAFE_INTEGER }), status: 409, reason: 'eventfd-overflow', errno: 'EAGAIN', errnoValue: 11 },

  // ---- If-Match that does not match ----
  { name: 'SET_IRQS with a stale If-Match', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': '"1"' }), ...mismatch },
  { name: 'SET_IRQS with a future If-Match', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': '"999999"' }), ...mismatch },
  { name: 'SET_IRQS with a list of stale tags', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': '"1", "2", "0"' }), ...mismatch },
  { name: 'SET_IRQS with an unquoted garbage tag', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': 'banana' }), status: 400, reason: 'invalid-if-match' },
  { name: 'SET_IRQS with an unquoted version (If-Match: 17)', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': '17' }), status: 400, reason: 'invalid-if-match' },
  { name: 'SET_IRQS with an empty If-Match', method: 'POST', url: irq(A, 'msix'), body: (f) => efds(2, [f.e3]), headers: () => ({ 'if-match': '""' }), ...mismatch },
  { name: 'raw set-irqs with a stale If-Match', method: 'POST', url: raw, body: (f) => ({ flags: 0x24, index: 2, start: 2, count: 1, data: [f.e3] }), headers: () => ({ 'if-match': '"1"' }), ...mismatch },
  { name: 'raw reset with a stale If-Match', method: 'POST', url: (f) => `/v1/devices/${f.a}/ioctl/reset`, headers: () => ({ 'if-match': '"1"' }), ...mismatch },
  { name: 'reset with a stale If-Match', method: 'POST', url: (f) => `/v1/devices/${f.a}/reset`, headers: () => ({ 'if-match': '"1"' }), ...mismatch },
  { name: 'DELETE device with a stale If-Match', method: 'DELETE', url: (f) => `/v1/devices/${f.a}`, headers: () => ({ 'if-match': '"1"' }), ...mismatch },
  // The precondition is checked before the body is looked at: a stale writer learns it is stale.
  { name: 'stale If-Match wins over a model error', method: 'POST', url: irq(A, 'msix'), body: () => efds(8, [9999]), headers: () => ({ 'if-match': '"1"' }), ...mismatch },

  // ---- query strings ----
  { name: 'list devices: limit 0', method: 'GET', url: () => '/v1/devices?limit=0', ...invalid },
  { name: 'list devices: limit 1001', method: 'GET', url: () => '/v1/devices?limit=1001', ...invalid },
  { name: 'list devices: limit not a number', method: 'GET', url: () => '/v1/devices?limit=ten', ...invalid },
  { name: 'list devices: bogus cursor', method: 'GET', url: () => '/v1/devices?cursor=bogus', status: 400, reason: 'invalid-cursor' },
  { name: 'list eventfds: bogus cursor', method: 'GET', url: () => '/v1/eventfds?cursor=bogus', status: 400, reason: 'invalid-cursor' },
  { name: 'list devices: unknown query parameter', method: 'GET', url: () => '/v1/devices?offset=3', ...invalid },
  { name: 'read: negative timeout', method: 'POST', url: (f) => `/v1/eventfds/${f.e1}/read?timeoutMs=-1`, ...invalid },
  { name: 'read: timeout over the cap', method: 'POST', url: (f) => `/v1/eventfds/${f.e1}/read?timeoutMs=60001`, ...invalid },
  { name: 'DELETE eventfd: force=maybe', method: 'DELETE', url: (f) => `/v1/eventfds/${f.e1}?force=maybe`, ...invalid },

  // ---- methods and routes that do not exist ----
  { name: 'PUT on a device', method: 'PUT', url: (f) => `/v1/devices/${f.a}`, body: () => ({ name: 'x' }), status: [404, 405], reason: ['route-not-found', 'method-not-allowed'] },
  { name: 'PATCH an eventfd', method: 'PATCH', url: (f) => `/v1/eventfds/${f.e1}`, body: () => ({ value: 0 }), status: [404, 405], reason: ['route-not-found', 'method-not-allowed'] }
]

t.test('unknown resources, model errnos, stale If-Match and bad queries change nothing', async (t) => {
  const app = await build(t)
  const f = await buildFixture(app)
  await runTable(t, app, f, cases)
})
