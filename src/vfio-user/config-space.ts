import type { Device } from '../core/device.ts'
import { TEMPLATES } from '../core/templates.ts'

// The PCI configuration space and BAR layout virq shows a vfio-user client (docs/model.md 14),
// synthesised from the device's capabilities: IDs, a capability chain at 0x34 (PCI Express,
// MSI, MSI-X), BAR0 holding the MSI-X table and PBA, and the interrupt pin. Only the bits
// hardware lets software write are writable (a write-mask per byte); the rest ignore writes.

/** PCI identity: a device's `pci` field, else its template's, else virq's default. */
export interface PciIdentity { vendor: number, device: number, class: number }
const DEFAULT_PCI: PciIdentity = { vendor: 0x1b36, device: 0x0005, class: 0xff0000 }

const CAP_PCIE = 0x10
const CAP_MSI = 0x05
const CAP_MSIX = 0x11
const STATUS_CAP_LIST = 0x10
/** Command register bits a function implements: I/O, memory, bus master, parity, SERR, INTx disable. */
const COMMAND_WRITABLE = 0x0547
const PCIE_CAP_SIZE = 0x3c
const MSIX_CAP_SIZE = 0x0c

export interface BarLayout {
  /** BAR0 size in bytes (a power of two); BARs 1-5 are absent. */
  bar0Size: number
  tableOffset: number
  tableBytes: number
  pbaOffset: number
  pbaBytes: number
}

const pow2AtLeast = (n: number): number => {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** MSI-X table at 0 of BAR0, the PBA on the next page (8-byte aligned, not overlapping). */
function barLayout (dev: Device): BarLayout {
  const n = dev.caps.msixTableSize
  const tableBytes = n * 16
  const pbaOffset = Math.max(4096, Math.ceil(tableBytes / 4096) * 4096)
  const pbaBytes = Math.ceil(n / 64) * 8
  const bar0Size = n === 0 ? 4096 : pow2AtLeast(pbaOffset + pbaBytes)
  return { bar0Size, tableOffset: 0, tableBytes, pbaOffset: n === 0 ? 0 : pbaOffset, pbaBytes }
}

export function pciIdentity (dev: Device, given?: PciIdentity | null): PciIdentity {
  if (given != null) return given
  if (dev.template !== null) {
    const t = TEMPLATES[dev.template]
    return { vendor: t.pci.vendor, device: t.pci.device, class: DEFAULT_PCI.class }
  }
  return DEFAULT_PCI
}

export class ConfigSpace {
  readonly bytes: Uint8Array
  private readonly wmask: Uint8Array
  readonly layout: BarLayout
  /** Where each capability starts (0 when absent). */
  readonly caps = { pcie: 0, msi: 0, msix: 0 }

  constructor (dev: Device, id: PciIdentity) {
    const size = dev.caps.pcie ? 4096 : 256
    this.bytes = new Uint8Array(size)
    this.wmask = new Uint8Array(size)
    this.layout = barLayout(dev)
    const b = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, size)
    b.writeUInt16LE(id.vendor, 0x00)
    b.writeUInt16LE(id.device, 0x02)
    this.writable(0x04, 2, COMMAND_WRITABLE)
    b.writeUInt16LE(STATUS_CAP_LIST, 0x06)
    b.writeUIntLE(id.class & 0xffffff, 0x09, 3)
    b.writeUInt8(0x00, 0x0e) // header type 0, single function
    // BAR0: 32-bit, non-prefetchable memory; the address bits above its size are writable, so
    // writing all ones reads back the size mask.
    this.writable(0x10, 4, (~(this.layout.bar0Size - 1) & 0xfffffff0) >>> 0)
    b.writeUInt16LE(id.vendor, 0x2c)
    b.writeUInt16LE(id.device, 0x2e)
    this.writable(0x3c, 1, 0xff) // interrupt line: a scratch register for the OS
    b.writeUInt8(dev.caps.intx ? 1 : 0, 0x3d) // pin INTA#, only with INTx

    let at = 0x40
    const chain: number[] = []
    if (dev.caps.pcie) {
      this.caps.pcie = at
      b.writeUInt8(CAP_PCIE, at)
      b.writeUInt16LE(0x0002, at + 2) // version 2, endpoint
      b.writeUInt32LE(0x00000000, at + 4) // device capabilities: 128-byte payload
      this.writable(at + 8, 2, 0x7cff) // device control
      this.writable(at + 0x10, 2, 0x01c3) // link control
      chain.push(at)
      at += PCIE_CAP_SIZE + 4
    }
    if (dev.caps.msiVectors > 0) {
      this.caps.msi = at
      const pvm = dev.caps.msiPerVectorMask === true
      b.writeUInt8(CAP_MSI, at)
      // 64-bit address, multiple message capable = log2(vectors), per-vector masking when the device has it.
      b.writeUInt16LE((Math.log2(dev.caps.msiVectors) << 1) | 0x80 | (pvm ? 0x100 : 0), at + 2)
      this.writable(at + 2, 2, 0x0071) // enable, multiple message enable
      this.writable(at + 4, 4, 0xfffffffc) // address low (dword aligned)
      this.writable(at + 8, 4, 0xffffffff) // address high
      this.writable(at + 12, 2, 0xffff) // data
      if (pvm) this.writable(at + 16, 4, dev.caps.msiVectors === 32 ? 0xffffffff : (1 << dev.caps.msiVectors) - 1)
      chain.push(at)
      at += pvm ? 0x18 : 0x10
    }
    if (dev.caps.msixTableSize > 0) {
      this.caps.msix = at
      b.writeUInt8(CAP_MSIX, at)
      b.writeUInt16LE(dev.caps.msixTableSize - 1, at + 2) // QSIZE = table size - 1
      this.writable(at + 2, 2, 0xc000) // enable, function mask
      b.writeUInt32LE(this.layout.tableOffset | 0, at + 4) // table in BAR0
      b.writeUInt32LE(this.layout.pbaOffset | 0, at + 8) // PBA in BAR0
      chain.push(at)
      at += MSIX_CAP_SIZE + 4
    }
    b.writeUInt8(chain[0] ?? 0, 0x34)
    for (let i = 0; i < chain.length; i++) b.writeUInt8(chain[i + 1] ?? 0, chain[i] + 1)
  }

  private writable (offset: number, len: number, mask: number): void {
    for (let i = 0; i < len; i++) this.wmask[offset + i] = (mask >>> (8 * i)) & 0xff
  }

  /** Bytes [offset, offset + count), or null when the range is outside the space. */
  read (offset: number, count: number): Buffer | null {
    if (offset < 0 || count < 0 || offset + count > this.bytes.length) return null
    return Buffer.from(this.bytes.subarray(offset, offset + count))
  }

  /** Applies a write through the write-mask (read-only bits keep their value); false when out of range. */
  write (offset: number, data: Uint8Array): boolean {
    if (offset < 0 || offset + data.length > this.bytes.length) return false
    for (let i = 0; i < data.length; i++) {
      const m = this.wmask[offset + i]
      this.bytes[offset + i] = (this.bytes[offset + i] & ~m) | (data[i] & m)
    }
    return true
  }
}
