import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import {
  SIZEOF_VFIO_DEVICE_INFO, SIZEOF_VFIO_IRQ_INFO, SIZEOF_VFIO_IRQ_SET_HDR, VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_TYPE_MASK
} from '../../core/constants.ts'
import { getDeviceInfo, getIrqInfo } from '../../core/device.ts'
import { deviceForUpdate, findDevice, sendEtag } from '../device-context.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, RawGetInfo, RawGetIrqInfo, RawResult, RawSetIrqs } from '../schemas.ts'

// The raw ioctls: numbers in, numbers out, the kernel's structs field by field.

/** Element size the data type in `flags` implies; 0 for NONE or an invalid type (the model rejects those). */
function elementSize (flags: number): number {
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_BOOL: return 1
    case VFIO_IRQ_SET_DATA_EVENTFD: return 4
    default: return 0
  }
}

/** BOOL elements are bytes and fds are s32; anything else could not have been in the struct. */
function checkElements (data: readonly number[], size: number): void {
  const [min, max, what] = size === 1 ? [0, 255, 'a BOOL byte'] : [-2147483648, 2147483647, 'an s32 fd']
  for (let i = 0; i < data.length; i++) {
    if (data[i] < min || data[i] > max) throw new HttpProblem(400, 'invalid-data-element', `data[${i}] = ${data[i]} is not ${what}`)
  }
}

const ioctl: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app
  // Errors of these routes carry the ioctl's return value, `result: -1` (see problem.ts).
  app.addHook('onRoute', (route) => { route.config = { ...route.config, rawIoctl: true } })

  app.post('/v1/devices/:id/ioctl/get-info', {
    schema: {
      operationId: 'ioctlGetInfo',
      summary: 'VFIO_DEVICE_GET_INFO',
      tags: ['ioctl'],
      params: IdParams,
      body: RawGetInfo,
      response: {
        200: Type.Object({ argsz: Type.Integer(), flags: Type.Integer(), numRegions: Type.Integer(), numIrqs: Type.Integer() }),
        ...problemResponses(400, 404)
      }
    }
  }, async (req, reply) => {
    // A read for vfio-pci; mtty remembers its answer (GET_IRQ_INFO depends on it), so it is
    // applied like any change and durable before the answer.
    const dev = findDevice(req, req.params.id)
    const argsz = req.body.argsz ?? SIZEOF_VFIO_DEVICE_INFO
    const info = await engine.apply((_world, fx) => getDeviceInfo(dev, argsz, fx))
    sendEtag(reply, dev)
    return info
  })

  app.post('/v1/devices/:id/ioctl/get-irq-info', {
    schema: {
      operationId: 'ioctlGetIrqInfo',
      summary: 'VFIO_DEVICE_GET_IRQ_INFO',
      tags: ['ioctl'],
      params: IdParams,
      body: RawGetIrqInfo,
      response: {
        200: Type.Object({ argsz: Type.Integer(), flags: Type.Integer(), index: Type.Integer(), count: Type.Integer() }),
        ...problemResponses(400, 404)
      }
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
      body: RawSetIrqs,
      response: { 200: RawResult, ...problemResponses(400, 404, 409, 412, 507) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    const { flags, index, start, count } = req.body
    const data = req.body.data ?? []
    const size = elementSize(flags)
    if (size !== 0) checkElements(data, size)
    const argsz = req.body.argsz ?? SIZEOF_VFIO_IRQ_SET_HDR + data.length * size
    const request = { argsz, flags, index, start, count, data }
    const result = await engine.apply((world, fx) => world.setIrqs(dev, request, fx), { deviceId: dev.id, op: 'ioctl-set-irqs', request })
    sendEtag(reply, dev)
    return { result }
  })

  app.post('/v1/devices/:id/ioctl/reset', {
    schema: {
      operationId: 'ioctlReset',
      summary: 'VFIO_DEVICE_RESET',
      tags: ['ioctl'],
      params: IdParams,
      response: { 200: RawResult, ...problemResponses(400, 404, 412) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    await engine.apply((world, fx) => world.resetDevice(dev, fx), { deviceId: dev.id, op: 'ioctl-reset', request: {} })
    sendEtag(reply, dev)
    return { result: 0 }
  })
}

export default ioctl
