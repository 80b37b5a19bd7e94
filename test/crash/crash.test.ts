import Database from 'better-sqlite3'
import t from 'tap'
import { runCrash } from './crash-lib.ts'

// The short version of the crash-safety script (test/crash/crash.ts): SIGKILL the real server
// 5 times under 4 concurrent clients; after each restart every acknowledged change must be
// there, the request in flight applied whole or not at all, the host pool accounting right,
// and eventfd numbers still growing. After the last kill the test damages the file on purpose
// (while the server is dead), to show that the checker notices: that check must fail.

const SEED = Number(process.env.CRASH_SEED ?? 7)
const KILLS = 5

t.test(`crash safety: ${KILLS} kills (seed ${SEED})`, { timeout: 180_000 }, async (t) => {
  const report = await runCrash({
    seed: SEED,
    kills: KILLS,
    minRunMs: 150,
    maxRunMs: 900,
    log: (line) => t.comment(line),
    afterKill: (file, kill) => {
      if (kill !== KILLS) return
      const db = new Database(file)
      db.prepare('UPDATE devices SET version = version + 5 WHERE seq = (SELECT min(seq) FROM devices)').run()
      // (+5 and +1000: no single request in flight could explain either)
      db.prepare('UPDATE eventfds SET value = value + 1000 WHERE fd = (SELECT min(fd) FROM eventfds)').run()
      db.close()
    }
  })
  t.comment(report.figures)
  t.equal(report.kills, KILLS, `${KILLS} kills`)
  t.ok(report.acknowledged > 50, `requests were acknowledged (${report.acknowledged})`)
  const honest = report.perKill.slice(0, KILLS - 1)
  t.same(honest.filter((k) => k.lost + k.violations > 0), [], 'no acknowledged change lost, no violation', { details: report.details })
  const damaged = report.perKill[KILLS - 1]
  t.ok(damaged.lost + damaged.violations >= 2, `the damage done after the last kill is noticed (lost ${damaged.lost}, violations ${damaged.violations})`, { details: report.details })
})
