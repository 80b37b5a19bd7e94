import { VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX } from './constants.ts'
import { LOST_NO_TRIGGER } from './counters.ts'
import type { Device, Effects, World } from './model-types.ts'
import { NO_TRIGGER } from './vectors.ts'

// Mask bits and pending bits (docs/model.md 11): what the function does with an interrupt it
// may not send. Every MSI-X vector has them; MSI vectors only with per-vector masking.

/** Whether the vectors of `index` have mask and pending bits (docs/model.md 11.1). */
export function hasVectorMasks (dev: Device, index: number): boolean {
  if (index === VFIO_PCI_MSIX_IRQ_INDEX) return dev.caps.msixTableSize > 0
  if (index === VFIO_PCI_MSI_IRQ_INDEX) return dev.caps.msiPerVectorMask === true
  return false
}

function tableOf (dev: Device, index: number) {
  return index === VFIO_PCI_MSIX_IRQ_INDEX ? dev.msix : dev.msi
}

function enabled (dev: Device, index: number): boolean {
  return dev.irqType === (index === VFIO_PCI_MSIX_IRQ_INDEX ? 'msix' : 'msi')
}

/**
 * The host's mask (docs/model.md 11.1): on an enabled index a vector is unmasked only while it has a
 * trigger (the host has a handler installed on it); without one it is masked, whether it holds
 * a host vector or not. While the index is disabled every entry is masked.
 */
function hostMasked (dev: Device, index: number, v: number): boolean {
  return !enabled(dev, index) || tableOf(dev, index).trigger[v] === NO_TRIGGER
}

/** A vector is masked when the host's mask or the user's (docs/model.md 11.4) is set; a vector without a mask bit never is. */
export function isMasked (dev: Device, index: number, v: number): boolean {
  return hasVectorMasks(dev, index) && (hostMasked(dev, index, v) || tableOf(dev, index).userMask[v] !== 0)
}

/** Who masks the vector, for display: `host`, `user`, both or neither. */
export function maskedBy (dev: Device, index: number, v: number): Array<'host' | 'user'> {
  if (!hasVectorMasks(dev, index)) return []
  const out: Array<'host' | 'user'> = []
  if (hostMasked(dev, index, v)) out.push('host')
  if (tableOf(dev, index).userMask[v] !== 0) out.push('user')
  return out
}

/**
 * Model 11.3: called after something may have unmasked vector `v` (it got a trigger, or its
 * user mask was cleared). If it is now unmasked with its pending bit set, the function sends
 * the message at once: the trigger is signalled once and the bit clears.
 */
export function sendIfPending (world: World, dev: Device, index: number, v: number, fx: Effects): void {
  const c = dev.counters[index]
  if (c.pending[v] === 0 || isMasked(dev, index, v)) return
  fx.countersOf(dev)
  c.touch(v)
  c.pending[v] = 0
  world.totals.pending[index] -= 1
  if (world.irq.signalTrigger(dev, tableOf(dev, index).trigger[v], fx)) {
    c.delivered[v] += 1
    c.deliveredFromPending[v] += 1
    world.totals.delivered[index] += 1
    world.totals.deliveredFromPending[index] += 1
  } else {
    c.lost[LOST_NO_TRIGGER][v] += 1 // unreachable: a trigger always names an open eventfd
    world.totals.lost[LOST_NO_TRIGGER][index] += 1
  }
}

/** The Pending Bit Array as a guest reads it: the pending vectors, and one 64-bit word per 64 vectors. */
export function pendingBitArray (dev: Device, index: number): { pending: number[], words: string[] } {
  const c = dev.counters[index]
  const pending: number[] = []
  const words: string[] = []
  for (let w = 0; w * 64 < c.size; w++) {
    let word = 0n
    for (let bit = 0; bit < 64 && w * 64 + bit < c.size; bit++) {
      if (c.pending[w * 64 + bit] !== 0) {
        pending.push(w * 64 + bit)
        word |= 1n << BigInt(bit)
      }
    }
    words.push(`0x${word.toString(16).padStart(16, '0')}`)
  }
  return { pending, words }
}
