import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { Parent as ParentModel } from '../../core/ims.ts'
import { presentParent } from '../present.ts'
import { notFound } from '../problem.ts'
import { emptyBodyIsEmptyObject, problemResponses } from '../responses.ts'
import { IdParams, Parent, ParentCreate, ParentList } from '../schemas.ts'

// IMS parents (docs/model.md 13): physical functions whose interrupt message store backs the
// MSI-X vectors of the devices created under them. Owned by a tenant like devices: another
// tenant's parent is not found.

/** A parent of the caller's tenant, else 404. */
function findParent (req: FastifyRequest, id: string): ParentModel {
  const parent = req.server.devices.parent(id)
  if (parent === undefined || parent.owner !== req.tenant) throw notFound('parent', id)
  return parent
}

const parents: FastifyPluginAsyncTypebox = async (app) => {
  const { devices } = app

  app.post('/v1/parents', {
    schema: {
      operationId: 'createParent',
      summary: 'Create an IMS parent: a physical function with an interrupt message store of `imsSlots` entries',
      tags: ['parents'],
      body: Type.Ref(ParentCreate),
      response: { 201: Parent, ...problemResponses(400) }
    },
    preValidation: emptyBodyIsEmptyObject
  }, async (req, reply) => {
    const id = randomUUID()
    const parent = await devices.apply((world, fx) => world.addParent(id, req.body.name ?? id, req.tenant, new Date().toISOString(), req.body.imsSlots, fx))
    reply.header('location', `/v1/parents/${parent.id}`)
    return reply.code(201).send(presentParent(parent, devices.all()))
  })

  app.get('/v1/parents', {
    schema: {
      operationId: 'listParents',
      summary: "List the caller's parents in creation order, with their slots",
      tags: ['parents'],
      response: { 200: Type.Ref(ParentList), ...problemResponses(401) }
    }
  }, async (req) => {
    const items = []
    for (const parent of devices.parents()) if (parent.owner === req.tenant) items.push(presentParent(parent, devices.all()))
    return { items }
  })

  app.get('/v1/parents/:id', {
    schema: {
      operationId: 'getParent',
      summary: 'Get a parent: slots total, used and free, and the slots each of its devices holds',
      tags: ['parents'],
      params: IdParams,
      response: { 200: Parent, ...problemResponses(404) }
    }
  }, async (req) => presentParent(findParent(req, req.params.id), devices.all()))

  app.delete('/v1/parents/:id', {
    schema: {
      operationId: 'deleteParent',
      summary: 'Delete a parent; 409 EBUSY while devices are created under it',
      tags: ['parents'],
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(404, 409) }
    }
  }, async (req, reply) => {
    const parent = findParent(req, req.params.id)
    await devices.apply((world, fx) => world.deleteParent(parent, fx))
    return reply.code(204).send(null)
  })
}

export default parents
