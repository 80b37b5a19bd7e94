import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { VfioUserError } from '../../vfio-user/service.ts'
import { findDevice } from '../params.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, VfioUserState } from '../schemas.ts'

// Serving a device over vfio-user (docs/model.md 14): start, inspect, stop. The server itself
// lives in src/vfio-user; this file only translates.

const translate = (err: unknown): never => {
  if (err instanceof VfioUserError) throw new HttpProblem(err.status, err.reason, err.message)
  throw err
}

const vfioUser: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.vfioUser
  const notServing = (id: string): HttpProblem => new HttpProblem(404, 'not-serving', `device ${id} is not served over vfio-user`)

  app.post('/v1/devices/:id/vfio-user', {
    schema: {
      operationId: 'startVfioUser',
      summary: 'Serve the device over vfio-user on a UNIX socket (QEMU -device vfio-user-pci connects to it)',
      tags: ['vfio-user'],
      params: IdParams,
      response: { 201: Type.Ref(VfioUserState), ...problemResponses(404, 409, 503) }
    }
  }, async (req, reply) => {
    const dev = findDevice(req, req.params.id)
    try {
      const state = service.start(dev)
      reply.header('location', `/v1/devices/${dev.id}/vfio-user`)
      return reply.code(201).send(state)
    } catch (err) {
      return translate(err)
    }
  })

  app.get('/v1/devices/:id/vfio-user', {
    schema: {
      operationId: 'getVfioUser',
      summary: 'Whether the device is served over vfio-user: listening, or connected (negotiated version, capabilities, message counts)',
      tags: ['vfio-user'],
      params: IdParams,
      response: { 200: Type.Ref(VfioUserState), ...problemResponses(404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    const state = service.state(dev.id)
    if (state === null) throw notServing(dev.id)
    return state
  })

  app.delete('/v1/devices/:id/vfio-user', {
    schema: {
      operationId: 'stopVfioUser',
      summary: 'Stop serving: disconnect the client (its interrupts are torn down as close does) and remove the socket',
      tags: ['vfio-user'],
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(404) }
    }
  }, async (req, reply) => {
    const dev = findDevice(req, req.params.id)
    if (!(await service.stop(dev.id))) throw notServing(dev.id)
    return reply.code(204).send(null)
  })
}

export default vfioUser
