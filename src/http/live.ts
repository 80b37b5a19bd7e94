import type { Device } from '../core/device.ts'
import { IRQ_INDEX_NAMES } from '../core/constants.ts'
import type { TraceEntry } from '../core/trace.ts'
import type { DeviceService } from '../services.ts'
import { nowSecond, rates } from '../hot/rates.ts'

// Live views of a device for stream subscribers (SSE and WebSocket): once a second the rates of
// the last complete second, and each trace entry as soon as it is committed. One timer serves
// every subscriber; it runs only while someone watches.

/** A subscriber: gets each message as JSON text (a backed-up subscriber drops rates itself). */
export type Watcher = (kind: 'rates' | 'trace' | 'closed', json: string) => void

export function presentTrace (e: TraceEntry) {
  return {
    seq: e.seq,
    deviceId: e.deviceId,
    at: e.at,
    op: e.op,
    request: e.request,
    result: e.result,
    errno: e.errno,
    errnoValue: e.errnoValue,
    reason: e.reason,
    irqTypeBefore: e.irqTypeBefore,
    irqTypeAfter: e.irqTypeAfter,
    version: e.version,
    lost: e.lost,
    pended: e.pended
  }
}

/** The rates of one second: the device's, and each vector's that moved. */
function rateSample (dev: Device, sec: number) {
  const r = rates.peek(dev)
  const at = (m: number): number => r?.device.at(m, sec) ?? 0
  const vectors: Array<{ index: number, name: string, vector: number, fired: number, delivered: number, lost: number, pended: number }> = []
  if (r !== undefined) {
    r.vectors.forEach((rings, index) => {
      for (const vector of rings.fired()) {
        const fired = rings.at(vector, 0, sec)
        const delivered = rings.at(vector, 1, sec)
        const lost = rings.at(vector, 2, sec)
        const pended = rings.at(vector, 3, sec)
        if (fired + delivered + lost + pended > 0) vectors.push({ index, name: IRQ_INDEX_NAMES[index], vector, fired, delivered, lost, pended })
      }
    })
  }
  return { deviceId: dev.id, t: sec, fired: at(0), delivered: at(1), lost: at(2), pended: at(3), vectors }
}

export class LiveHub {
  private readonly devices: DeviceService
  private readonly watchers = new Map<string, Set<Watcher>>()
  private timer: NodeJS.Timeout | undefined

  constructor (devices: DeviceService) {
    this.devices = devices
    devices.onTrace((e) => this.trace(e))
  }

  watch (deviceId: string, w: Watcher): void {
    let set = this.watchers.get(deviceId)
    if (set === undefined) {
      set = new Set()
      this.watchers.set(deviceId, set)
    }
    set.add(w)
    if (this.timer === undefined) this.schedule()
  }

  unwatch (deviceId: string, w: Watcher): void {
    const set = this.watchers.get(deviceId)
    set?.delete(w)
    if (set?.size === 0) this.watchers.delete(deviceId)
    if (this.watchers.size === 0) this.stop()
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Next tick just after the next second boundary, so that each sample is a complete second. */
  private schedule (): void {
    const delay = 1000 - (Date.now() % 1000) + 20
    this.timer = setTimeout(() => this.tick(), delay)
    this.timer.unref()
  }

  private tick (): void {
    const sec = nowSecond() - 1
    for (const [id, set] of this.watchers) {
      const dev = this.devices.get(id)
      if (dev === undefined) {
        const json = JSON.stringify({ deviceId: id, reason: 'device-deleted' })
        for (const w of [...set]) w('closed', json)
        this.watchers.delete(id)
        continue
      }
      const json = JSON.stringify(rateSample(dev, sec))
      for (const w of set) w('rates', json)
    }
    if (this.watchers.size > 0) this.schedule()
    else this.timer = undefined
  }

  private trace (e: TraceEntry): void {
    const set = this.watchers.get(e.deviceId)
    if (set === undefined) return
    const json = JSON.stringify(presentTrace(e))
    for (const w of set) w('trace', json)
  }
}
