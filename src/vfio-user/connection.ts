import {
  SIZEOF_VFIO_IRQ_SET_HDR, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_TYPE_MASK, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_NUM_REGIONS
} from '../core/constants.ts'
import { getDeviceInfo, getIrqInfo, type Device } from '../core/device.ts'
import { ERRNO, VfioError } from '../core/errno.ts'
import type { Eventfd } from '../core/eventfds.ts'
import { pendingBitArray } from '../core/masking.ts'
import type { Effects, World } from '../core/world.ts'
import type { Engine } from '../engine/engine.ts'
import { ConfigSpace, type PciIdentity } from './config-space.ts'
import type { NativeIo } from './native.ts'
import {
  CMD, COMMAND_NAMES, errorReply, FLAG_NO_REPLY, FLAG_TYPE_MASK, FLAG_REQUEST, HEADER_SIZE, MAX_DATA_XFER, MAX_MESSAGE, MAX_MSG_FDS,
  readHeader, REGION_BAR0, REGION_CONFIG, REGION_INFO_FLAG_READ, REGION_INFO_FLAG_WRITE, reply, SIZEOF_REGION_INFO, u32s,
  type Header
} from './protocol.ts'

// One vfio-user client of one device (docs/model.md 14). Messages are read header first, then
// body, each with the fds that came with its bytes; they are handled one at a time, in order,
// through the same model calls as the HTTP ioctl routes (engine.apply, the device's abi and
// driver). Received eventfds become `external` eventfds of the device's owner.

const EINVAL = ERRNO.EINVAL
const ENOSYS = 38
const ENODEV = 19

interface Message { hdr: Header, buf: Buffer, fds: number[] }

export interface ConnectionStats {
  connectedAt: string
  version: { major: number, minor: number } | null
  /** The client's capabilities as it sent them. */
  clientCapabilities: unknown
  messages: Record<string, number>
  errors: number
  fdsReceived: number
  externalEventfds: number
}

export class Connection {
  readonly stats: ConnectionStats
  private closed = false
  private readonly pollHandle: object
  private readonly header = Buffer.alloc(HEADER_SIZE)
  private got = 0
  private body: Buffer | null = null
  private pendingFds: number[] = []
  private queue: Promise<void> = Promise.resolve()
  private readonly config: ConfigSpace
  /** Eventfds this client sent, while virq holds them. */
  private readonly external = new Set<Eventfd>()

  constructor (
    private readonly io: NativeIo,
    private readonly engine: Engine,
    private readonly dev: Device,
    pci: PciIdentity,
    private readonly fd: number,
    private readonly onClose: (conn: Connection) => void
  ) {
    this.config = new ConfigSpace(dev, pci)
    this.stats = { connectedAt: new Date().toISOString(), version: null, clientCapabilities: null, messages: {}, errors: 0, fdsReceived: 0, externalEventfds: 0 }
    this.pollHandle = io.poll(fd, () => this.readable())
  }

  /** The eventfds this client brought, to put back into a reloaded World. */
  externalEventfds (): IterableIterator<Eventfd> {
    return this.external.values()
  }

  private readable (): void {
    while (!this.closed) {
      const buf = this.body ?? this.header
      const want = (this.body === null ? HEADER_SIZE : this.body.length) - this.got
      const r = this.io.recv(this.fd, buf, this.got, want)
      const n = r[0]
      for (let i = 1; i < r.length; i++) this.pendingFds.push(r[i])
      this.stats.fdsReceived += r.length - 1
      if (n === -1) return
      if (n <= 0) {
        this.close()
        return
      }
      this.got += n
      if (this.body === null) {
        if (this.got < HEADER_SIZE) continue
        const size = this.header.readUInt32LE(4)
        if (size < HEADER_SIZE || size > MAX_MESSAGE) {
          this.close() // a stream we cannot frame any more
          return
        }
        this.body = Buffer.alloc(size)
        this.header.copy(this.body)
      }
      if (this.got < this.body.length) continue
      const msg: Message = { hdr: readHeader(this.body), buf: this.body, fds: this.pendingFds }
      this.body = null
      this.got = 0
      this.pendingFds = []
      this.queue = this.queue.then(() => this.handle(msg)).catch((err) => { if (process.env.VU_DEBUG) console.error(err); this.close() })
    }
  }

  private closeFds (fds: readonly number[]): void {
    for (const fd of fds) this.io.close(fd)
  }

  private send (out: Buffer): void {
    if (this.closed) return
    try {
      this.io.send(this.fd, out, out.length)
    } catch {
      this.close()
    }
  }

  private async handle (msg: Message): Promise<void> {
    const { hdr } = msg
    if (this.closed) return this.closeFds(msg.fds)
    const name = COMMAND_NAMES[hdr.command] ?? `command-${hdr.command}`
    this.stats.messages[name] = (this.stats.messages[name] ?? 0) + 1
    const noReply = (hdr.flags & FLAG_NO_REPLY) !== 0
    const answer = (out: Buffer): void => { if (!noReply) this.send(out) }
    const fail = (errno: number): void => {
      this.stats.errors++
      answer(errorReply(hdr, errno))
    }
    if ((hdr.flags & FLAG_TYPE_MASK) !== FLAG_REQUEST) {
      this.closeFds(msg.fds)
      return fail(EINVAL)
    }
    if (this.engine.world.devices.get(this.dev.id) !== this.dev) {
      this.closeFds(msg.fds)
      fail(ENODEV)
      return this.close()
    }
    // Only SET_IRQS carries fds virq keeps; DMA_MAP's (guest memory) are closed: virq does no DMA.
    if (hdr.command !== CMD.DEVICE_SET_IRQS) this.closeFds(msg.fds)
    if (this.stats.version === null && hdr.command !== CMD.VERSION) return fail(EINVAL)
    const body = msg.buf.subarray(HEADER_SIZE)
    try {
      switch (hdr.command) {
        case CMD.VERSION: return answer(this.version(hdr, body))
        case CMD.DMA_MAP: return answer(reply(hdr, Buffer.alloc(0)))
        case CMD.DMA_UNMAP: return answer(reply(hdr, Buffer.from(body)))
        case CMD.DEVICE_GET_INFO: return answer(await this.getInfo(hdr, body))
        case CMD.DEVICE_GET_REGION_INFO: return answer(this.regionInfo(hdr, body))
        case CMD.DEVICE_GET_IRQ_INFO: return answer(this.irqInfo(hdr, body))
        case CMD.DEVICE_SET_IRQS: return answer(await this.setIrqs(hdr, body, msg.fds))
        case CMD.REGION_READ: return answer(this.regionRead(hdr, body))
        case CMD.REGION_WRITE: return answer(this.regionWrite(hdr, body))
        case CMD.DEVICE_RESET: return answer(await this.reset(hdr))
        default: return fail(ENOSYS)
      }
    } catch (err) {
      if (err instanceof VfioError) return fail(err.errnoValue)
      if (err instanceof ProtocolError) return fail(err.errno)
      throw err
    }
  }

  /** VERSION: 0.0 with our capabilities, in a reply no larger than the request (the client's buffer). */
  private version (hdr: Header, body: Buffer): Buffer {
    if (body.length < 4) throw new ProtocolError(EINVAL)
    const major = body.readUInt16LE(0)
    const minor = body.readUInt16LE(2)
    if (major !== 0) throw new ProtocolError(EINVAL)
    const end = body.indexOf(0, 4)
    try {
      this.stats.clientCapabilities = JSON.parse(body.subarray(4, end < 0 ? body.length : end).toString('utf8'))
    } catch {
      throw new ProtocolError(EINVAL)
    }
    const candidates = [
      { capabilities: { max_msg_fds: MAX_MSG_FDS, max_data_xfer_size: MAX_DATA_XFER } },
      { capabilities: { max_msg_fds: MAX_MSG_FDS } },
      {}
    ]
    for (const caps of candidates) {
      const json = Buffer.from(JSON.stringify(caps) + '\0', 'utf8')
      if (HEADER_SIZE + 4 + json.length > hdr.size) continue
      this.stats.version = { major: 0, minor: Math.min(minor, 0) }
      const out = Buffer.alloc(4 + json.length)
      json.copy(out, 4)
      return reply(hdr, out)
    }
    throw new ProtocolError(EINVAL)
  }

  private async getInfo (hdr: Header, body: Buffer): Promise<Buffer> {
    if (body.length < 4) throw new ProtocolError(EINVAL)
    const argsz = body.readUInt32LE(0)
    const info = await this.engine.apply((_world, fx) => getDeviceInfo(this.dev, argsz, fx))
    return reply(hdr, u32s(16, info.flags, info.numRegions, info.numIrqs))
  }

  private regionInfo (hdr: Header, body: Buffer): Buffer {
    if (body.length < 12) throw new ProtocolError(EINVAL)
    const argsz = body.readUInt32LE(0)
    const index = body.readUInt32LE(8)
    if (argsz < SIZEOF_REGION_INFO || index >= VFIO_PCI_NUM_REGIONS) throw new ProtocolError(EINVAL)
    let size = 0
    if (index === REGION_BAR0) size = this.config.layout.bar0Size
    else if (index === REGION_CONFIG) size = this.config.bytes.length
    const flags = size > 0 ? REGION_INFO_FLAG_READ | REGION_INFO_FLAG_WRITE : 0 // never MMAP: every access is a message
    const out = Buffer.alloc(SIZEOF_REGION_INFO)
    u32s(SIZEOF_REGION_INFO, flags, index, 0).copy(out)
    out.writeBigUInt64LE(BigInt(size), 16)
    out.writeBigUInt64LE(0n, 24)
    return reply(hdr, out)
  }

  private irqInfo (hdr: Header, body: Buffer): Buffer {
    if (body.length < 12) throw new ProtocolError(EINVAL)
    const info = getIrqInfo(this.dev, body.readUInt32LE(0), body.readUInt32LE(8))
    return reply(hdr, u32s(info.argsz, info.flags, info.index, info.count))
  }

  /**
   * SET_IRQS: argsz 20 and the fds as ancillary data, `count` of them; EVENTFD with no fds means
   * `count` times -1 (de-assign). Each fd becomes an external eventfd; then the model's
   * SET_IRQS runs as the ioctl would, and every external eventfd no longer bound (replaced,
   * de-assigned, or never taken) is closed.
   */
  private async setIrqs (hdr: Header, body: Buffer, fds: number[]): Promise<Buffer> {
    if (body.length < SIZEOF_VFIO_IRQ_SET_HDR) {
      this.closeFds(fds)
      throw new ProtocolError(EINVAL)
    }
    const [argsz, flags, index, start, count] = [0, 4, 8, 12, 16].map((o) => body.readUInt32LE(o))
    const type = flags & VFIO_IRQ_SET_DATA_TYPE_MASK
    if (fds.length > 0 && (type !== VFIO_IRQ_SET_DATA_EVENTFD || fds.length !== count)) {
      this.closeFds(fds)
      throw new ProtocolError(EINVAL)
    }
    let data: number[] = []
    let structArgsz = argsz
    if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
      structArgsz = SIZEOF_VFIO_IRQ_SET_HDR + 4 * count
    } else if (type === VFIO_IRQ_SET_DATA_BOOL) {
      data = [...body.subarray(SIZEOF_VFIO_IRQ_SET_HDR, Math.min(body.length, SIZEOF_VFIO_IRQ_SET_HDR + count))]
    }
    const createdAt = new Date().toISOString()
    const traceRequest = { via: 'vfio-user', argsz, flags, index, start, count, fds: fds.length, data }
    try {
      const result = await this.engine.apply((world, fx) => {
        try {
          if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
            if (fds.length === 0) data = new Array<number>(count).fill(-1)
            else {
              data = fds.map((hostFd) => {
                const efd = world.eventfds.create({ semaphore: false, label: `vfio-user ${this.dev.name}`, createdAt, owner: this.dev.owner, hostFd })
                fx.eventfd(efd)
                this.external.add(efd)
                return efd.fd
              })
              fds = []
            }
            traceRequest.data = data
          }
          return world.setIrqs(this.dev, { argsz: structArgsz, flags, index, start, count, data }, fx)
        } finally {
          this.closeUnbound(world, fx)
        }
      }, { deviceId: this.dev.id, op: 'ioctl-set-irqs', request: traceRequest })
      // vfio-user has no positive answer: the partial-allocation count is an error for the client.
      if (result > 0) throw new ProtocolError(ERRNO.ENOSPC)
      return reply(hdr, Buffer.from(body.subarray(0, SIZEOF_VFIO_IRQ_SET_HDR)))
    } finally {
      this.closeFds(fds) // those never registered (an error before)
      this.stats.externalEventfds = this.external.size
    }
  }

  /** Closes every external eventfd of this client that nothing uses any more. */
  private closeUnbound (world: World, fx: Effects): void {
    for (const efd of this.external) {
      if (world.eventfds.get(efd.fd, efd.owner) === efd && world.bindingsOf(efd).length > 0) continue
      if (world.eventfds.get(efd.fd, efd.owner) === efd) world.deleteEventfd(efd, true, fx)
      this.external.delete(efd)
      this.io.close(efd.hostFd ?? -1)
    }
  }

  private regionRead (hdr: Header, body: Buffer): Buffer {
    if (body.length < 16) throw new ProtocolError(EINVAL)
    const offset = Number(body.readBigUInt64LE(0))
    const region = body.readUInt32LE(8)
    const count = body.readUInt32LE(12)
    if (count > MAX_DATA_XFER) throw new ProtocolError(EINVAL)
    let data: Buffer | null = null
    if (region === REGION_CONFIG) data = this.config.read(offset, count)
    else if (region === REGION_BAR0) data = this.bar0Read(offset, count)
    if (data === null) throw new ProtocolError(EINVAL)
    const out = Buffer.alloc(16 + count)
    body.copy(out, 0, 0, 16)
    data.copy(out, 16)
    return reply(hdr, out)
  }

  /** BAR0: the PBA from the pending bits (docs/model.md 11); the rest (the table QEMU emulates itself) reads 0. */
  private bar0Read (offset: number, count: number): Buffer | null {
    const { bar0Size, pbaOffset, pbaBytes } = this.config.layout
    if (offset < 0 || offset + count > bar0Size) return null
    const out = Buffer.alloc(count)
    if (pbaBytes > 0 && offset < pbaOffset + pbaBytes && offset + count > pbaOffset) {
      const pba = Buffer.alloc(pbaBytes)
      pendingBitArray(this.dev, VFIO_PCI_MSIX_IRQ_INDEX).words.forEach((w, i) => pba.writeBigUInt64LE(BigInt(w), i * 8))
      for (let i = 0; i < count; i++) {
        const at = offset + i - pbaOffset
        if (at >= 0 && at < pbaBytes) out[i] = pba[at]
      }
    }
    return out
  }

  private regionWrite (hdr: Header, body: Buffer): Buffer {
    if (body.length < 16) throw new ProtocolError(EINVAL)
    const offset = Number(body.readBigUInt64LE(0))
    const region = body.readUInt32LE(8)
    const count = body.readUInt32LE(12)
    if (count > MAX_DATA_XFER || body.length < 16 + count) throw new ProtocolError(EINVAL)
    const data = body.subarray(16, 16 + count)
    let ok = false
    if (region === REGION_CONFIG) ok = this.config.write(offset, data)
    else if (region === REGION_BAR0) ok = offset >= 0 && offset + count <= this.config.layout.bar0Size // no registers: ignored
    if (!ok) throw new ProtocolError(EINVAL)
    return reply(hdr, Buffer.from(body.subarray(0, 16)))
  }

  private async reset (hdr: Header): Promise<Buffer> {
    await this.engine.apply((world, fx) => world.resetDevice(this.dev, fx), { deviceId: this.dev.id, op: 'ioctl-reset', request: { via: 'vfio-user' } })
    return reply(hdr, Buffer.alloc(0))
  }

  /**
   * Disconnect: the device's interrupts are torn down as close does (docs/model.md 9), every
   * eventfd the client sent is closed, and the next client may connect.
   */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.io.stopPoll(this.pollHandle)
    this.io.close(this.fd)
    this.closeFds(this.pendingFds)
    this.pendingFds = []
    const done = (): void => {
      for (const efd of this.external) this.io.close(efd.hostFd ?? -1)
      this.external.clear()
      this.stats.externalEventfds = 0
      this.onClose(this)
    }
    this.queue = this.queue.then(async () => {
      if (this.engine.world.devices.get(this.dev.id) !== this.dev) return
      await this.engine.apply((world, fx) => {
        world.closeDevice(this.dev, fx)
        for (const efd of this.external) if (world.eventfds.get(efd.fd, efd.owner) === efd) world.deleteEventfd(efd, true, fx)
      })
    }).catch(() => {}).finally(done)
  }

  get isClosed (): boolean {
    return this.closed
  }
}

class ProtocolError extends Error {
  constructor (readonly errno: number) {
    super(`vfio-user error ${errno}`)
  }
}
