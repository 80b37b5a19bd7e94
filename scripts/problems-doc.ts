import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LOSS_REASONS, PROBLEM_TYPES } from '../src/http/problem-types.ts'

/** docs/problems.md, generated from the catalogue the service serves at /problems. */
export function problemsMarkdown (): string {
  const rows = Object.entries(PROBLEM_TYPES).map(([reason, p]) =>
    `| \`${reason}\` | ${p.status} | ${p.errno ?? ''} | ${p.model ?? ''} | ${p.text.replace(/\|/g, '\\|')} |`)
  const losses = Object.entries(LOSS_REASONS).map(([reason, text]) => `| \`${reason}\` | ${text} |`)
  return [
    '# Problem reasons and loss reasons',
    '',
    '<!-- Generated from src/http/problem-types.ts by `npm run docs:problems`; do not edit. -->',
    '',
    'Every error is RFC 9457 problem+json (`application/problem+json`) with a stable `reason`; its `type` is',
    '`/problems/{reason}`, which the service answers with the same text (HTML, or JSON with `Accept: application/json`).',
    'Model rules also carry the kernel\'s `errno`; raw ioctl routes add `result: -1`.',
    '',
    '| reason | status | errno | docs/model.md | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '## Why interrupts are lost',
    '',
    'The `lostBy` counters of a vector and the `reason` label of `virq_interrupts_lost_total`:',
    '',
    '| reason | meaning |',
    '|---|---|',
    ...losses,
    ''
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../docs/problems.md', import.meta.url), problemsMarkdown())
  console.log('wrote docs/problems.md')
}
