import type { Device } from './core/device.ts'
import type { Binding } from './core/world.ts'
import type { Eventfd } from './core/eventfds.ts'
import type { FireTally } from './core/interrupts.ts'
import type { Parent } from './core/ims.ts'
import type { TraceEntry } from './core/trace.ts'
import type { Engine } from './engine/engine.ts'
import { fire, type FireRequest } from './hot/fire.ts'
import { EventfdReader } from './hot/readers.ts'

// What the routes may use of the engine, in narrow parts that app.ts decorates the instance
// with (app.devices, app.eventfds, app.interrupts, app.streams). Each says what a route can
// ask; none hands out the model's tables, the store or the commit machinery behind them.
// Every call reads the engine's current model: a failed commit replaces it (engine.ts).

/** A change to the model, committed before it resolves (Engine.apply). */
export type Apply = Engine['apply']

/** Devices and IMS parents: look up, page, change, read the configuration trace. */
export interface DeviceService {
  /** A device by id, whatever its tenant: the caller decides what its client may see. */
  get: (id: string) => Device | undefined
  parent: (id: string) => Parent | undefined
  /** Every parent, in creation order. */
  parents: () => Iterable<Parent>
  /** Every device, for views that count a parent's or a tenant's. */
  all: () => ReadonlyMap<string, Device>
  /** One tenant's devices in creation order after `after` (a sequence number; 0: from the start). */
  page: (owner: string, after: number, limit: number) => { ids: string[], last: number | null, more: boolean }
  /** A device's configuration trace, oldest first. */
  trace: {
    list: (deviceId: string, after: number, limit: number) => { items: TraceEntry[], last: number | null, more: boolean }
    newest: (deviceId: string, n: number) => TraceEntry[]
    entries: (deviceId: string) => TraceEntry[]
  }
  /** Calls `listener` with each configuration trace entry once it is committed (live views; one listener). */
  onTrace: (listener: (entry: TraceEntry) => void) => void
  apply: Apply
}

/** Eventfds: look up, page, read (at once, waiting, or as a stream's reader), change. */
export interface EventfdService {
  /** An eventfd by number in one tenant's table. */
  get: (fd: number, owner: string) => Eventfd | undefined
  /** One tenant's eventfds in SQLite, by number after `after`. */
  page: (owner: string, after: number, limit: number) => { fds: number[], more: boolean }
  /** One tenant's external eventfds (a vfio-user client's: not in SQLite, so not in `page`). */
  external: (owner: string) => Iterable<Eventfd>
  /** What signals it: device interrupts and INTx unmask bindings. */
  bindingsOf: (efd: Eventfd) => Binding[]
  /** Resolves when the eventfd may be readable, or after `ms`; `cancel` ends the wait early. */
  waitReadable: (owner: string, fd: number, ms: number) => { promise: Promise<void>, cancel: () => void }
  /** True once shutdown began: waits end at once. */
  closing: () => boolean
  /** A stream consumer becomes the eventfd's reader: `send` gets each value read until `closeReader`. */
  openReader: (owner: string, fd: number, send: (value: number) => boolean, onGone: () => void) => EventfdReader
  closeReader: (reader: EventfdReader) => void
  apply: Apply
}

/** The interrupt path: a device fires (no SQLite, no allocation per interrupt; the flusher persists). */
export interface InterruptService {
  fire: (dev: Device, req: FireRequest, tally: FireTally) => void
}

/** Open streams (SSE, WebSocket), ended first when the service closes. */
export interface StreamService {
  add: (stream: { close: () => void }) => void
  delete: (stream: { close: () => void }) => void
}

export function deviceService (engine: Engine): DeviceService {
  const trace = engine.repo.trace
  return {
    get: (id) => engine.world.devices.get(id),
    parent: (id) => engine.world.parents.get(id),
    parents: () => engine.world.parents.values(),
    all: () => engine.world.devices,
    page: (owner, after, limit) => engine.repo.devicePage(owner, after, limit),
    trace: {
      list: (id, after, limit) => trace.list(id, after, limit),
      newest: (id, n) => trace.newest(id, n),
      entries: (id) => trace.entries(id)
    },
    onTrace: (listener) => { engine.onTrace = listener },
    apply: (op, call) => engine.apply(op, call)
  }
}

export function eventfdService (engine: Engine): EventfdService {
  return {
    get: (fd, owner) => engine.world.eventfds.get(fd, owner),
    page: (owner, after, limit) => engine.repo.eventfdPage(owner, after, limit),
    external: (owner) => engine.vfioExternal(owner),
    bindingsOf: (efd) => engine.world.bindingsOf(efd),
    waitReadable: (owner, fd, ms) => engine.waitReadable(owner, fd, ms),
    closing: () => engine.closing,
    openReader: (owner, fd, send, onGone) => {
      const reader = new EventfdReader(engine.drain, owner, fd, send, onGone)
      engine.readers.add(reader)
      return reader
    },
    closeReader: (reader) => engine.readers.remove(reader),
    apply: (op, call) => engine.apply(op, call)
  }
}

export function interruptService (engine: Engine): InterruptService {
  // The engine is the fire path's target as it stands (its current model and its hot effects).
  return { fire: (dev, req, tally) => fire(engine, dev, req, tally) }
}

export function streamService (engine: Engine): StreamService {
  return {
    add: (stream) => { engine.streams.add(stream) },
    delete: (stream) => { engine.streams.delete(stream) }
  }
}
