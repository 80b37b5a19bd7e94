import type { DeviceCaps } from './device-caps.ts'
import { DEFAULT_DRIVER, HOST_VECTORS, type DriverName } from './drivers/ops.ts'
import { abiProfile, type Abi } from './profiles.ts'

// Known devices (docs/model.md 12), as data: the four devices recorded from real kernels,
// and the two mdev drivers with their fixed answers. `template` on create fills a device's
// capabilities from one of these; `overridable` names the fields given beside it that may
// change what it filled.

export interface Template {
  readonly name: string
  readonly summary: string
  readonly pci: { readonly vendor: number, readonly device: number }
  readonly driver: DriverName
  readonly caps: Readonly<Omit<DeviceCaps, 'msixDynamic' | 'parent'>>
  /** Create-body fields that may be given beside the template to override it. */
  readonly overridable: readonly OverridableField[]
  /** A virtual device of a parent's IMS store: `parent` must be given (docs/model.md 13). */
  readonly needsParent?: boolean
}

/** The capability fields of a create body. */
export type OverridableField = 'pcie' | 'reset' | 'intx' | 'msi' | 'msix'

/** Every capability field: what a vfio-pci device recorded from real hardware lets a user vary. */
const ALL: readonly OverridableField[] = ['pcie', 'reset', 'intx', 'msi', 'msix']

export const TEMPLATES = {
  'virtio-net': {
    name: 'virtio-net',
    summary: 'virtio-net-pci (modern) on a PCIe root port: INTx, MSI-X 64, no MSI, PCIe, reset',
    pci: { vendor: 0x1af4, device: 0x1041 },
    driver: 'vfio-pci',
    caps: { pcie: true, reset: true, intx: true, msiVectors: 0, msixTableSize: 64 },
    overridable: ALL
  },
  e1000e: {
    name: 'e1000e',
    summary: 'Intel 82574L: INTx, MSI 1, MSI-X 5, PCIe, reset',
    pci: { vendor: 0x8086, device: 0x10d3 },
    driver: 'vfio-pci',
    caps: { pcie: true, reset: true, intx: true, msiVectors: 1, msixTableSize: 5 },
    overridable: ALL
  },
  'nec-xhci': {
    name: 'nec-xhci',
    summary: 'NEC uPD720200 USB 3.0 (xHCI): INTx, MSI 16, MSI-X 16, PCIe, reset',
    pci: { vendor: 0x1033, device: 0x0194 },
    driver: 'vfio-pci',
    caps: { pcie: true, reset: true, intx: true, msiVectors: 16, msixTableSize: 16 },
    overridable: ALL
  },
  edu: {
    name: 'edu',
    summary: "QEMU's edu device: INTx, MSI 1, conventional PCI (no ERR), no reset",
    pci: { vendor: 0x1234, device: 0x11e8 },
    driver: 'vfio-pci',
    caps: { pcie: false, reset: false, intx: true, msiVectors: 1, msixTableSize: 0 },
    overridable: ALL
  },
  mtty: {
    name: 'mtty',
    summary: 'the mtty sample mdev (samples/vfio-mdev/mtty.c), a virtual serial card: one INTx, one MSI, no reset flag',
    pci: { vendor: 0x4348, device: 0x3253 }, // mtty_create_config_space(): 0x32534348
    driver: 'mtty',
    caps: { pcie: false, reset: false, intx: true, msiVectors: 1, msixTableSize: 0 },
    overridable: []
  },
  kvmgt: {
    name: 'kvmgt',
    summary: "an i915 GVT-g vGPU (drivers/gpu/drm/i915/gvt/kvmgt.c): one INTx, one MSI, reset; its config space is the host GPU's",
    pci: { vendor: 0x8086, device: 0x5912 }, // a GVT-g capable host GPU (Kaby Lake HD 630); the vGPU copies its IDs
    driver: 'kvmgt',
    caps: { pcie: false, reset: true, intx: true, msiVectors: 1, msixTableSize: 0 },
    overridable: []
  },
  'idxd-vdev': {
    name: 'idxd-vdev',
    summary: 'the 2021 idxd mdev (an Intel DSA work queue as a virtual device): MSI-X 2, vector 0 emulated (completion and errors), vector 1 IMS-backed; PCIe, no MSI, no INTx; needs a parent',
    pci: { vendor: 0x8086, device: 0x0b25 }, // PCI_DEVICE_ID_INTEL_DSA_SPR0
    driver: 'vfio-pci',
    caps: { pcie: true, reset: true, intx: false, msiVectors: 0, msixTableSize: 2, msixEmulated: [0] },
    overridable: ['msix'],
    needsParent: true
  }
} as const satisfies Record<string, Template>

export type TemplateName = keyof typeof TEMPLATES
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as readonly TemplateName[] as readonly [TemplateName, ...TemplateName[]]

/** The template a driver's devices are created from when only `driver` is given (mdev drivers have fixed answers). */
function driverTemplate (driver: DriverName): Template | undefined {
  return Object.values(TEMPLATES).find((t: Template) => t.driver === driver && t.overridable.length === 0)
}

/** What a create request asks for, as the HTTP layer parsed it. */
export interface DeviceRequest {
  abi: Abi
  driver?: DriverName
  template?: TemplateName
  pcie?: boolean
  reset?: boolean
  intx?: boolean
  msi?: { vectors: number, perVectorMask?: boolean }
  msix?: { tableSize: number, dynamic?: boolean, maskable?: boolean, emulated?: number[] }
  /** The parent's id (its existence and owner are the caller's to check). */
  parent?: string
}

export type DeviceSpec =
  | { ok: true, driver: DriverName, template: TemplateName | null, caps: DeviceCaps }
  | { ok: false, reason: string, detail: string }

/** The IMS fields of a create request (docs/model.md 13): a parent where needed, emulated vectors only under one. */
function imsFields (req: DeviceRequest, template: Template | undefined): { ok: true, emulated: number[] } | { ok: false, reason: string, detail: string } {
  if (template?.needsParent === true && req.parent === undefined) {
    return { ok: false, reason: 'parent-required', detail: `${template.name} is a virtual device of an IMS parent: give parent (POST /v1/parents creates one)` }
  }
  const given = req.msix?.emulated
  if (req.parent === undefined) {
    if (given !== undefined) return { ok: false, reason: 'emulated-needs-parent', detail: 'msix.emulated names vectors of an IMS-backed device: give parent too' }
    return { ok: true, emulated: [] }
  }
  if (req.driver !== undefined && !HOST_VECTORS[req.driver]) {
    return { ok: false, reason: 'parent-needs-vfio-pci', detail: `${req.driver} has no MSI-X; only vfio-pci devices can be IMS-backed` }
  }
  if (req.msix?.dynamic === false) {
    return { ok: false, reason: 'ims-always-dynamic', detail: 'IMS-backed MSI-X is always dynamic; omit msix.dynamic or set it to true' }
  }
  const emulated = given ?? [...(template?.caps.msixEmulated ?? [])]
  if (new Set(emulated).size !== emulated.length) {
    return { ok: false, reason: 'emulated-duplicate', detail: 'msix.emulated names a vector twice' }
  }
  return { ok: true, emulated: [...emulated].sort((a, b) => a - b) }
}

/**
 * A device's driver, template and capabilities from a create request: the template's (or a
 * fixed-answer driver's) capabilities, then the explicit fields where the template allows them.
 */
export function resolveDevice (req: DeviceRequest): DeviceSpec {
  const profile = abiProfile(req.abi)
  const template: Template | undefined = req.template === undefined ? undefined : TEMPLATES[req.template]
  if (template !== undefined && req.driver !== undefined && req.driver !== template.driver) {
    return { ok: false, reason: 'template-driver-mismatch', detail: `template ${template.name} is a ${template.driver} device, not ${req.driver}` }
  }
  const driver = template?.driver ?? req.driver ?? DEFAULT_DRIVER
  const base = template ?? driverTemplate(driver)
  const given = (['pcie', 'reset', 'intx', 'msi', 'msix'] as const).filter((f) => req[f] !== undefined)
  const refused = given.filter((f) => base !== undefined && !base.overridable.includes(f))
  if (refused.length > 0) {
    return {
      ok: false,
      reason: 'template-fixed-field',
      detail: `${base?.name ?? driver} has fixed capabilities (its driver's answers); ${refused.join(', ')} cannot be given beside it`
    }
  }
  const ims = imsFields(req, template)
  if (!ims.ok) return ims
  if (!profile.dynamicMsix && req.msix?.dynamic === true && req.parent === undefined) {
    return { ok: false, reason: 'dynamic-msix-needs-linux-6.5', detail: `${req.abi} has no dynamic MSI-X; omit msix.dynamic or set it to false` }
  }
  const caps: DeviceCaps = {
    pcie: req.pcie ?? base?.caps.pcie ?? false,
    reset: req.reset ?? base?.caps.reset ?? false,
    intx: req.intx ?? base?.caps.intx ?? false,
    msiVectors: req.msi !== undefined ? req.msi.vectors : base?.caps.msiVectors ?? 0,
    msixTableSize: req.msix !== undefined ? req.msix.tableSize : base?.caps.msixTableSize ?? 0,
    msixDynamic: req.parent !== undefined || (profile.dynamicMsix && (req.msix?.dynamic ?? true)),
    msiPerVectorMask: req.msi?.perVectorMask ?? false,
    msixMaskable: req.msix?.maskable ?? false,
    ...(req.parent !== undefined ? { parent: req.parent, msixEmulated: ims.emulated } : {})
  }
  if (req.parent !== undefined && caps.msixTableSize === 0) {
    return { ok: false, reason: 'parent-needs-msix', detail: 'an IMS-backed device needs an MSI-X table (msix.tableSize)' }
  }
  const tooBig = ims.emulated.filter((v) => v >= caps.msixTableSize)
  if (tooBig.length > 0) {
    return { ok: false, reason: 'emulated-out-of-range', detail: `emulated vector(s) ${tooBig.join(', ')} are not below the table size ${caps.msixTableSize}` }
  }
  return { ok: true, driver, template: template === undefined ? null : template.name as TemplateName, caps }
}
