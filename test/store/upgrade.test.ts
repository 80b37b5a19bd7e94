import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { snapshot } from '../http/bad-input-lib.ts'
import { tempDir } from '../helper.ts'

// A database written by an older virq opens under today's migrations with nothing lost: every
// device, vector, trigger, counter and eventfd the old API showed is still shown the same way.
// The fixture (test/fixtures/db/schema-003.db) was written at schema version 3 by the virq of
// that time, from bad-input-lib's buildFixture plus a few fires; schema-003.json is what that
// virq's API answered for it. Fields added since may appear; none may change or vanish.

const FIXTURES = fileURLToPath(new URL('../fixtures/db/', import.meta.url))

t.test('a schema-3 database upgrades in place and keeps everything the API showed', async (t) => {
  const file = join(tempDir(t), 'virq.db')
  copyFileSync(join(FIXTURES, 'schema-003.db'), file)
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'schema-003.json'), 'utf8'))
  const app = await buildApp({ db: file, hostVectors: 64, flushMs: 0 })
  t.teardown(() => app.close())
  const actual = await snapshot(app)
  t.equal(actual.devices.length, expected.devices.length, 'every device is still there')
  t.equal(actual.eventfdList.length, expected.eventfdList.length, 'every eventfd is still there')
  t.match(actual, expected, 'and shows what it showed before the upgrade')
})
