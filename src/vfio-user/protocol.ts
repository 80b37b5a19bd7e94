// vfio-user wire format (docs/model.md 14): a 16-byte header in host order, then the command's
// body, which is the VFIO ioctl's struct. Numbers and layouts as the protocol defines them.

export const HEADER_SIZE = 16

export const CMD = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DEVICE_RESET: 13
} as const

export const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CMD).map(([k, v]) => [v, k.toLowerCase().replaceAll('_', '-')]))

export const FLAG_TYPE_MASK = 0xf
export const FLAG_REQUEST = 0x0
const FLAG_REPLY = 0x1
export const FLAG_NO_REPLY = 0x10
const FLAG_ERROR = 0x20

/** What virq offers: fds per message (the protocol's maximum is 16); no write_multiple. */
export const MAX_MSG_FDS = 16
/** Largest message virq accepts (a region access of 1 MiB plus its header), like the client's default. */
export const MAX_DATA_XFER = 1024 * 1024
export const MAX_MESSAGE = MAX_DATA_XFER + 64

/**
 * VFIO region indexes of a PCI device (VFIO_PCI_*_REGION_INDEX): BARs 0-5, the ROM 6, config
 * space 7, VGA 8 (VFIO_PCI_NUM_REGIONS in core/constants.ts). virq serves config space and BAR0 (sized, but its accesses reach no register)
 * and reports the other regions as size 0.
 */
export const REGION_BAR0 = 0
export const REGION_CONFIG = 7

export const REGION_INFO_FLAG_READ = 0x1
export const REGION_INFO_FLAG_WRITE = 0x2
export const SIZEOF_REGION_INFO = 32

export interface Header { id: number, command: number, size: number, flags: number, error: number }

export function readHeader (b: Buffer): Header {
  return { id: b.readUInt16LE(0), command: b.readUInt16LE(2), size: b.readUInt32LE(4), flags: b.readUInt32LE(8), error: b.readUInt32LE(12) }
}

/** A reply to `req` carrying `body`. */
export function reply (req: Header, body: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_SIZE + body.length)
  out.writeUInt16LE(req.id, 0)
  out.writeUInt16LE(req.command, 2)
  out.writeUInt32LE(out.length, 4)
  out.writeUInt32LE(FLAG_REPLY, 8)
  body.copy(out, HEADER_SIZE)
  return out
}

/** An error reply: the header alone, ERROR set, the positive errno. */
export function errorReply (req: Header, errno: number): Buffer {
  const out = Buffer.alloc(HEADER_SIZE)
  out.writeUInt16LE(req.id, 0)
  out.writeUInt16LE(req.command, 2)
  out.writeUInt32LE(HEADER_SIZE, 4)
  out.writeUInt32LE(FLAG_REPLY | FLAG_ERROR, 8)
  out.writeUInt32LE(errno, 12)
  return out
}

/** Little-endian u32 fields, as the VFIO structs are laid out. */
export function u32s (...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4))
  return b
}
