// What a device is created with. Its own module, below everything else in core, because
// templates.ts fills these from data and model-types.ts names the templates (Device.template):
// if the capabilities lived with the Device, the two would import each other.

export interface DeviceCaps {
  pcie: boolean
  reset: boolean
  /** An interrupt pin. */
  intx: boolean
  /** MSI capability's vector count, 0 without MSI. */
  msiVectors: number
  /** MSI-X table size, 0 without MSI-X. */
  msixTableSize: number
  /** Dynamic MSI-X allocation (only where the abi's profile has dynamicMsix). */
  msixDynamic: boolean
  /** MSI with per-vector masking: its vectors get mask and pending bits (docs/model.md 11.1). Default false. */
  msiPerVectorMask?: boolean
  /** MSI-X MASKABLE, a virq extension: MASK/UNMASK on MSI-X (docs/model.md 11.4). Default false. */
  msixMaskable?: boolean
  /** The parent whose IMS store backs the MSI-X vectors (docs/model.md 13); absent: host vectors. */
  parent?: string
  /** IMS-backed devices: MSI-X vectors signalled in software, holding no slot (docs/model.md 13). */
  msixEmulated?: readonly number[]
}
