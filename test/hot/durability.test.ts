// The interrupt path's counters and eventfd values are batched in engine.hot and written by
// flush() (every flushMs, and at close). They must survive a graceful restart on a file DB.
import { join } from 'node:path'
import t from 'tap'
import { type App, build, countersFlushed, countersOf, createDevice, createEventfd, fireOk, flushCounters, flushError, irq, listen, peekEventfd, readEventfd, setIrqs, storeDb, type Tap, tempDir, triggerFds, until, vectors } from '../helper.ts'
import { SseClient } from './stream-clients.ts'

/** An app on `db`; closed at teardown unless the test closed it (close twice is harmless). */
async function open (t: Tap, db: string, flushMs?: number): Promise<App> {
  return await build(t, { db, hostVectors: 64, ...(flushMs !== undefined ? { flushMs } : {}) })
}

/** A device with MSI-X vectors 0..2 on eventfds e0, e1, -1, INTx-capable; some interrupts fired. */
async function scene (app: App) {
  const id = await createDevice(app, { abi: 'linux-6.1', intx: true, pcie: true, msix: { tableSize: 8, dynamic: false } })
  const e0 = await createEventfd(app)
  const e1 = await createEventfd(app, { semaphore: true })
  const err = await createEventfd(app)
  await setIrqs(app, id, 'msix', triggerFds(0, [e0, e1, -1]))
  await setIrqs(app, id, 'err', triggerFds(0, [err]))
  await fireOk(app, id, { index: 'msix', vectors: [0, 0, 1, 2, 5] })
  await fireOk(app, id, { index: 'msix', vector: 1, count: 40 })
  await fireOk(app, id, { index: 'err', count: 2 })
  await fireOk(app, id, { index: 'intx', level: 'assert' }) // lost (INTx not enabled), line left high
  return { id, fds: [e0, e1, err] }
}

/** Everything the interrupt path changed, as the API shows it. */
async function snapshot (app: App, id: string, fds: number[]) {
  return {
    msix: await vectors(app, id, 'msix'), // with the pending bits and their counters (docs/model.md 11.5)
    intx: countersOf(await vectors(app, id, 'intx')),
    err: countersOf(await vectors(app, id, 'err')),
    line: (await irq(app, id, 'intx')).line,
    values: await Promise.all(fds.map(async (fd) => await peekEventfd(app, fd)))
  }
}

t.test('durability: counters and eventfd values survive a graceful restart', async (t) => {
  const db = join(tempDir(t), 'virq.db')
  const app1 = await open(t, db) // default flushMs: the close must write what the timer has not
  const { id, fds } = await scene(app1)
  t.equal(await readEventfd(app1, fds[1]), 1, 'a semaphore read takes 1 (41 left)')
  const before = await snapshot(app1, id, fds)
  t.same(before.values, [2, 40, 2], 'sanity: the scene signalled')
  t.match(before.msix[5], { pending: true, pended: 1, lost: 0 }, 'sanity: a fire on a masked vector pends')
  t.match(before.msix[2], { pending: true, pended: 1 })
  t.equal(before.intx[0].lostBy['index-disabled'], 1)
  await app1.close()

  const app2 = await open(t, db)
  t.same(await snapshot(app2, id, fds), before, 'the same after the restart')
  // And the restarted instance carries on counting from there.
  await fireOk(app2, id, { index: 'msix', vector: 0 })
  t.equal((await vectors(app2, id, 'msix'))[0].fired, 3)
  t.equal(await readEventfd(app2, fds[0]), 3)
})

t.test('durability: what an SSE reader consumed stays consumed after a restart', async (t) => {
  const db = join(tempDir(t), 'virq.db')
  const app1 = await open(t, db, 3_600_000)
  const { id, fds } = await scene(app1)
  flushCounters(app1) // the signalled value is on disk; only the reader's consumption is left to write
  const { base } = await listen(app1)
  const sse = await SseClient.open(`${base}/v1/eventfds/${fds[0]}/events`)
  await until(() => sse.total() === 2, 'the SSE reader to take the counter')
  await app1.close()
  await sse.end()
  const app2 = await open(t, db)
  t.equal(await peekEventfd(app2, fds[0]), 0, 'the consumed value does not come back')
  t.equal((await vectors(app2, id, 'msix'))[0].delivered, 2)
})

t.test('durability: flushCounters() writes the batch without waiting for flushMs or close', async (t) => {
  const db = join(tempDir(t), 'virq.db')
  const app1 = await open(t, db, 3_600_000)
  const { id, fds } = await scene(app1)
  const before = await snapshot(app1, id, fds)
  t.notOk(countersFlushed(app1), 'the interrupts are batched, not yet written')
  flushCounters(app1)
  t.ok(countersFlushed(app1), 'flush took the batch')
  t.equal(flushError(app1), null)
  // Stop without the closing flush: close the database first, so only what flush() wrote is there.
  storeDb(app1).close()
  await app1.close()
  const app2 = await open(t, db)
  t.same(await snapshot(app2, id, fds), before, 'what flush() wrote is all there')
})

t.test('durability: the closing-flush bypass above is real (control: no flush, stop → batch not on disk)', async (t) => {
  // Guards the previous test: if closing the database first still let the batch reach disk,
  // that test would pass even with a flush() that wrote nothing.
  const db = join(tempDir(t), 'virq.db')
  const app1 = await open(t, db, 3_600_000)
  const { id, fds } = await scene(app1)
  storeDb(app1).close()
  await app1.close()
  const app2 = await open(t, db)
  const after = await snapshot(app2, id, fds)
  t.equal(after.msix[1].fired, 0, 'the batched counters were not written')
  t.same(after.values, [0, 0, 0])
})

t.test('durability: the flush timer writes the batch on its own', async (t) => {
  const db = join(tempDir(t), 'virq.db')
  const app1 = await open(t, db, 20)
  const { id, fds } = await scene(app1)
  const before = await snapshot(app1, id, fds)
  const deadline = Date.now() + 10_000
  while (!countersFlushed(app1) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(countersFlushed(app1), 'the timer flushed')
  storeDb(app1).close()
  await app1.close()
  const app2 = await open(t, db)
  t.same(await snapshot(app2, id, fds), before)
})
