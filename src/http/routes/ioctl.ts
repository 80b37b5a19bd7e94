import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { SIZEOF_VFIO_DEVICE_INFO, SIZEOF_VFIO_IRQ_INFO } from '../../core/constants.ts'
import { getDeviceInfo, getIrqInfo } from '../../core/device.ts'
import { rawIrqSetRequest, unrepresentableElement } from '../../core/set-irqs/request.ts'
import { deviceForUpdate, findDevice, sendEtag } from '../params.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, RawDeviceInfo, RawGetInfo, RawGetIrqInfo, RawIrqInfo, RawResult, RawSetIrqs } from '../schemas.ts'

// The raw ioctls: numbers in, numbers out, the kernel's structs field by field.

const ioctl: FastifyPluginAsyncTypebox = async (app) => {
  const { devices } = app
  // Errors of these routes carry the ioctl's return value, `result: -1` (see problem.ts).
  app.addHook('onRoute', (route) => { route.config = { ...route.config, rawIoctl: true } })

  app.post('/v1/devices/:id/ioctl/get-info', {
    schema: {
      operationId: 'ioctlGetInfo',
      summary: 'VFIO_DEVICE_GET_INFO',
      tags: ['ioctl'],
      params: IdParams,
      body: Type.Ref(RawGetInfo),
      response: { 200: Type.Ref(RawDeviceInfo), ...problemResponses(400, 404) }
    }
  }, async (req, reply) => {
    // A read for vfio-pci; mtty remembers its answer (GET_IRQ_INFO depends on it), so it is
    // applied like any change and durable before the answer.
    const dev = findDevice(req, req.params.id)
    const argsz = req.body.argsz ?? SIZEOF_VFIO_DEVICE_INFO
    const info = await devices.apply((_world, fx) => getDeviceInfo(dev, argsz, fx))
    sendEtag(reply, dev)
    return info
  })

  app.post('/v1/devices/:id/ioctl/get-irq-info', {
    schema: {
      operationId: 'ioctlGetIrqInfo',
      summary: 'VFIO_DEVICE_GET_IRQ_INFO',
      tags: ['ioctl'],
      params: IdParams,
      body: Type.Ref(RawGetIrqInfo),
      response: { 200: Type.Ref(RawIrqInfo), ...problemResponses(400, 404) }
    }
  }, async (req) => getIrqInfo(findDevice(req, req.params.id), req.body.argsz ?? SIZEOF_VFIO_IRQ_INFO, req.body.index))

  app.post('/v1/devices/:id/ioctl/set-irqs', {
    schema: {
      operationId: 'ioctlSetIrqs',
      summary: 'VFIO_DEVICE_SET_IRQS with the raw struct vfio_irq_set',
      description: '`data` holds BOOL bytes (0..255) or s32 fds, as `flags` says. `argsz` defaults to 20 + the data bytes. ' +
        'Errors are problem+json with `errno`, `errnoValue` and `result: -1`; a positive `result` is the partial-allocation answer.',
      tags: ['ioctl'],
      params: IdParams,
      body: Type.Ref(RawSetIrqs),
      response: { 200: Type.Ref(RawResult), ...problemResponses(400, 404, 409, 412, 507) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    const request = rawIrqSetRequest(req.body)
    const bad = unrepresentableElement(request)
    if (bad !== null) throw new HttpProblem(400, 'invalid-data-element', `data[${bad.at}] = ${bad.value} is not ${bad.type}`)
    const result = await devices.apply((world, fx) => world.setIrqs(dev, request, fx), { deviceId: dev.id, op: 'ioctl-set-irqs', request })
    sendEtag(reply, dev)
    return { result }
  })

  app.post('/v1/devices/:id/ioctl/reset', {
    schema: {
      operationId: 'ioctlReset',
      summary: 'VFIO_DEVICE_RESET',
      tags: ['ioctl'],
      params: IdParams,
      response: { 200: Type.Ref(RawResult), ...problemResponses(400, 404, 412) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    await devices.apply((world, fx) => world.resetDevice(dev, fx), { deviceId: dev.id, op: 'ioctl-reset', request: {} })
    sendEtag(reply, dev)
    return { result: 0 }
  })
}

export default ioctl
