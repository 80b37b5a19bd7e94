import { VFIO_PCI_MSIX_IRQ_INDEX } from '../constants.ts'
import { hasDynamicMsix, vectorTable, type IrqType } from '../device.ts'
import { fail, VfioError } from '../errno.ts'
import { sendIfPending } from '../masking.ts'
import { NO_TRIGGER } from '../vectors.ts'
import type { HandlerContext } from './handler.ts'

// MSI and MSI-X trigger (docs/model.md 5.3, 5.4; vfio_pci_set_msi_trigger, vfio_msi_set_block).

function irqTypeOf (c: HandlerContext): IrqType {
  return c.index === VFIO_PCI_MSIX_IRQ_INDEX ? 'msix' : 'msi'
}

export function triggerMsi (c: HandlerContext): number {
  const { dev, world } = c
  const type = irqTypeOf(c)
  const enabled = dev.irqType === type
  if (enabled && c.count === 0 && c.dataType === 'none') {
    world.disableMsi(dev, type, c.fx)
    return 0
  }
  if (!enabled && dev.irqType !== 'none') {
    fail('EINVAL', 'irq-type-conflict', `${dev.irqType} is enabled; disable it before using ${type}`)
  }
  if (c.dataType === 'eventfd') {
    if (enabled) return assignBlock(c)
    const partial = world.enableMsi(dev, type, c.start + c.count, c.fx)
    if (partial > 0) return partial
    try {
      return assignBlock(c)
    } catch (err) {
      // An enable whose block fails leaves nothing enabled (vfio_msi_disable on the error path).
      world.disableMsi(dev, type, c.fx)
      throw err
    }
  }
  if (!enabled) fail('EINVAL', 'index-not-enabled', `${type} is not enabled`)
  return loopback(c)
}

/** The abi checks blocks up front, unless MSI-X is IMS-backed (always dynamic: docs/model.md 13). */
function staticRange (c: HandlerContext): boolean {
  return c.dev.profile.staticRangeCheck && !(c.index === VFIO_PCI_MSIX_IRQ_INDEX && c.dev.msixBacking !== null)
}

/** Before 6.5 a block is checked against the vectors allocated at enable time, before anything changes. */
function checkStaticRange (c: HandlerContext): void {
  const nvec = vectorTable(c.dev, c.index).enabledNvec
  if (c.start >= nvec || c.start + c.count > nvec) {
    fail('EINVAL', 'beyond-enabled-vectors',
      `[${c.start}, ${c.start + c.count}) reaches past the ${nvec} vectors enabled; under ${c.dev.abi} MSI-X cannot grow without disable and re-enable`)
  }
}

/** vfio_msi_set_block(): each vector in order; on the first error, de-assign what came before. */
function assignBlock (c: HandlerContext): number {
  if (staticRange(c)) checkStaticRange(c)
  const end = c.start + c.count
  let v = c.start
  try {
    for (; v < end; v++) setVectorTrigger(c, v, c.data[v - c.start])
  } catch (err) {
    if (!(err instanceof VfioError)) throw err
    for (let u = c.start; u < v; u++) setVectorTrigger(c, u, NO_TRIGGER)
    throw err
  }
  return 0
}

/** vfio_msi_set_vector_signal(). */
function setVectorTrigger (c: HandlerContext, v: number, fd: number): void {
  const { dev, world, fx } = c
  const msix = c.index === VFIO_PCI_MSIX_IRQ_INDEX
  if (msix && dev.msixBacking !== null) return dev.msixBacking.setVector(world, dev, v, fd, fx) // docs/model.md 13
  const table = vectorTable(dev, c.index)
  if (table.trigger[v] !== NO_TRIGGER) {
    table.trigger[v] = NO_TRIGGER // the host vector stays allocated until disable
    fx.vector(dev, msix, v)
  }
  if (fd < 0) return
  if (table.allocated[v] === 0) {
    if (!msix || !hasDynamicMsix(dev)) {
      fail('EINVAL', 'vector-not-allocated', `vector ${v} has no host vector and this ${msix ? 'MSI-X' : 'MSI'} index cannot grow`)
    }
    world.pool.allocateOne(dev.owner)
    table.allocate(v)
    fx.vector(dev, msix, v)
  }
  table.trigger[v] = world.eventfds.lookup(fd, dev.owner).fd
  fx.vector(dev, msix, v)
  sendIfPending(world, dev, c.index, v, fx) // the host installs a handler: unmasked (docs/model.md 11.3)
}

/** NONE/BOOL with the index enabled: signal the vectors in range that have a trigger. */
function loopback (c: HandlerContext): number {
  if (staticRange(c)) checkStaticRange(c)
  const table = vectorTable(c.dev, c.index)
  const end = c.start + c.count
  for (let v = c.start; v < end; v++) {
    const trigger = table.trigger[v]
    if (trigger === NO_TRIGGER) continue
    if (c.dataType === 'bool' && c.data[v - c.start] === 0) continue
    c.world.irq.signalTrigger(c.dev, trigger, c.fx)
  }
  return 0
}
