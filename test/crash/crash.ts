import { parseArgs } from 'node:util'
import { runCrash } from './crash-lib.ts'

// Crash safety: SIGKILL the real server at random moments while clients change state, restart
// on the same file, check that nothing acknowledged was lost (see crash-lib.ts).
//   node --import tsx test/crash/crash.ts [--seed N] [--kills N] [--clients N]
// Prints `kills=N acknowledged=N lost=N violations=N`; exits 1 if lost or violations > 0.

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    kills: { type: 'string', default: '22' },
    clients: { type: 'string', default: '4' }
  },
  strict: true
})
const seed = Number(values.seed ?? process.env.CRASH_SEED ?? 20240611)
const kills = Number(values.kills)
const clients = Number(values.clients)
if (!Number.isInteger(seed) || !Number.isInteger(kills) || kills < 1 || !Number.isInteger(clients) || clients < 1) {
  console.error('usage: crash.ts [--seed N] [--kills N>=1] [--clients N>=1]')
  process.exit(2)
}

console.error(`crash: seed=${seed} kills=${kills} clients=${clients} (rerun with --seed ${seed})`)
const t0 = Date.now()
const report = await runCrash({ seed, kills, clients, log: (line) => console.error(`crash: ${line}`) })
for (const d of report.details) console.error(`crash: ${d}`)
console.error(`crash: ${report.inFlight} requests were in flight at a kill, ${report.inFlightApplied} of them applied; ${((Date.now() - t0) / 1000).toFixed(1)} s`)
console.log(report.figures)
process.exit(report.lost > 0 || report.violations > 0 ? 1 : 0)
