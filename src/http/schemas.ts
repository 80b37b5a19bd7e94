import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { MSI_VECTOR_COUNTS, MSIX_MAX_TABLE_SIZE } from '../core/constants.ts'
import { MAX_FIRE_COUNT } from './bounds.ts'
import { DEFAULT_DRIVER, DRIVER_NAMES } from '../core/drivers/ops.ts'
import { ABI_PROFILES, ABIS, DEFAULT_ABI } from '../core/profiles.ts'
import { TEMPLATE_NAMES } from '../core/templates.ts'

// The one source of request validation, response serialisation, TypeScript types and the
// OpenAPI document. Bodies are validated without type coercion and reject unknown fields.
// Every request body and response object has an $id: components.ts registers them once
// (app.addSchema), routes name them with Type.Ref, and the $id is their name under
// components.schemas, so that generated clients get these names rather than made-up ones.

const strict = { additionalProperties: false } as const
const U32 = Type.Integer({ minimum: 0, maximum: 0xffffffff })
/** Arrays longer than `count` are accepted like the kernel; past this they are abuse. */
const MAX_DATA_ELEMENTS = 16384

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  reason: Type.String({ description: 'Stable kebab-case code of the rule that rejected the request; each is explained at /problems/{reason} (the problem\'s type URI)' }),
  errno: Type.Optional(Type.String({ description: 'Linux errno name, where the model produced one' })),
  errnoValue: Type.Optional(Type.Integer()),
  result: Type.Optional(Type.Integer({ description: 'Raw ioctl routes: the ioctl return value (-1)' })),
  stateChanged: Type.Optional(Type.Boolean({ description: 'True when the request failed yet changed the device, as the kernel\'s partial effects do (a SET_IRQS block that fails half-way); the device is then at `version`' })),
  version: Type.Optional(Type.Integer({ description: 'With stateChanged: the device\'s version after the change (its new ETag)' })),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() })))
}, { $id: 'Problem', additionalProperties: true })

export const Abi = Type.Union(ABIS.map((abi) => Type.Literal(abi)), {
  description: 'The kernel era the device behaves like. ' +
    ABIS.map((abi) => `${abi}${abi === DEFAULT_ABI ? ' (default)' : ''}: ${ABI_PROFILES[abi].summary}.`).join(' ')
})

export const DriverName = Type.Union(DRIVER_NAMES.map((d) => Type.Literal(d)), {
  description: `Whose answers the device gives (default ${DEFAULT_DRIVER}): vfio-pci, the mtty sample mdev, or i915 GVT-g's kvmgt`
})

export const TemplateName = Type.Union(TEMPLATE_NAMES.map((n) => Type.Literal(n)), {
  description: 'A known device whose capabilities (and driver) the device gets; listed at GET /v1/templates'
})

export const IrqIndexParam = Type.Union([
  Type.Union([Type.Literal('intx'), Type.Literal('msi'), Type.Literal('msix'), Type.Literal('err'), Type.Literal('req')]),
  Type.String({ pattern: '^(0|[1-9][0-9]{0,9})$' })
], { description: 'IRQ index: a name (intx, msi, msix, err, req) or its number (0-4)' })

/** In a body an index may also be a JSON number. */
export const IrqIndexBody = Type.Union([IrqIndexParam, Type.Integer({ minimum: 0, maximum: 0xffffffff })], {
  description: 'IRQ index: a name (intx, msi, msix, err, req) or its number (0-4)'
})

export const DeviceCreate = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  abi: Type.Optional(Abi),
  driver: Type.Optional(DriverName),
  template: Type.Optional(Type.Union([TemplateName], {
    description: 'Fills the capabilities of a known device. Capability fields given beside it override it where the ' +
      'template allows (the recorded vfio-pci devices); mtty and kvmgt have fixed answers: any capability field beside them is 400. Listed at GET /v1/templates'
  })),
  pcie: Type.Optional(Type.Boolean({ description: 'PCI Express: adds the ERR index' })),
  reset: Type.Optional(Type.Boolean({ description: 'Supports VFIO_DEVICE_RESET' })),
  intx: Type.Optional(Type.Boolean({ description: 'Has an interrupt pin' })),
  msi: Type.Optional(Type.Object({
    vectors: Type.Union(MSI_VECTOR_COUNTS.map((n) => Type.Literal(n)), { description: 'MSI vector count' }),
    perVectorMask: Type.Optional(Type.Boolean({ description: 'MSI per-vector masking: its vectors get mask and pending bits (docs/model.md 11.1). Default false' }))
  }, strict)),
  pci: Type.Optional(Type.Object({
    vendor: Type.Integer({ minimum: 0, maximum: 0xffff }),
    device: Type.Integer({ minimum: 0, maximum: 0xffff }),
    class: Type.Integer({ minimum: 0, maximum: 0xffffff, description: 'Class code: base class, subclass, programming interface (24 bits)' })
  }, { ...strict, description: 'PCI identity a vfio-user client reads (docs/model.md 14); default: the template\'s IDs, else 1b36:0005 class ff0000' })),
  msix: Type.Optional(Type.Object({
    tableSize: Type.Integer({ minimum: 1, maximum: MSIX_MAX_TABLE_SIZE }),
    dynamic: Type.Optional(Type.Boolean({ description: `Dynamic MSI-X (default true under ${ABIS.filter((a) => ABI_PROFILES[a].dynamicMsix).join(', ')}; must be false under the others)` })),
    maskable: Type.Optional(Type.Boolean({ description: 'MSI-X MASKABLE, a virq extension: GET_IRQ_INFO reports MASKABLE and SET_IRQS MASK/UNMASK work on MSI-X (docs/model.md 11.4). Default false' })),
    emulated: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: MSIX_MAX_TABLE_SIZE - 1 }), {
      maxItems: MSIX_MAX_TABLE_SIZE,
      description: 'IMS-backed devices only: MSI-X vectors the device signals in software; they hold an eventfd but no IMS slot (docs/model.md 13). idxd-vdev: [0]'
    }))
  }, strict)),
  parent: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 64,
    description: "An IMS parent's id (POST /v1/parents): the device's MSI-X is IMS-backed, always dynamic, a slot per vector with an eventfd (docs/model.md 13). Required by idxd-vdev"
  }))
}, {
  $id: 'DeviceCreateRequest',
  ...strict,
  examples: [
    { name: 'nic0', abi: 'linux-6.12', pcie: true, reset: true, intx: true, msi: { vectors: 8 }, msix: { tableSize: 64, dynamic: true } },
    { name: 'tty0', abi: 'linux-6.1', template: 'mtty' },
    { name: 'nic1', abi: 'tglx-2021', template: 'virtio-net', msix: { tableSize: 16 } },
    { name: 'wq0', template: 'idxd-vdev', parent: '0b6c5a8e-2f0e-4a55-9d5e-8f6f0c1d2e3f' }
  ]
})
export type DeviceCreate = Static<typeof DeviceCreate>

const FlagSet = {
  flags: Type.Array(Type.String()),
  flagsValue: Type.Integer()
}

/** Interrupt totals of an index or a device: loss at a glance (per vector at .../vectors). */
export const Totals = Type.Object({
  fired: Type.Integer({ description: 'Interrupts the device fired' }),
  delivered: Type.Integer({ description: 'Of those, signalled to a trigger eventfd (deliveredFromPending included)' }),
  lost: Type.Integer({ description: 'Of those, lost (sum of lostBy); every reason is explained at /problems' }),
  lostBy: Type.Object({
    'index-disabled': Type.Integer({ description: 'Fired while the index was not enabled' }),
    'not-allocated': Type.Integer({ description: 'Fired on a vector without a host vector' }),
    'no-trigger': Type.Integer({ description: 'Fired on a vector without an eventfd and without a mask bit to hold it' })
  }),
  pended: Type.Integer({ description: 'Fires that set a pending bit' }),
  coalesced: Type.Integer({ description: 'Fires that joined a pending message already set' }),
  deliveredFromPending: Type.Integer({ description: 'Pending messages sent on unmask' }),
  pending: Type.Integer({ description: 'Pending bits set now (fired = delivered + lost + coalesced + pending)' })
}, { $id: 'Totals' })

export const DeviceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  abi: Abi,
  driver: DriverName,
  template: Type.Union([TemplateName, Type.Null()], { description: 'The template it was created from, or null' }),
  parent: Type.Union([Type.String(), Type.Null()], { description: 'The IMS parent whose store backs its MSI-X (docs/model.md 13), or null' }),
  pcie: Type.Boolean(),
  reset: Type.Boolean(),
  intx: Type.Boolean(),
  msi: Type.Optional(Type.Object({ vectors: Type.Integer(), perVectorMask: Type.Boolean() })),
  msix: Type.Optional(Type.Object({
    tableSize: Type.Integer(),
    dynamic: Type.Boolean(),
    maskable: Type.Boolean(),
    emulated: Type.Optional(Type.Array(Type.Integer(), { description: 'IMS-backed devices: the vectors signalled in software (no slot)' }))
  })),
  pci: Type.Optional(Type.Object({ vendor: Type.Integer(), device: Type.Integer(), class: Type.Integer() }, { description: 'The PCI identity given on create (absent: the template\'s, else the default)' })),
  info: Type.Object({ ...FlagSet, numRegions: Type.Integer(), numIrqs: Type.Integer() }),
  irqType: Type.Union([Type.Literal('none'), Type.Literal('intx'), Type.Literal('msi'), Type.Literal('msix')]),
  totals: Type.Ref(Totals),
  version: Type.Integer()
}, { $id: 'Device' })
/** A reference to the shared Device schema (a component of the OpenAPI document). */
export const Device = Type.Ref(DeviceSchema)

export const Template = Type.Object({
  name: TemplateName,
  summary: Type.String(),
  pci: Type.Object({ vendor: Type.Integer(), device: Type.Integer(), id: Type.String({ description: 'vendor:device in hex' }) }),
  driver: DriverName,
  pcie: Type.Boolean(),
  reset: Type.Boolean(),
  intx: Type.Boolean(),
  msi: Type.Optional(Type.Object({ vectors: Type.Integer() })),
  msix: Type.Optional(Type.Object({ tableSize: Type.Integer() })),
  overridable: Type.Array(Type.String(), { description: 'Capability fields that may be given beside this template' })
}, { $id: 'Template' })

const NextCursor = Type.Optional(Type.String({ description: 'Pass as `cursor` for the next page; absent on the last page' }))

/** A page of a collection, named `$id` (DevicePage, ...). */
export const Page = <T extends TSchema>(item: T, $id: string) => Type.Object({ items: Type.Array(item), nextCursor: NextCursor }, { $id })

/** A whole collection in one answer, named `$id` (TemplateList, ...). */
export const List = <T extends TSchema>(item: T, $id: string) => Type.Object({ items: Type.Array(item) }, { $id })

export const TemplateList = List(Type.Ref(Template), 'TemplateList')
export const DevicePage = Page(Device, 'DevicePage')

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 }))
}, strict)

export const VectorQuery = Type.Object({
  active: Type.Optional(Type.Boolean({ description: 'true: only vectors with a host vector or a trigger; false: only the others' })),
  lost: Type.Optional(Type.Boolean({ description: 'true: only vectors that lost interrupts; false: only those that lost none' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MSIX_MAX_TABLE_SIZE, description: 'At most this many vectors (default: all)' })),
  cursor: Type.Optional(Type.String({ maxLength: 64 }))
}, strict)

// Response-only: the coercion pitfall of nullable unions concerns validation, not serialisation.
const NullableFd = Type.Union([Type.Integer(), Type.Null()])

export const IrqIndexSchema = Type.Object({
  index: Type.Integer(),
  name: Type.String(),
  count: Type.Integer(),
  ...FlagSet,
  totals: Type.Ref(Totals),
  enabled: Type.Boolean({ description: 'INTx/MSI/MSI-X: this index is the enabled type. ERR/REQ: a trigger is set' }),
  trigger: Type.Optional(NullableFd),
  masked: Type.Optional(Type.Boolean()),
  line: Type.Optional(Type.Boolean({ description: 'INTx: whether the device drives its line' })),
  unmaskEventfd: Type.Optional(NullableFd),
  dynamic: Type.Optional(Type.Boolean({ description: 'MSI-X: vectors can be added while enabled' })),
  enabledVectors: Type.Optional(Type.Integer({ description: 'MSI/MSI-X: nvec of the enable call' })),
  hostVectors: Type.Optional(Type.Integer({ description: 'MSI/MSI-X: host vectors held' })),
  triggers: Type.Optional(Type.Integer({ description: 'MSI/MSI-X: vectors with a trigger' })),
  userMasked: Type.Optional(Type.Integer({ description: 'MSI-X on a MASKABLE device: vectors masked by SET_IRQS MASK' }))
}, { $id: 'IrqIndex' })
export const IrqIndex = Type.Ref(IrqIndexSchema)
export const IrqIndexList = List(IrqIndex, 'IrqIndexList')

export const Vector = Type.Object({
  vector: Type.Integer(),
  allocated: Type.Boolean({ description: 'A host vector backs it (for INTx/ERR/REQ: the index is in use)' }),
  trigger: NullableFd,
  fired: Type.Integer({ description: 'Interrupts the device fired on this vector' }),
  delivered: Type.Integer({ description: 'Of those, signalled to the trigger eventfd' }),
  lost: Type.Integer({ description: 'Of those, lost (sum of lostBy)' }),
  lostBy: Type.Object({
    'index-disabled': Type.Integer(),
    'not-allocated': Type.Integer(),
    'no-trigger': Type.Integer()
  }),
  masked: Type.Boolean({ description: 'MSI-X and per-vector-mask MSI: the function may not send this vector (docs/model.md 11.1, 11.4). INTx: the line is masked. Else false' }),
  maskedBy: Type.Array(Type.Union([Type.Literal('host'), Type.Literal('user')]), {
    description: '`host`: no trigger on an enabled index (no handler installed), or the index is disabled; `user`: SET_IRQS MASK (MSI-X MASKABLE)'
  }),
  pending: Type.Boolean({ description: 'The pending bit: a fire on the masked vector waits to be sent when it is unmasked (docs/model.md 11.2)' }),
  backing: Type.Union([Type.Literal('host'), Type.Literal('ims'), Type.Literal('emulated'), Type.Null()], { description: 'MSI/MSI-X: `host` while a host vector backs it; on an IMS-backed device `ims` while it holds a slot of its parent (and a host vector), `emulated` while an emulated vector holds an eventfd; else null (docs/model.md 13)' }),
  pended: Type.Integer({ description: 'Fires that set the pending bit' }),
  coalesced: Type.Integer({ description: 'Fires that joined a pending message already set (fired = delivered + lost + coalesced + pending)' }),
  deliveredFromPending: Type.Integer({ description: 'Of delivered, pending messages sent when the vector was unmasked (docs/model.md 11.3)' })
}, { $id: 'VectorState' })

export const VectorPage = Type.Object({
  index: Type.Integer(),
  name: Type.String(),
  count: Type.Integer(),
  items: Type.Array(Type.Ref(Vector)),
  nextCursor: NextCursor
}, { $id: 'VectorPage' })

export const PendingBitArray = Type.Object({
  pending: Type.Array(Type.Integer(), { description: 'Vectors whose pending bit is set, ascending' }),
  words: Type.Array(Type.String({ pattern: '^0x[0-9a-f]{16}$' }), { description: 'The PBA as a guest reads it: one 64-bit little-endian word per 64 vectors of the table (bit i of word w is vector 64w+i), in hex' })
}, { $id: 'Pba', examples: [{ pending: [3, 17], words: ['0x0000000000020008'] }] })

export const SetIrqsBody = Type.Object({
  action: Type.Union([Type.Literal('mask'), Type.Literal('unmask'), Type.Literal('trigger')]),
  start: Type.Optional(U32),
  count: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'Defaults to the length of fds/values' })),
  data: Type.Union([
    Type.Object({ type: Type.Literal('none') }, strict),
    Type.Object({ type: Type.Literal('bool'), values: Type.Array(Type.Boolean(), { maxItems: MAX_DATA_ELEMENTS }) }, strict),
    Type.Object({
      type: Type.Literal('eventfd'),
      fds: Type.Array(Type.Integer({ minimum: -2147483648, maximum: 2147483647 }), { maxItems: MAX_DATA_ELEMENTS, description: 'Eventfd numbers; -1 de-assigns' })
    }, strict)
  ])
}, { $id: 'IrqSetRequest', ...strict, examples: [{ action: 'trigger', start: 0, count: 2, data: { type: 'eventfd', fds: [5, -1] } }] })
export type SetIrqsBody = Static<typeof SetIrqsBody>

export const IrqSetResult = Type.Object({
  result: Type.Integer({ description: '0, or the positive number of vectors the host could have given' }),
  irq: IrqIndex,
  version: Type.Integer()
}, { $id: 'IrqSetResult' })

export const FireBody = Type.Object({
  index: IrqIndexBody,
  vectors: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: MSIX_MAX_TABLE_SIZE - 1 }), { maxItems: MAX_DATA_ELEMENTS, description: 'MSI/MSI-X: fire each, in order (repeats fire again)' })),
  vector: Type.Optional(Type.Integer({ minimum: 0, maximum: MSIX_MAX_TABLE_SIZE - 1 })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FIRE_COUNT, description: 'How many times `vector` (or ERR/REQ) fires; default 1' })),
  level: Type.Optional(Type.Union([Type.Literal('assert'), Type.Literal('deassert'), Type.Literal('pulse')], { description: 'INTx: drive the line; default pulse' }))
}, {
  $id: 'FireRequest',
  ...strict,
  examples: [
    { index: 'msix', vectors: [0, 3, 3, 7] },
    { index: 'msix', vector: 3, count: 1000 },
    { index: 'intx', level: 'assert' },
    { index: 'err' }
  ]
})

export const FireResult = Type.Object({
  fired: Type.Integer(),
  delivered: Type.Integer({ description: 'Signalled a trigger eventfd' }),
  lost: Type.Integer({ description: 'Lost: index disabled; on vectors without a mask bit also not allocated or no trigger' }),
  pended: Type.Integer({ description: 'Set the pending bit of a masked vector (docs/model.md 11.2)' }),
  coalesced: Type.Integer({ description: 'Joined a pending bit already set. fired = delivered + lost + pended + coalesced' })
}, { $id: 'FireResult' })

export const RawSetIrqs = Type.Object({
  argsz: Type.Optional(U32),
  flags: U32,
  index: U32,
  start: U32,
  count: U32,
  data: Type.Optional(Type.Array(Type.Integer({ minimum: -2147483648, maximum: 0xffffffff }), { maxItems: MAX_DATA_ELEMENTS }))
}, { $id: 'RawSetIrqsRequest', ...strict, examples: [{ argsz: 24, flags: 36, index: 2, start: 0, count: 1, data: [-1] }] })
export type RawSetIrqs = Static<typeof RawSetIrqs>

export const RawGetIrqInfo = Type.Object({ argsz: Type.Optional(U32), index: U32 }, { $id: 'RawGetIrqInfoRequest', ...strict, examples: [{ argsz: 16, index: 2 }] })
export const RawGetInfo = Type.Object({ argsz: Type.Optional(U32) }, { $id: 'RawGetInfoRequest', ...strict, examples: [{ argsz: 16 }] })
export const RawResult = Type.Object({ result: Type.Integer() }, { $id: 'RawResult' })
/** struct vfio_device_info as VFIO_DEVICE_GET_INFO fills it. */
export const RawDeviceInfo = Type.Object({ argsz: Type.Integer(), flags: Type.Integer(), numRegions: Type.Integer(), numIrqs: Type.Integer() }, { $id: 'RawDeviceInfo' })
/** struct vfio_irq_info as VFIO_DEVICE_GET_IRQ_INFO fills it. */
export const RawIrqInfo = Type.Object({ argsz: Type.Integer(), flags: Type.Integer(), index: Type.Integer(), count: Type.Integer() }, { $id: 'RawIrqInfo' })

export const EventfdCreate = Type.Object({
  // Said in words, not as `default`: bodies are validated without defaults (app.ts), and
  // openapi-typescript makes a component's field that has a default required.
  semaphore: Type.Optional(Type.Boolean({ description: 'EFD_SEMAPHORE: a read takes 1 rather than the whole counter. Default false' })),
  label: Type.Optional(Type.String({ maxLength: 128 }))
}, { $id: 'EventfdCreateRequest', ...strict, examples: [{ semaphore: false, label: 'vm1-q0' }] })

export const Binding = Type.Object({
  deviceId: Type.String(),
  index: Type.Integer(),
  name: Type.String(),
  vector: Type.Integer(),
  role: Type.Union([Type.Literal('trigger'), Type.Literal('unmask')])
})

export const EventfdSchema = Type.Object({
  fd: Type.Integer(),
  value: Type.Integer(),
  semaphore: Type.Boolean(),
  label: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  external: Type.Optional(Type.Boolean({ description: "A vfio-user client's eventfd: its counter is the client's (reads answer 409 external-eventfd); closed when its connection ends" })),
  bindings: Type.Optional(Type.Array(Binding))
}, { $id: 'Eventfd' })
export const Eventfd = Type.Ref(EventfdSchema)
export const EventfdPage = Page(Eventfd, 'EventfdPage')

export const FdParams = Type.Object({ fd: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) })
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
export const IrqParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), index: IrqIndexParam })
export const EventfdValue = Type.Object({ value: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }, { $id: 'EventfdWriteRequest', ...strict, examples: [{ value: 1 }] })
/** What read(2) took, or the counter after write(2). */
export const EventfdCounter = Type.Object({ value: Type.Integer({ description: 'read: the value the read took; write: the counter after the write' }) }, { $id: 'EventfdCounter' })

export const ParentCreate = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  imsSlots: Type.Integer({ minimum: 1, maximum: 65536, description: 'Entries in the IMS store shared by the devices created under it' })
}, { $id: 'ParentCreateRequest', ...strict, examples: [{ name: 'dsa0', imsSlots: 2048 }] })

export const ParentSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  imsSlots: Type.Integer(),
  slots: Type.Object({
    total: Type.Integer(),
    used: Type.Integer({ description: 'IMS-backed vectors with an eventfd, across its devices' }),
    free: Type.Integer()
  }),
  devices: Type.Array(Type.Object({
    id: Type.String(),
    name: Type.String(),
    slots: Type.Integer({ description: 'Slots this device holds' })
  }), { description: 'Every device created under it, in creation order, with the slots it holds' })
}, { $id: 'Parent' })
/** A reference to the shared Parent schema (a component of the OpenAPI document). */
export const Parent = Type.Ref(ParentSchema)
export const ParentList = List(Parent, 'ParentList')

/** A parent's slots in the host views. */
export const ParentSlots = Type.Object({
  id: Type.String(),
  name: Type.String(),
  total: Type.Integer(),
  used: Type.Integer(),
  free: Type.Integer()
})

const VfioUserClient = Type.Object({
  connectedAt: Type.String({ format: 'date-time' }),
  version: Type.Union([Type.Object({ major: Type.Integer(), minor: Type.Integer() }), Type.Null()], { description: 'Negotiated protocol version (null before VERSION)' }),
  clientCapabilities: Type.Unknown({ description: 'The capabilities JSON the client sent with VERSION' }),
  messages: Type.Record(Type.String(), Type.Integer(), { description: 'Messages received, per command' }),
  errors: Type.Integer({ description: 'Error replies sent' }),
  fdsReceived: Type.Integer(),
  externalEventfds: Type.Integer({ description: 'Eventfds of this client virq holds now (external: true in GET /v1/eventfds)' })
})

export const VfioUserState = Type.Object({
  socket: Type.String({ description: 'Absolute path of the UNIX socket (mode 0600)' }),
  pci: Type.Object({ vendor: Type.Integer(), device: Type.Integer(), class: Type.Integer() }, { description: 'The identity the client reads in config space' }),
  state: Type.Union([Type.Literal('listening'), Type.Literal('connected')]),
  startedAt: Type.String({ format: 'date-time' }),
  connections: Type.Integer({ description: 'Clients served since start' }),
  refused: Type.Integer({ description: 'Clients refused while another was connected (one at a time)' }),
  client: Type.Union([VfioUserClient, Type.Null()], { description: 'The connected client, or null' }),
  lastClient: Type.Union([VfioUserClient, Type.Null()], { description: 'The previous client, once one has disconnected' })
}, { $id: 'VfioUserState', examples: [{ socket: '/var/lib/virq/vfio-user/3f0c.sock', pci: { vendor: 6966, device: 5, class: 16711680 }, state: 'listening', startedAt: '2026-11-28T09:00:00.000Z', connections: 0, refused: 0, client: null, lastClient: null }] })
