import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FireTally } from '../../core/interrupts.ts'
import { FireError, MAX_FIRE_COUNT } from '../../hot/fire.ts'
import { findDevice, parseIndex } from '../device-context.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, IrqIndexBody, MAX_DATA_ELEMENTS } from '../schemas.ts'

export const FireBody = Type.Object({
  index: IrqIndexBody,
  vectors: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 2047 }), { maxItems: MAX_DATA_ELEMENTS, description: 'MSI/MSI-X: fire each, in order (repeats fire again)' })),
  vector: Type.Optional(Type.Integer({ minimum: 0, maximum: 2047 })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FIRE_COUNT, description: 'How many times `vector` (or ERR/REQ) fires; default 1' })),
  level: Type.Optional(Type.Union([Type.Literal('assert'), Type.Literal('deassert'), Type.Literal('pulse')], { description: 'INTx: drive the line; default pulse' }))
}, {
  additionalProperties: false,
  examples: [
    { index: 'msix', vectors: [0, 3, 3, 7] },
    { index: 'msix', vector: 3, count: 1000 },
    { index: 'intx', level: 'assert' },
    { index: 'err' }
  ]
})

export const FireResult = Type.Object({
  fired: Type.Integer(),
  delivered: Type.Integer({ description: 'Signalled a trigger eventfd' }),
  lost: Type.Integer({ description: 'Lost: index disabled; on vectors without a mask bit also not allocated or no trigger' }),
  pended: Type.Integer({ description: 'Set the pending bit of a masked vector (docs/model.md 11.2)' }),
  coalesced: Type.Integer({ description: 'Joined a pending bit already set. fired = delivered + lost + pended + coalesced' })
})

const interruptRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { interrupts } = app
  const tally = new FireTally() // requests run one at a time: one tally serves them all

  app.post('/v1/devices/:id/interrupts', {
    schema: {
      operationId: 'fireInterrupts',
      summary: 'The device fires interrupts (docs/model.md 7, 11); lost ones are counted per vector and reason, masked ones pend',
      tags: ['interrupts'],
      params: IdParams,
      body: FireBody,
      response: { 200: FireResult, ...problemResponses(400, 404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    const index = parseIndex(req.body.index)
    tally.reset()
    try {
      interrupts.fire(dev, { ...req.body, index }, tally)
    } catch (err) {
      if (err instanceof FireError) throw new HttpProblem(400, err.reason, err.message)
      throw err
    }
    return { fired: tally.fired, delivered: tally.delivered, lost: tally.lost, pended: tally.pended, coalesced: tally.coalesced }
  })
}

export default interruptRoutes
