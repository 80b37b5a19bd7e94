import { Type } from '@sinclair/typebox'
import { List, Page, ParentSlots } from './schemas.ts'

// The service's own answers, beside the model's (schemas.ts): health, the host and its
// tenants' tokens, and what watching a device returns (trace, teardown windows, rates).
// Named by their $id like every body (see schemas.ts, components.ts).

export const Health = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health' })
export const Readiness = Type.Object({ status: Type.Literal('ready') }, { $id: 'Readiness' })

const HostVectors = Type.Object({ capacity: Type.Integer(), used: Type.Integer(), free: Type.Integer() })

export const HostInfo = Type.Object({
  hostVectors: HostVectors,
  devices: Type.Integer(),
  tableEntries: Type.Integer({ description: 'MSI + MSI-X table entries of these devices' }),
  eventfds: Type.Integer(),
  nextEventfd: Type.Integer({ description: 'The number the next eventfd gets (each tenant numbers its own, from 1)' }),
  limits: Type.Object({
    devices: Type.Integer(),
    eventfds: Type.Integer(),
    tableEntries: Type.Integer({ description: 'MSI + MSI-X table entries of all devices together' })
  }, { description: 'The most the caller may hold: the smaller of its own limit and the instance\'s' }),
  abis: Type.Array(Type.String()),
  parents: Type.Array(ParentSlots, { description: "The caller's IMS parents and their slots (docs/model.md 13)" })
}, { $id: 'HostInfo' })

const Limit = Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000 }), Type.Null()])

export const TokenCreate = Type.Object({
  tenant: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
  label: Type.Optional(Type.String({ maxLength: 128 })),
  limits: Type.Optional(Type.Object({
    devices: Type.Optional(Limit),
    eventfds: Type.Optional(Limit),
    hostVectors: Type.Optional(Limit),
    tableEntries: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1 << 28 }), Type.Null()]))
  }, { additionalProperties: false, description: "Per-tenant limits (tableEntries: MSI + MSI-X table sizes of all its devices); null or absent: none of its own, only the instance's" }))
}, { $id: 'TokenCreateRequest', additionalProperties: false, examples: [{ tenant: 'ci-runner-7', label: 'nightly', limits: { devices: 16, eventfds: 1024, hostVectors: 512 } }] })

const TokenFields = {
  id: Type.String(),
  tenant: Type.String(),
  label: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}
/** A token as listed: never the secret itself. */
export const Token = Type.Object(TokenFields, { $id: 'Token' })
/** A token as created: the one answer that holds the secret. */
export const TokenCreated = Type.Object({ ...TokenFields, token: Type.String() }, { $id: 'TokenCreated' })
export const TokenList = List(Type.Ref(Token), 'TokenList')

export const AdminHost = Type.Object({
  hostVectors: HostVectors,
  devices: Type.Integer(),
  tableEntries: Type.Integer(),
  eventfds: Type.Integer(),
  limits: Type.Object({ devices: Type.Integer(), eventfds: Type.Integer(), tableEntries: Type.Integer() }, { description: "The instance's limits" }),
  tenants: Type.Array(Type.Object({
    tenant: Type.String(),
    devices: Type.Integer(),
    tableEntries: Type.Integer(),
    eventfds: Type.Integer(),
    hostVectors: Type.Integer({ description: 'Host vectors it holds' })
  })),
  parents: Type.Array(Type.Composite([ParentSlots, Type.Object({ tenant: Type.String() })]), { description: 'Every IMS parent and its slots (docs/model.md 13)' })
}, { $id: 'AdminHost' })

const IrqType = Type.Union([Type.Literal('none'), Type.Literal('intx'), Type.Literal('msi'), Type.Literal('msix')])

export const TraceEntry = Type.Object({
  seq: Type.Integer({ description: 'Position in the trace; grows with every entry' }),
  deviceId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  op: Type.Union(['create', 'set-irqs', 'ioctl-set-irqs', 'reset', 'ioctl-reset'].map((o) => Type.Literal(o)), {
    description: 'create; set-irqs (the JSON form) or ioctl-set-irqs (the raw struct); reset or ioctl-reset'
  }),
  request: Type.Unknown({ description: 'The request as sent: the device body, the SET_IRQS body with its `index`, or the raw struct' }),
  result: Type.Union([Type.Integer(), Type.Null()], { description: 'The ioctl return value; null when it failed with an errno' }),
  errno: Type.Union([Type.String(), Type.Null()]),
  errnoValue: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'The rule that answered the errno' }),
  irqTypeBefore: IrqType,
  irqTypeAfter: IrqType,
  version: Type.Integer({ description: 'The device version after the call' }),
  lost: Type.Integer({ description: 'Interrupts lost on the device since the previous entry' }),
  pended: Type.Integer({ description: 'Interrupts pended on the device since the previous entry' })
}, { $id: 'TraceEntry' })
export const TracePage = Page(Type.Ref(TraceEntry), 'TracePage')

export const TeardownWindow = Type.Object({
  index: Type.Union([Type.Literal('intx'), Type.Literal('msi'), Type.Literal('msix')]),
  fromSeq: Type.Integer({ description: 'The entry that disabled the index' }),
  toSeq: Type.Integer({ description: 'The entry that enabled it again' }),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  durationMs: Type.Number(),
  lost: Type.Integer({ description: 'Interrupts lost on the device inside the window' }),
  pended: Type.Integer()
}, { $id: 'TeardownWindow' })
export const TeardownWindowList = List(Type.Ref(TeardownWindow), 'TeardownWindowList')

const Series = {
  fired: Type.Array(Type.Number()),
  delivered: Type.Array(Type.Number()),
  lost: Type.Array(Type.Number()),
  pended: Type.Array(Type.Number())
}

export const Rates = Type.Object({
  start: Type.Integer({ description: 'Epoch second of the first bucket' }),
  end: Type.Integer({ description: 'Epoch second of the last bucket (the current, still filling)' }),
  interval: Type.Literal(1, { description: 'Seconds per bucket' }),
  device: Type.Object(Series, { description: 'The whole device, per second, oldest first' }),
  vectors: Type.Array(Type.Object({ index: Type.Integer(), name: Type.String(), vector: Type.Integer(), ...Series }), {
    description: 'Each vector that fired in the last ten minutes'
  })
}, { $id: 'Rates' })
