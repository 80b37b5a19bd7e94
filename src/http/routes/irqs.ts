import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import {
  VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX
} from '../../core/constants.ts'
import { getIrqInfo, irqCount } from '../../core/device.ts'
import { hasVectorMasks, pendingBitArray } from '../../core/masking.ts'
import { rawIrqSetRequest, type IrqSetRequest } from '../../core/set-irqs/request.ts'
import { deviceForUpdate, findDevice, parseIndex, sendEtag } from '../params.ts'
import { presentIrq, presentIrqs, presentVectors } from '../present.ts'
import { HttpProblem } from '../problem.ts'
import { problemResponses } from '../responses.ts'
import { IdParams, IrqIndex, IrqIndexList, IrqParams, IrqSetResult, PendingBitArray, SetIrqsBody, VectorPage, VectorQuery } from '../schemas.ts'
import { decodeCursor, encodeCursor } from '../pagination.ts'

const ACTIONS = { mask: VFIO_IRQ_SET_ACTION_MASK, unmask: VFIO_IRQ_SET_ACTION_UNMASK, trigger: VFIO_IRQ_SET_ACTION_TRIGGER }

/** The friendly body, as the struct vfio_irq_set the kernel would receive. */
export function toIrqSet (index: number, body: SetIrqsBody): IrqSetRequest {
  const d = body.data
  const data = d.type === 'eventfd' ? d.fds : d.type === 'bool' ? d.values.map((x) => (x ? 1 : 0)) : []
  const count = body.count ?? (d.type === 'none' ? undefined : data.length)
  if (count === undefined) throw new HttpProblem(400, 'count-required', 'data type none needs an explicit count')
  const dataFlag = d.type === 'eventfd' ? VFIO_IRQ_SET_DATA_EVENTFD : d.type === 'bool' ? VFIO_IRQ_SET_DATA_BOOL : VFIO_IRQ_SET_DATA_NONE
  return rawIrqSetRequest({ flags: dataFlag | ACTIONS[body.action], index, start: body.start ?? 0, count, data })
}

const irqs: FastifyPluginAsyncTypebox = async (app) => {
  const { devices } = app

  app.get('/v1/devices/:id/irqs', {
    schema: {
      operationId: 'listIrqs',
      summary: 'GET_IRQ_INFO for every index the device answers, with its configuration',
      tags: ['irqs'],
      params: IdParams,
      response: { 200: Type.Ref(IrqIndexList), ...problemResponses(404) }
    }
  }, async (req) => ({ items: presentIrqs(findDevice(req, req.params.id)) }))

  app.get('/v1/devices/:id/irqs/:index', {
    schema: {
      operationId: 'getIrq',
      summary: 'GET_IRQ_INFO for one index (EINVAL for ERR on a device that is not PCI Express)',
      tags: ['irqs'],
      params: IrqParams,
      response: { 200: IrqIndex, ...problemResponses(400, 404) }
    }
  }, async (req) => presentIrq(findDevice(req, req.params.id), parseIndex(req.params.index)))

  app.get('/v1/devices/:id/irqs/:index/vectors', {
    schema: {
      operationId: 'listVectors',
      summary: 'Per-vector state of one index: host vector, trigger eventfd, mask and pending bits, counters',
      description: 'Every vector of the index, in vector order, unless filtered (`active`, `lost`) or paged (`limit`, then `cursor` from `nextCursor`).',
      tags: ['irqs'],
      params: IrqParams,
      querystring: VectorQuery,
      response: { 200: Type.Ref(VectorPage), ...problemResponses(400, 404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    const index = parseIndex(req.params.index)
    getIrqInfo(dev, 16, index) // same EINVAL answers as GET_IRQ_INFO
    const all = presentVectors(dev, index)
    // Filters first, then the page: a cursor is the vector number to go on from.
    const { active, lost, limit } = req.query
    const from = decodeCursor(req.query.cursor)
    const wanted = all.items.filter((v) => v.vector >= from &&
      (active === undefined || (v.allocated || v.trigger !== null) === active) &&
      (lost === undefined || (v.lost > 0) === lost))
    const items = limit === undefined ? wanted : wanted.slice(0, limit)
    const more = items.length < wanted.length
    return { ...all, items, ...(more ? { nextCursor: encodeCursor(wanted[items.length].vector) } : {}) }
  })

  app.get('/v1/devices/:id/irqs/:index/pba', {
    schema: {
      operationId: 'getPendingBitArray',
      summary: 'The Pending Bit Array of MSI-X (or of MSI with per-vector masking) as a guest would read it',
      description: '400 for an index that never has pending bits (INTx, ERR, REQ); 404 when the device has no such array ' +
        '(no MSI-X, or MSI without per-vector masking).',
      tags: ['irqs'],
      params: IrqParams,
      response: { 200: Type.Ref(PendingBitArray), ...problemResponses(400, 404) }
    }
  }, async (req) => {
    const dev = findDevice(req, req.params.id)
    const index = parseIndex(req.params.index)
    if (index !== VFIO_PCI_MSI_IRQ_INDEX && index !== VFIO_PCI_MSIX_IRQ_INDEX) {
      throw new HttpProblem(400, 'no-pending-bits', `index ${req.params.index} has no pending bits: only MSI-X and MSI with per-vector masking do`)
    }
    if (irqCount(dev, index) === 0 || !hasVectorMasks(dev, index)) {
      throw new HttpProblem(404, 'no-pending-bit-array', index === VFIO_PCI_MSIX_IRQ_INDEX
        ? `device ${dev.id} has no MSI-X`
        : `device ${dev.id} has no MSI with per-vector masking (create it with msi.perVectorMask: true)`)
    }
    return pendingBitArray(dev, index)
  })

  app.post('/v1/devices/:id/irqs/:index', {
    schema: {
      operationId: 'setIrqs',
      summary: 'VFIO_DEVICE_SET_IRQS in JSON: mask, unmask or trigger a range of vectors',
      tags: ['irqs'],
      params: IrqParams,
      body: Type.Ref(SetIrqsBody),
      response: { 200: Type.Ref(IrqSetResult), ...problemResponses(400, 404, 409, 412, 507) }
    }
  }, async (req, reply) => {
    const dev = deviceForUpdate(req, req.params.id)
    const index = parseIndex(req.params.index)
    const request = toIrqSet(index, req.body)
    const result = await devices.apply((world, fx) => world.setIrqs(dev, request, fx),
      { deviceId: dev.id, op: 'set-irqs', request: { index: req.params.index, ...req.body } })
    sendEtag(reply, dev)
    return { result, irq: presentIrq(dev, index), version: dev.version }
  })
}

export default irqs
