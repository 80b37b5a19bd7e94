import t from 'tap'
import { build } from '../helper.ts'
import { readdirSync } from 'node:fs'
import { ABIS, type Abi } from '../../src/core/profiles.ts'
import { loadRecording, recordingFiles, RECORDINGS, replay } from './replay-lib.ts'

// Every comparable step of every recording must match what real vfio-pci answered. Each
// folder of recordings is named after the abi profile that must answer as that kernel did.
const recorded = readdirSync(RECORDINGS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
t.same(recorded.filter((name) => !ABIS.includes(name as Abi)), [], 'every recorded kernel has an abi profile')
t.ok(recorded.length >= 3, `${recorded.join(', ')} recorded`)
for (const abi of recorded) {
  for (const file of recordingFiles(abi)) {
    t.test(`${abi} ${file}`, async (t) => {
      const app = await build(t)
      const outcomes = await replay(app, abi, loadRecording(abi, file))
      let compared = 0
      for (const o of outcomes) {
        if (o.expected === null) continue
        compared++
        t.same(o.actual, o.expected, `step ${o.step.n}: ${o.step.line}`)
      }
      t.ok(compared > 10, `${compared} steps compared`)
    })
  }
}
