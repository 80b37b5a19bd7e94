import t from 'tap'
import { build } from '../helper.ts'
import { loadRecording, recordingFiles, replay } from './replay-lib.ts'

// Every comparable step of every recording must match what real vfio-pci answered.
for (const abi of ['linux-6.1', 'linux-6.12']) {
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
