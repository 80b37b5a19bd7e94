import t from 'tap'
import { outcome } from './lib.ts'
import { getDeviceInfo, getIrqInfo, type DeviceCaps } from '../../src/core/device.ts'
import { ABI_PROFILES, ABIS, type Abi } from '../../src/core/profiles.ts'
import { Effects, World } from '../../src/core/world.ts'

// docs/model.md 3: GET_INFO and GET_IRQ_INFO, on every abi profile.

const FULL: DeviceCaps = { pcie: true, reset: true, intx: true, msiVectors: 8, msixTableSize: 64, msixDynamic: true }
const BARE: DeviceCaps = { pcie: false, reset: false, intx: false, msiVectors: 0, msixTableSize: 0, msixDynamic: false }

function device (abi: Abi, caps: Partial<DeviceCaps>) {
  const world = new World(4096)
  // Profiles without dynamic MSI-X never have it; the HTTP layer refuses msix.dynamic there.
  const all = { ...FULL, ...caps }
  if (!ABI_PROFILES[abi].dynamicMsix) all.msixDynamic = false
  return world.addDevice('d', 'd', '2024-01-01T00:00:00.000Z', abi, all, new Effects())
}

for (const abi of ABIS) {
  t.test(`${abi}: 3 GET_INFO`, async (t) => {
    const cases: Array<{ name: string, caps: Partial<DeviceCaps>, argsz: number, want: unknown }> = [
      { name: '3 GET_INFO argsz 15 is EINVAL', caps: {}, argsz: 15, want: { errno: 'EINVAL', reason: 'argsz-too-small' } },
      { name: '3 GET_INFO with reset: flags PCI|RESET', caps: {}, argsz: 16, want: { argsz: 16, flags: 0x3, numRegions: 9, numIrqs: 5 } },
      { name: '3 GET_INFO without reset: flags PCI', caps: { reset: false }, argsz: 16, want: { argsz: 16, flags: 0x2, numRegions: 9, numIrqs: 5 } },
      { name: '3 GET_INFO larger argsz is echoed', caps: BARE, argsz: 64, want: { argsz: 64, flags: 0x2, numRegions: 9, numIrqs: 5 } }
    ]
    for (const c of cases) t.same(outcome(() => getDeviceInfo(device(abi, c.caps), c.argsz)), c.want, c.name)
  })

  t.test(`${abi}: 3 GET_IRQ_INFO`, async (t) => {
    // 0x9 (EVENTFD|NORESIZE) where vfio-pci sets NORESIZE; 0x1 under the seed's patch (docs/model.md 12).
    const nr = ABI_PROFILES[abi].reportsNoresize ? 0x9 : 0x1
    const dyn = ABI_PROFILES[abi].dynamicMsix ? 0x1 : nr
    const cases: Array<{ name: string, caps: Partial<DeviceCaps>, argsz?: number, index: number, want: unknown }> = [
      { name: '3 GET_IRQ_INFO argsz 15 is EINVAL', caps: {}, argsz: 15, index: 0, want: { errno: 'EINVAL', reason: 'argsz-too-small' } },
      { name: '3 GET_IRQ_INFO index 5 is EINVAL', caps: {}, index: 5, want: { errno: 'EINVAL', reason: 'index-out-of-range' } },
      { name: '3 GET_IRQ_INFO argsz is checked before index', caps: {}, argsz: 8, index: 9, want: { errno: 'EINVAL', reason: 'argsz-too-small' } },
      { name: '3 INTx flags 0x7 count 1', caps: {}, index: 0, want: { argsz: 16, flags: 0x7, index: 0, count: 1 } },
      { name: '3 INTx without a pin answers count 0', caps: { intx: false }, index: 0, want: { argsz: 16, flags: 0x7, index: 0, count: 0 } },
      { name: `3 MSI flags 0x${nr.toString(16)} count 8`, caps: {}, index: 1, want: { argsz: 16, flags: nr, index: 1, count: 8 } },
      { name: '3 MSI without capability answers count 0', caps: { msiVectors: 0 }, index: 1, want: { argsz: 16, flags: nr, index: 1, count: 0 } },
      { name: `3 MSI-X dynamic reports 0x${dyn.toString(16)}`, caps: {}, index: 2, want: { argsz: 16, flags: dyn, index: 2, count: 64 } },
      { name: `3 MSI-X not dynamic reports NORESIZE 0x${nr.toString(16)}`, caps: { msixDynamic: false }, index: 2, want: { argsz: 16, flags: nr, index: 2, count: 64 } },
      { name: `3 no MSI-X (count 0) reports 0x${nr.toString(16)} even when dynamic is asked`, caps: { msixTableSize: 0, msixDynamic: true }, index: 2, want: { argsz: 16, flags: nr, index: 2, count: 0 } },
      { name: `3 ERR on PCIe flags 0x${nr.toString(16)} count 1`, caps: {}, index: 3, want: { argsz: 16, flags: nr, index: 3, count: 1 } },
      { name: '3 ERR on non-PCIe is EINVAL, not count 0', caps: { pcie: false }, index: 3, want: { errno: 'EINVAL', reason: 'not-pcie' } },
      { name: `3 REQ flags 0x${nr.toString(16)} count 1`, caps: {}, index: 4, want: { argsz: 16, flags: nr, index: 4, count: 1 } },
      { name: '3 REQ answers count 1 on a bare device', caps: BARE, index: 4, want: { argsz: 16, flags: nr, index: 4, count: 1 } },
      { name: '3 MSI-X table 2048', caps: { msixTableSize: 2048 }, index: 2, want: { argsz: 16, flags: dyn, index: 2, count: 2048 } },
      { name: '3 MSI 32 vectors', caps: { msiVectors: 32 }, index: 1, want: { argsz: 16, flags: nr, index: 1, count: 32 } }
    ]
    for (const c of cases) {
      t.same(outcome(() => getIrqInfo(device(abi, c.caps), c.argsz ?? 16, c.index)), c.want, c.name)
    }
  })
}
