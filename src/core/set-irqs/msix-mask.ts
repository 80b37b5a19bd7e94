import { fail } from '../errno.ts'
import { sendIfPending } from '../masking.ts'
import type { HandlerContext } from './handler.ts'

// MSI-X MASK and UNMASK (docs/model.md 11.4, a virq extension behind `msix.maskable`; the dispatch
// table reaches these only on a device that opted in). They set and clear the user mask.

function eachSelected (c: HandlerContext, action: string, each: (v: number) => void): void {
  if (c.dev.irqType !== 'msix') fail('EINVAL', 'index-not-enabled', `MSI-X is not enabled, so there is nothing to ${action}`)
  if (c.dataType === 'eventfd') fail('ENOTTY', `${action}-eventfd-unsupported`, `MSI-X vectors cannot be ${action}ed by an eventfd`)
  const end = c.start + c.count
  for (let v = c.start; v < end; v++) {
    if (c.dataType === 'bool' && c.data[v - c.start] === 0) continue
    each(v)
  }
}

/** ACTION_MASK on MSI-X: NONE masks every vector in range, BOOL those whose byte is non-zero. */
export function maskMsix (c: HandlerContext): number {
  const { dev, fx } = c
  eachSelected(c, 'mask', (v) => {
    if (dev.msix.userMask[v] !== 0) return
    dev.msix.userMask[v] = 1
    fx.device(dev)
  })
  return 0
}

/** ACTION_UNMASK on MSI-X: clears the user mask; a vector then unmasked and pending is sent (11.3). */
export function unmaskMsix (c: HandlerContext): number {
  const { dev, fx } = c
  eachSelected(c, 'unmask', (v) => {
    if (dev.msix.userMask[v] === 0) return
    dev.msix.userMask[v] = 0
    fx.device(dev)
    sendIfPending(c.world, dev, c.index, v, fx)
  })
  return 0
}
