import t from 'tap'
import { resizeWindow } from '../../examples/resize-window.ts'

// docs/model.md 10: the NORESIZE path loses the interrupts that fire between disable and
// re-enable; dynamic MSI-X adds vectors without a window. The example waits for at least one
// device fire inside every window, so the linux-6.1 loss is certain, not a matter of timing.
// Each new vector is also raised once before it is added: masked, so it pends and is
// delivered when the vector gets its eventfd, under both abis it runs (docs/model.md 11.2, 11.3).

t.test('10 NORESIZE: disable + re-enable loses interrupts (index-disabled)', async (t) => {
  const r = await resizeWindow('linux-6.1')
  t.equal(r.added, 15)
  t.ok(r.lost >= 15, `at least one lost per window (${r.lost})`)
  t.equal(r.lostBy['index-disabled'], r.lost, 'every loss is index-disabled')
  t.equal(r.deliveredFromPending, 15, 'each early fire waited in its pending bit, through the re-enable')
  t.equal(r.delivered + r.lost + r.coalesced + r.pendingNow, r.fired)
})

t.test('10 dynamic MSI-X: adding vectors one by one loses nothing', async (t) => {
  const r = await resizeWindow('linux-6.12')
  t.equal(r.added, 15)
  t.equal(r.lost, 0)
  t.ok(r.fired > 0)
  t.equal(r.deliveredFromPending, 15, 'each early fire was delivered when its vector was added')
  t.equal(r.delivered, r.fired)
})
