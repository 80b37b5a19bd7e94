import type { Device, Effects, World } from '../model-types.ts'

// What a SET_IRQS handler is (dispatch.ts holds the table of them), apart from the request
// itself (request.ts), which the world and the routes name without the handlers' context.

export type DataType = 'none' | 'bool' | 'eventfd'

/** What every handler receives: the validated request and where to record what it changed. */
export interface HandlerContext {
  readonly world: World
  readonly dev: Device
  readonly index: number
  /** The one action bit (VFIO_IRQ_SET_ACTION_*). */
  readonly action: number
  readonly start: number
  readonly count: number
  readonly dataType: DataType
  readonly data: readonly number[]
  readonly fx: Effects
}

/** A handler answers like the kernel's: 0, or a positive "only this many" count; errors throw. */
export type Handler = (c: HandlerContext) => number
