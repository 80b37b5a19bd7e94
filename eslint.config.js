// Lint: neostandard (fastify's own choice) with TypeScript, run by `npm test`.
import globals from 'globals'
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'build/**', 'openapi/**', 'sdk/schema.ts', 'sdk/hey-api/**', 'test-artifacts/**', 'data/**']
  }),
  {
    rules: {
      // TypeBox's idiom names a schema and its static type alike (`const X = Type.Object(…)`,
      // `type X = Static<typeof X>`); the compiler already rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` marks a promise left to run on its own on purpose.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    // The dashboard runs in the browser, with uPlot loaded by its page.
    files: ['src/ui/**/*.js'],
    languageOptions: { globals: { ...globals.browser, uPlot: 'readonly' } },
    rules: { 'new-cap': ['error', { newIsCapExceptions: ['uPlot'] }] }
  }
]
