import { chmodSync, mkdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Device } from '../core/device.ts'
import type { Eventfd } from '../core/eventfds.ts'
import type { World } from '../core/world.ts'
import type { Engine } from '../engine/engine.ts'
import { pciIdentity, type PciIdentity } from './config-space.ts'
import { Connection, type ConnectionStats } from './connection.ts'
import { nativeIo, type NativeIo } from './native.ts'

// Serving devices over vfio-user (docs/model.md 14): per device on request, a UNIX socket
// (mode 0600) under the configured directory, one client at a time. An adapter beside HTTP: it
// calls the engine as the routes do and decides no model rule.

export class VfioUserError extends Error {
  constructor (readonly status: number, readonly reason: string, detail: string) {
    super(detail)
  }
}

interface Served {
  dev: Device
  pci: PciIdentity
  path: string
  listenFd: number
  poll: object
  conn: Connection | null
  connections: number
  refused: number
  startedAt: string
  /** Totals of the clients that came and went, and the current one's. */
  last: ConnectionStats | null
}

export interface ServingState {
  socket: string
  pci: PciIdentity
  state: 'listening' | 'connected'
  startedAt: string
  connections: number
  refused: number
  client: ConnectionStats | null
  lastClient: ConnectionStats | null
}

export class VfioUserService {
  private io: NativeIo | null = null
  private readonly served = new Map<string, Served>()
  readonly dir: string

  constructor (private readonly engine: Engine, dir: string) {
    this.dir = resolve(dir)
    // External eventfds are not persisted: after a reload (a failed commit) the live
    // connections put theirs back; after a restart there are none (see reapOrphans).
    const previous = engine.onLoad
    engine.onLoad = (world) => {
      previous?.(world)
      this.attach(world)
    }
    this.attach(engine.world)
  }

  private attach (world: World): void {
    world.eventfds.onExternalSignal = (efd: Eventfd, n: number) => { this.io?.signal(efd.hostFd ?? -1, n) }
    for (const s of this.served.values()) {
      for (const efd of s.conn?.externalEventfds() ?? []) {
        if (world.eventfds.get(efd.fd, efd.owner) === undefined) world.eventfds.restore(efd)
      }
    }
  }

  /**
   * After a restart no client is connected, yet the database may hold triggers that named a
   * client's eventfds (they are not persisted): those devices are torn down as a disconnect
   * does (docs/model.md 14), so that no trigger names an eventfd that does not exist.
   */
  async reapOrphans (): Promise<number> {
    const orphaned = [...this.engine.world.devices.values()].filter((dev) => namesMissingEventfd(this.engine.world, dev))
    for (const dev of orphaned) {
      await this.engine.apply((world, fx) => world.closeDevice(dev, fx))
    }
    return orphaned.length
  }

  private native (): NativeIo {
    if (this.io !== null) return this.io
    const io = nativeIo()
    if (io instanceof Error) throw new VfioUserError(503, 'vfio-user-unavailable', `vfio-user needs virq's native addon, which could not be loaded: ${io.message}`)
    this.io = io
    return io
  }

  start (dev: Device): ServingState {
    if (this.served.has(dev.id)) throw new VfioUserError(409, 'already-serving', `device ${dev.id} is already served over vfio-user`)
    const io = this.native()
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const path = join(this.dir, `${dev.id}.sock`)
    rmSync(path, { force: true })
    const listenFd = io.listen(path)
    chmodSync(path, 0o600)
    const identity = pciIdentity(dev, dev.pci)
    const s: Served = { dev, pci: identity, path, listenFd, poll: {}, conn: null, connections: 0, refused: 0, startedAt: new Date().toISOString(), last: null }
    s.poll = io.poll(listenFd, () => {
      for (;;) {
        const fd = io.accept(listenFd)
        if (fd < 0) return
        if (s.conn !== null || this.engine.world.devices.get(dev.id) !== dev) {
          s.refused++ // one client at a time
          io.close(fd)
          continue
        }
        s.connections++
        s.conn = new Connection(io, this.engine, dev, identity, fd, (c) => {
          s.last = c.stats
          if (s.conn === c) s.conn = null
        })
      }
    })
    this.served.set(dev.id, s)
    return this.state(dev.id) as ServingState
  }

  state (deviceId: string): ServingState | null {
    const s = this.served.get(deviceId)
    if (s === undefined) return null
    return {
      socket: s.path,
      pci: { ...s.pci },
      state: s.conn === null ? 'listening' : 'connected',
      startedAt: s.startedAt,
      connections: s.connections,
      refused: s.refused,
      client: s.conn?.stats ?? null,
      lastClient: s.last
    }
  }

  /** Stops serving: the client (if any) is disconnected, the socket removed. */
  async stop (deviceId: string): Promise<boolean> {
    const s = this.served.get(deviceId)
    if (s === undefined || this.io === null) return false
    this.served.delete(deviceId)
    this.io.stopPoll(s.poll)
    this.io.close(s.listenFd)
    rmSync(s.path, { force: true })
    const conn = s.conn
    if (conn !== null) {
      await new Promise<void>((resolve) => {
        const prev = conn
        prev.close()
        const wait = (): void => { if (s.conn === null || s.conn !== prev) resolve(); else setImmediate(wait) }
        wait()
      })
    }
    return true
  }

  async stopAll (): Promise<void> {
    for (const id of [...this.served.keys()]) await this.stop(id)
  }
}

function namesMissingEventfd (world: World, dev: Device): boolean {
  const missing = (fd: number): boolean => fd >= 0 && world.eventfds.get(fd, dev.owner) === undefined
  if (missing(dev.intx.trigger) || missing(dev.intx.unmaskFd) || missing(dev.errTrigger) || missing(dev.reqTrigger)) return true
  for (const table of [dev.msi, dev.msix]) {
    for (let v = 0; v < table.size; v++) if (missing(table.trigger[v])) return true
  }
  return false
}
