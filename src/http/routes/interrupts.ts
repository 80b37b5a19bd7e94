import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FireTally } from '../../core/interrupts.ts'
import { FireError, type FireRequest } from '../../hot/fire.ts'
import { findDevice, parseIndex } from '../params.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { FireBody, FireResult, IdParams } from '../schemas.ts'

const interruptRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { interrupts } = app
  const tally = new FireTally() // requests run one at a time: one tally serves them all

  app.post('/v1/devices/:id/interrupts', {
    schema: {
      operationId: 'fireInterrupts',
      summary: 'The device fires interrupts (docs/model.md 7, 11); lost ones are counted per vector and reason, masked ones pend',
      tags: ['interrupts'],
      params: IdParams,
      body: Type.Ref(FireBody),
      response: { 200: Type.Ref(FireResult), ...problemResponses(400, 404) }
    }
  }, (req) => {
    // Synchronous (fastify sends what it returns): no promise and no microtask per interrupt.
    const dev = findDevice(req, req.params.id)
    // The body is this request's own parsed object: its index becomes the number in place
    // rather than in a copy of the body.
    const body = req.body as unknown as FireRequest
    body.index = parseIndex(req.body.index)
    tally.reset()
    try {
      interrupts.fire(dev, body, tally)
    } catch (err) {
      if (err instanceof FireError) throw new HttpProblem(400, err.reason, err.message)
      throw err
    }
    return { fired: tally.fired, delivered: tally.delivered, lost: tally.lost, pended: tally.pended, coalesced: tally.coalesced }
  })
}

export default interruptRoutes
