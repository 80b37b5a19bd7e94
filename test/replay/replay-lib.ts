import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { App } from '../../src/app.ts'
import { TEMPLATE_NAMES, TEMPLATES } from '../../src/core/templates.ts'

// Replays a kernel recording (test/fixtures/kernel-recordings, format in its README) through the
// raw ioctl endpoints and reports, step by step, what virq answered next to what Linux did.

export const RECORDINGS = join(import.meta.dirname, '..', 'fixtures', 'kernel-recordings')

/** The devices the recordings opened, by PCI vendor:device: virq's templates of them. */
export const DEVICES: Record<string, object> = Object.fromEntries(TEMPLATE_NAMES.map((name) => {
  const { vendor, device } = TEMPLATES[name].pci
  return [`${vendor.toString(16).padStart(4, '0')}:${device.toString(16).padStart(4, '0')}`, { name, template: name }]
}))

export interface Step {
  n: number
  line: string
  op: string
  [k: string]: unknown
}

export interface Outcome {
  step: Step
  /** What a comparison looks at, from the recording and from virq; null when not comparable. */
  expected: Record<string, unknown> | null
  actual: Record<string, unknown> | null
  skipped?: string
}

export function loadRecording (profile: string, file: string): Step[] {
  return readFileSync(join(RECORDINGS, profile, file), 'utf8').split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))
    .filter((o) => typeof o.op === 'string')
}

export function recordingFiles (profile: string): string[] {
  return readdirSync(join(RECORDINGS, profile)).filter((f) => f.endsWith('.jsonl')).sort()
}

const INDEX_NAMES: Record<string, number> = { INTX: 0, MSI: 1, MSIX: 2, ERR: 3, REQ: 4 }
const parseIndex = (tok: string): number => INDEX_NAMES[tok] ?? Number(tok)
const hex = (s: unknown): number => Number(s)

/** ret/errno from a raw ioctl response. */
function retOf (res: { statusCode: number, json: () => any }): { ret: number, errno: string | null } {
  const body = res.json()
  if (res.statusCode === 200) return { ret: body.result ?? 0, errno: null }
  return { ret: body.result ?? -1, errno: body.errno ?? `HTTP ${res.statusCode} ${body.reason}` }
}

export async function replay (app: App, abi: string, steps: Step[]): Promise<Outcome[]> {
  const fds = new Map<string, number>()
  const eventfd = async (name: string): Promise<number> => {
    let fd = fds.get(name)
    if (fd === undefined) {
      const res = await app.inject({ method: 'POST', url: '/v1/eventfds', payload: { label: name } })
      fd = res.json().fd as number
      fds.set(name, fd)
    }
    return fd
  }
  let device = ''
  const url = (path: string): string => `/v1/devices/${device}/ioctl/${path}`
  const out: Outcome[] = []

  for (const step of steps) {
    const words = step.line.split(/\s+/)
    switch (step.op) {
      case 'open': {
        const res = await app.inject({ method: 'POST', url: '/v1/devices', payload: { ...DEVICES[words[1]], abi } })
        if (res.statusCode !== 201) throw new Error(`cannot create ${words[1]}: ${res.body}`)
        device = res.json().id
        break
      }
      case 'close': {
        const res = await app.inject({ method: 'DELETE', url: `/v1/devices/${device}` })
        out.push({ step, expected: { ret: step.ret, errno: step.errno }, actual: { ret: res.statusCode === 204 ? 0 : -1, errno: null } })
        break
      }
      case 'devinfo': {
        const res = await app.inject({ method: 'POST', url: url('get-info'), payload: { argsz: step.argsz_out } })
        const r = retOf(res)
        const expected: Record<string, unknown> = { ret: step.ret, errno: step.errno }
        const actual: Record<string, unknown> = { ...r }
        if (step.ret === 0) {
          Object.assign(expected, { flags: hex(step.flags), numRegions: step.num_regions, numIrqs: step.num_irqs })
          const b = res.json()
          Object.assign(actual, { flags: b.flags, numRegions: b.numRegions, numIrqs: b.numIrqs })
        }
        out.push({ step, expected, actual })
        break
      }
      case 'info': {
        const res = await app.inject({ method: 'POST', url: url('get-irq-info'), payload: { argsz: step.argsz_out, index: parseIndex(words[1]) } })
        const r = retOf(res)
        const expected: Record<string, unknown> = { ret: step.ret, errno: step.errno }
        const actual: Record<string, unknown> = { ...r }
        if (step.ret === 0) {
          Object.assign(expected, { flags: hex(step.flags), count: step.count })
          const b = res.json()
          Object.assign(actual, { flags: b.flags, count: b.count })
        }
        out.push({ step, expected, actual })
        break
      }
      case 'set': {
        const items = step.data as Array<number | Record<string, number>>
        if (items.some((d) => typeof d === 'object' && 'null' in d)) {
          out.push({ step, expected: null, actual: null, skipped: '@null: a file descriptor that is not an eventfd has no virq equivalent' })
          break
        }
        const data: number[] = []
        for (const d of items) data.push(typeof d === 'number' ? d : await eventfd(Object.keys(d)[0]))
        const payload = { argsz: step.argsz, flags: hex(step.flags), index: parseIndex(words[2]), start: Number(words[3]), count: Number(words[4]), data }
        const res = await app.inject({ method: 'POST', url: url('set-irqs'), payload })
        out.push({ step, expected: { ret: step.ret, errno: step.errno }, actual: retOf(res) })
        break
      }
      case 'read':
      case 'readall': {
        const values = step.values as Record<string, number | string>
        const actual: Record<string, number | string> = {}
        for (const name of Object.keys(values)) {
          const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${await eventfd(name)}/read` })
          actual[name] = res.statusCode === 204 ? 'EAGAIN' : res.json().value
        }
        out.push({ step, expected: values, actual })
        break
      }
      case 'write': {
        const res = await app.inject({ method: 'POST', url: `/v1/eventfds/${await eventfd(words[1])}/write`, payload: { value: Number(words[2] ?? 1) } })
        out.push({ step, expected: { ok: step.errno === null }, actual: { ok: res.statusCode === 200 } })
        break
      }
      default: // note, sleep: nothing to compare
    }
  }
  return out
}
