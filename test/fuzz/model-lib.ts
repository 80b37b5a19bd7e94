import fc from 'fast-check'
import { U32_MAX, VFIO_PCI_MSIX_IRQ_INDEX } from '../../src/core/constants.ts'
import { irqCount, type Device, type DeviceCaps } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import type { IrqSetRequest } from '../../src/core/set-irqs/request.ts'
import { NO_TRIGGER } from '../../src/core/vectors.ts'

// Random SET_IRQS requests drawn around the interesting boundaries, shared by the model-level
// and HTTP-level fuzz tests. Numbers are symbolic until a step runs (relative to the device's
// count, its enabled nvec, or the 32-bit overflow guard), so that boundaries stay boundaries
// whatever state the earlier steps left.

/** The seed every fuzz file uses unless FUZZ_SEED is set (printed by each test). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)
/** FUZZ_RUNS_SCALE=0.1 for a quick pass, 10 for a long one. */
export const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1)
export const runs = (n: number): number => Math.max(1, Math.round(n * RUNS_SCALE))

export const deviceCapsArb = fc.record({
  abi: fc.constantFrom<Abi>(...ABIS),
  pcie: fc.boolean(),
  reset: fc.boolean(),
  intx: fc.boolean(),
  msiVectors: fc.constantFrom(0, 1, 2, 4, 8, 32),
  msixTableSize: fc.constantFrom(0, 1, 2, 3, 5, 8, 64, 2048),
  msixDynamic: fc.boolean(),
  msiPerVectorMask: fc.boolean(),
  msixMaskable: fc.boolean()
}).map(({ abi, ...c }) => ({ abi, caps: { ...c, msixDynamic: ABI_PROFILES[abi].dynamicMsix && c.msixDynamic } as DeviceCaps }))
export type DeviceSpec = { abi: Abi, caps: DeviceCaps }

/** A number, or a boundary relative to the state when the step runs. */
export type Sym = number | { rel: 'count' | 'nvec' | 'rest' | 'nvecRest' | 'overflow', d: number }

const near = (rel: 'count' | 'nvec' | 'rest' | 'nvecRest' | 'overflow', ds: number[]): fc.Arbitrary<Sym> =>
  fc.constantFrom(...ds).map((d) => ({ rel, d }))

export const startArb: fc.Arbitrary<Sym> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, 0, 0, 1, 2, 3) },
  { weight: 3, arbitrary: near('count', [-1, 0, 1]) },
  { weight: 3, arbitrary: near('nvec', [-1, 0, 1]) },
  { weight: 1, arbitrary: fc.constantFrom(7, 31, 32, 63, 2047, 2048, 0x7fffffff, 0xfffffffe, U32_MAX) }
)

export const countArb: fc.Arbitrary<Sym> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, 1, 1, 1, 2, 3, 4) },
  { weight: 3, arbitrary: near('rest', [-1, 0, 1]) },
  { weight: 2, arbitrary: near('nvecRest', [0, 1]) },
  { weight: 1, arbitrary: near('overflow', [-1, 0, 1]) },
  { weight: 1, arbitrary: fc.constantFrom(8, 33, 2049, 0x80000000, U32_MAX) }
)

/** Valid data|action combinations mostly; sometimes several bits, none, or bits outside 0x3f. */
export const flagsArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(0x21, 0x22, 0x24, 0x24, 0x24, 0x09, 0x0a, 0x0c, 0x11, 0x12, 0x14) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x3f }) },
  { weight: 1, arbitrary: fc.constantFrom(0x40, 0x64, 0x80000024, U32_MAX, 0x25, 0x27, 0x20, 0x04, 0x3c, 0x31) }
)

export const indexArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(0, 1, 1, 1, 2, 2, 2, 2, 3, 4) },
  { weight: 1, arbitrary: fc.constantFrom(5, 6, 255, 0x7fffffff, U32_MAX) }
)

/** A data element: an index into the live eventfds, or a fixed number. */
export type Elem = { efd: number } | { n: number } | { stale: true }
export const fdElemArb: fc.Arbitrary<Elem> = fc.oneof(
  { weight: 8, arbitrary: fc.nat(7).map((efd) => ({ efd })) },
  { weight: 4, arbitrary: fc.constant({ n: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom(-2, -2147483648, 0, 2147483647).map((n) => ({ n })) },
  { weight: 1, arbitrary: fc.constant({ stale: true as const }) }
)
export const boolElemArb: fc.Arbitrary<Elem> = fc.constantFrom(0, 1, 1, 255).map((n) => ({ n }))

export interface SetIrqsStep {
  /** Folded into the device's bounds (an index it has, start < count, start + count <= count, valid flags, argsz and length), so that most steps reach the handlers. */
  sane: boolean
  dev: number
  flags: number
  index: number
  start: Sym
  count: Sym
  /** Data length relative to count (capped), and elements drawn from both pools. */
  lenDelta: number
  fdElems: Elem[]
  boolElems: Elem[]
  /** 'computed' = 20 + data bytes; else a fixed argsz or computed-1. */
  argsz: 'computed' | 'short' | number
}

const SANE_FLAGS = [0x21, 0x22, 0x24, 0x24, 0x24, 0x24, 0x09, 0x0a, 0x11, 0x12, 0x14]

export const setIrqsStepArb: fc.Arbitrary<SetIrqsStep> = fc.record({
  sane: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())), // 3 in 4
  dev: fc.nat(3),
  flags: flagsArb,
  index: indexArb,
  start: startArb,
  count: countArb,
  lenDelta: fc.constantFrom(0, 0, 0, 0, 0, 1, -1),
  fdElems: fc.array(fdElemArb, { minLength: 8, maxLength: 8 }),
  boolElems: fc.array(boolElemArb, { minLength: 8, maxLength: 8 }),
  argsz: fc.oneof({ weight: 12, arbitrary: fc.constant('computed' as const) }, { weight: 1, arbitrary: fc.constant('short' as const) },
    { weight: 1, arbitrary: fc.constantFrom(0, 16, 19, 20, 21) })
})

const u32 = (x: number): number => Math.min(U32_MAX, Math.max(0, x))

/** The concrete struct vfio_irq_set of a step, against the device's state now. */
export function resolveStep (s: SetIrqsStep, dev: Device, liveFds: number[], staleFd: number): IrqSetRequest {
  let index = s.index
  let flags = s.flags
  if (s.sane) {
    const have = [0, 1, 2, 3, 4].filter((i) => irqCount(dev, i) > 0)
    index = have[s.index % have.length]
    flags = SANE_FLAGS[s.flags % SANE_FLAGS.length]
    // MASK/UNMASK exist for INTx, and for MSI-X on a MASKABLE device (docs/model.md 11.4)
    if (index !== 0 && !(index === VFIO_PCI_MSIX_IRQ_INDEX && dev.caps.msixMaskable === true)) flags = (flags & 7) | 0x20
  }
  const n = index < 5 ? irqCount(dev, index) : 0
  const nvec = index === 1 ? dev.msi.enabledNvec : index === VFIO_PCI_MSIX_IRQ_INDEX ? dev.msix.enabledNvec : 0
  let start = typeof s.start === 'number' ? s.start : u32((s.start.rel === 'count' ? n : nvec) + s.start.d)
  if (s.sane && start >= n) start = start % n
  let count = typeof s.count === 'number'
    ? s.count
    : u32(s.count.d + (s.count.rel === 'rest' ? n - start : s.count.rel === 'nvecRest' ? nvec - start : s.count.rel === 'overflow' ? U32_MAX - start : n))
  if (s.sane && count > n - start) count = n - start
  const type = flags & 7
  const size = type === 2 ? 1 : type === 4 ? 4 : 0
  const lenDelta = s.sane ? 0 : s.lenDelta
  const len = size === 0 ? (lenDelta > 0 ? 1 : 0) : Math.max(0, Math.min(count, 2100) + lenDelta)
  const pool = size === 1 ? s.boolElems : s.fdElems
  const data: number[] = []
  for (let i = 0; i < len; i++) {
    const e = pool[i % pool.length]
    if ('efd' in e) data.push(liveFds.length > 0 ? liveFds[(e.efd + i) % liveFds.length] : NO_TRIGGER)
    else if ('stale' in e) data.push(staleFd)
    else data.push(e.n)
  }
  const computed = 20 + data.length * size
  const argsz = s.argsz === 'computed' || s.sane ? computed : s.argsz === 'short' ? Math.max(0, computed - 1) : s.argsz
  return { argsz, flags, index, start, count, data }
}
