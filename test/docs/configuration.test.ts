import { readFileSync } from 'node:fs'
import t from 'tap'
import { SETTINGS } from '../../src/config.ts'

// README's Configuration table is the one list of the service's settings a user reads: it names
// every flag of src/config.ts with its environment variable and default, and no flag that is not
// there. (`virq serve --help` is built from the same SETTINGS.)

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The rows of the table under "## Configuration": flag, environment, default. */
export function configurationRows (readme: string): Array<{ flag: string, env: string, def: string }> {
  const from = readme.indexOf('## Configuration')
  const next = readme.indexOf('\n## ', from + 1)
  const section = readme.slice(from, next < 0 ? undefined : next)
  return [...section.matchAll(/^\| `--([a-z-]+)` \| `([A-Z_]+)` \| ([^|]+) \|/gm)]
    .map((m) => ({ flag: m[1], env: m[2], def: m[3].trim().replace(/^`(.*)`$/, '$1') }))
}

t.test('the reader finds the rows (it can fail)', async (t) => {
  t.same(configurationRows('## Configuration\n| flag | environment | default | meaning |\n|---|---|---|---|\n| `--port` | `VIRQ_PORT` | `8080` | port |\n| `--admin-token` | `VIRQ_ADMIN_TOKEN` | none | auth |\n## Next\n| `--other` | `VIRQ_OTHER` | `1` | not this section |\n'),
    [{ flag: 'port', env: 'VIRQ_PORT', def: '8080' }, { flag: 'admin-token', env: 'VIRQ_ADMIN_TOKEN', def: 'none' }])
})

t.test("README's Configuration table lists every setting, with its environment variable and default", async (t) => {
  const rows = configurationRows(README)
  t.same(rows.map((r) => r.flag).sort(), SETTINGS.map((s) => s.flag).sort(), 'the same flags')
  for (const s of SETTINGS) {
    const row = rows.find((r) => r.flag === s.flag)
    if (row === undefined) continue
    t.equal(row.env, s.env, `--${s.flag}: environment`)
    t.equal(row.def, s.default === '' ? 'none' : s.default, `--${s.flag}: default`)
  }
})
