// The kernel eras a device can behave like (docs/model.md 2, 12), as data. Every place that
// depends on the era reads a named field here; nothing compares abi names. A new profile is
// one more row, and the compiler points at every field it has to decide.

/** What one kernel era of vfio does differently. */
export interface AbiProfile {
  readonly name: string
  readonly summary: string
  /**
   * The kernel can add MSI-X vectors while the index is enabled (Linux 6.5+, has_dyn_msix):
   * a device's `msix.dynamic` may be true, and defaults to true.
   */
  readonly dynamicMsix: boolean
  /**
   * vfio_msi_set_block() before 6.5 checks a block against the vectors allocated at enable
   * time up front: EINVAL with nothing changed (docs/model.md 5.4), for loopback too. It also makes a
   * count-0 enable with start > 0 EINVAL (docs/model.md 5.3 step 3).
   */
  readonly staticRangeCheck: boolean
  /** ERR/REQ EVENTFD with an fd below -1: ignored (before 6.5) or EINVAL (docs/model.md 5.5). */
  readonly errReqBelowMinusOneIgnored: boolean
  /** A write to an INTx unmask eventfd is consumed by the unmask (docs/model.md 5.1); 5.10's virqfd left it. */
  readonly unmaskEventfdConsumesValue: boolean
  /** GET_IRQ_INFO reports NORESIZE where the driver's source sets it; false is the seed's patch. */
  readonly reportsNoresize: boolean
  /** Which mtty sample the era ships: before or after the 6.7 rework (docs/model.md 12). */
  readonly mttyEra: 'pre-6.7' | '6.7+'
}

export const ABI_PROFILES = {
  'linux-6.12': {
    name: 'linux-6.12',
    summary: 'Linux 6.5 and later (recorded on 6.12.118; 7.2.13 answered the same): dynamic MSI-X',
    dynamicMsix: true,
    staticRangeCheck: false,
    errReqBelowMinusOneIgnored: false,
    unmaskEventfdConsumesValue: true,
    reportsNoresize: true,
    mttyEra: '6.7+'
  },
  'linux-6.1': {
    name: 'linux-6.1',
    summary: 'Linux before 6.5 (recorded on 6.1.192): NORESIZE, MSI-X grows only by disable and re-enable',
    dynamicMsix: false,
    staticRangeCheck: true,
    errReqBelowMinusOneIgnored: true,
    unmaskEventfdConsumesValue: true,
    reportsNoresize: true,
    mttyEra: 'pre-6.7'
  },
  'linux-5.10': {
    name: 'linux-5.10',
    summary: 'the 2021 kernel (recorded on 5.10.262): as linux-6.1, but an INTx unmask eventfd keeps the value written to it',
    dynamicMsix: false,
    staticRangeCheck: true,
    errReqBelowMinusOneIgnored: true,
    unmaskEventfdConsumesValue: false,
    reportsNoresize: true,
    mttyEra: 'pre-6.7'
  },
  'tglx-2021': {
    name: 'tglx-2021',
    summary: "the seed's patch on the 2021 kernel: GET_IRQ_INFO never reports NORESIZE, SET_IRQS as linux-5.10 (MSI-X still cannot grow)",
    dynamicMsix: false,
    staticRangeCheck: true,
    errReqBelowMinusOneIgnored: true,
    unmaskEventfdConsumesValue: false,
    reportsNoresize: false,
    mttyEra: 'pre-6.7'
  }
} as const satisfies Record<string, AbiProfile>

/** Which kernel's vfio the device behaves like (docs/model.md 2). */
export type Abi = keyof typeof ABI_PROFILES
export const ABIS = Object.keys(ABI_PROFILES) as readonly Abi[] as readonly [Abi, ...Abi[]]
export const DEFAULT_ABI: Abi = 'linux-6.12'

export function abiProfile (abi: Abi): AbiProfile {
  return ABI_PROFILES[abi]
}
