import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import { DEFAULT_ABI, type DeviceCaps } from '../../core/device.ts'
import { deviceForUpdate, findDevice, sendEtag } from '../device-context.ts'
import { presentDevice } from '../present.ts'
import { decodeCursor, encodeCursor } from '../pagination.ts'
import { HttpProblem } from '../problem.ts'
import { Device, DeviceCreate, IdParams, Page, PageQuery } from '../schemas.ts'
import { emptyBodyIsEmptyObject, problemResponses } from '../responses.ts'
import { checkLimit } from '../tenancy.ts'

const devices: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app

  app.post('/v1/devices', {
    schema: {
      operationId: 'createDevice',
      summary: 'Create an emulated VFIO PCI device',
      tags: ['devices'],
      body: DeviceCreate,
      response: { 201: Device, ...problemResponses(400) }
    },
    preValidation: emptyBodyIsEmptyObject
  }, async (req, reply) => {
    const body = req.body
    const abi = body.abi ?? DEFAULT_ABI
    if (abi === 'linux-6.1' && body.msix?.dynamic === true) {
      throw new HttpProblem(400, 'dynamic-msix-needs-linux-6.5', 'linux-6.1 has no dynamic MSI-X; omit msix.dynamic or set it to false')
    }
    const caps: DeviceCaps = {
      pcie: body.pcie ?? false,
      reset: body.reset ?? false,
      intx: body.intx ?? false,
      msiVectors: body.msi?.vectors ?? 0,
      msixTableSize: body.msix?.tableSize ?? 0,
      msixDynamic: abi === 'linux-6.12' && (body.msix?.dynamic ?? true)
    }
    checkLimit(req, 'devices')
    const id = randomUUID()
    const dev = await engine.apply((world, fx) => world.addDevice(id, body.name ?? id, new Date().toISOString(), abi, caps, fx, req.tenant),
      { deviceId: id, op: 'create', request: body })
    sendEtag(reply, dev)
    reply.header('location', `/v1/devices/${dev.id}`)
    return reply.code(201).send(presentDevice(dev))
  })

  app.get('/v1/devices', {
    schema: {
      operationId: 'listDevices',
      summary: 'List devices in creation order',
      tags: ['devices'],
      querystring: PageQuery,
      response: { 200: Page(Device), ...problemResponses(400) }
    }
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const page = engine.repo.devicePage(req.tenant, decodeCursor(req.query.cursor), limit)
    const items = page.ids.map((id) => engine.world.devices.get(id)).filter((d) => d !== undefined).map(presentDevice)
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
      summary: 'Close and delete a device: disable its interrupts, release ERR/REQ, return its host vectors',
      tags: ['devices'],
      params: IdParams,
      response: { 204: Type.Null(), ...problemResponses(404, 412) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    await engine.apply((world, fx) => world.deleteDevice(dev, fx))
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
    await engine.apply((world, fx) => world.resetDevice(dev, fx), { deviceId: dev.id, op: 'reset', request: {} })
    sendEtag(reply, dev)
    return presentDevice(dev)
  })
}

export default devices
