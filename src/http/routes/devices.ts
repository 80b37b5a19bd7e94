import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { DEFAULT_ABI } from '../../core/profiles.ts'
import { resolveDevice, TEMPLATES, TEMPLATE_NAMES } from '../../core/templates.ts'
import { deviceForUpdate, findDevice, sendEtag } from '../params.ts'
import { presentDevice } from '../present.ts'
import { decodeCursor, encodeCursor } from '../pagination.ts'
import { HttpProblem } from '../problem.ts'
import { Device, DeviceCreate, DevicePage, IdParams, PageQuery, TemplateList } from '../schemas.ts'
import { emptyBodyIsEmptyObject, problemResponses } from '../responses.ts'
import { checkDeviceLimits } from '../tenancy.ts'

const hex4 = (n: number): string => n.toString(16).padStart(4, '0')

const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { devices } = app

  app.post('/v1/devices', {
    schema: {
      operationId: 'createDevice',
      summary: 'Create an emulated VFIO PCI device',
      tags: ['devices'],
      body: Type.Ref(DeviceCreate),
      response: { 201: Device, ...problemResponses(400, 429) }
    },
    preValidation: emptyBodyIsEmptyObject
  }, async (req, reply) => {
    const body = req.body
    const abi = body.abi ?? DEFAULT_ABI
    const spec = resolveDevice({ ...body, abi })
    if (!spec.ok) throw new HttpProblem(400, spec.reason, spec.detail)
    if (body.parent !== undefined) {
      const parent = devices.parent(body.parent)
      // Another tenant's parent is as unknown as one that does not exist.
      if (parent === undefined || parent.owner !== req.tenant) throw new HttpProblem(400, 'unknown-parent', `no parent ${body.parent}; POST /v1/parents creates one`)
    }
    checkDeviceLimits(req, spec.caps)
    const id = randomUUID()
    const origin = { driver: spec.driver, template: spec.template, pci: body.pci ?? null }
    const dev = await devices.apply((world, fx) => world.addDevice(id, body.name ?? id, new Date().toISOString(), abi, spec.caps, fx, req.tenant, origin),
      { deviceId: id, op: 'create', request: body })
    sendEtag(reply, dev)
    reply.header('location', `/v1/devices/${dev.id}`)
    return reply.code(201).send(presentDevice(dev))
  })

  app.get('/v1/templates', {
    schema: {
      operationId: 'listTemplates',
      summary: 'The known devices that `template` on create fills capabilities from',
      tags: ['devices'],
      response: { 200: Type.Ref(TemplateList), ...problemResponses() }
    }
  }, async () => ({
    items: TEMPLATE_NAMES.map((name) => {
      const t = TEMPLATES[name]
      return {
        name,
        summary: t.summary,
        pci: { vendor: t.pci.vendor, device: t.pci.device, id: `${hex4(t.pci.vendor)}:${hex4(t.pci.device)}` },
        driver: t.driver,
        pcie: t.caps.pcie,
        reset: t.caps.reset,
        intx: t.caps.intx,
        ...(t.caps.msiVectors > 0 ? { msi: { vectors: t.caps.msiVectors } } : {}),
        ...(t.caps.msixTableSize > 0 ? { msix: { tableSize: t.caps.msixTableSize } } : {}),
        overridable: [...t.overridable]
      }
    })
  }))

  app.get('/v1/devices', {
    schema: {
      operationId: 'listDevices',
      summary: 'List devices in creation order',
      tags: ['devices'],
      querystring: PageQuery,
      response: { 200: Type.Ref(DevicePage), ...problemResponses(400) }
    }
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const page = devices.page(req.tenant, decodeCursor(req.query.cursor), limit)
    const items = page.ids.map((id) => devices.get(id)).filter((d) => d !== undefined).map(presentDevice)
    return { items, ...(page.more && page.last !== null ? { nextCursor: encodeCursor(page.last) } : {}) }
  })

  app.get('/v1/devices/:id', {
    schema: {
      operationId: 'getDevice',
      summary: 'Get a device (VFIO_DEVICE_GET_INFO and its enabled interrupt type)',
      tags: ['devices'],
      params: IdParams,
      response: { 200: Device, ...problemResponses(404) }
    }
  }, async (req, reply) => {
    const dev = findDevice(req, req.params.id)
    sendEtag(reply, dev)
    return presentDevice(dev)
  })

  app.delete('/v1/devices/:id', {
    schema: {
      operationId: 'deleteDevice',
      summary: 'Close and delete a device: disable its interrupts, release ERR/REQ, return its host vectors and IMS slots',
      tags: ['devices'],
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(404, 412) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    await app.vfioUser.stop(dev.id) // a vfio-user client is disconnected first (docs/model.md 14)
    await devices.apply((world, fx) => world.deleteDevice(dev, fx))
    return reply.code(204).send(null)
  })

  app.post('/v1/devices/:id/reset', {
    schema: {
      operationId: 'resetDevice',
      summary: 'VFIO_DEVICE_RESET: keeps the interrupt configuration, lowers the INTx line',
      tags: ['devices'],
      params: IdParams,
      response: { 200: Device, ...problemResponses(400, 404, 412) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    await devices.apply((world, fx) => world.resetDevice(dev, fx), { deviceId: dev.id, op: 'reset', request: {} })
    sendEtag(reply, dev)
    return presentDevice(dev)
  })
}

export default deviceRoutes
