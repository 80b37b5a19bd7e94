import { CliError, ProblemError } from './client.ts'
import { buildProgram, commandOf } from './program.ts'

// virq: the command-line client of the virq HTTP API (and `virq serve` to run the server).
// Entry point: bin/virq.js imports this file (compiled in dist/, or through tsx).

async function main (argv: string[]): Promise<number> {
  const program = await buildProgram(commandOf(argv))
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof ProblemError && program.opts().json === true) process.stdout.write(`${JSON.stringify(err.problem)}\n`)
    if (err instanceof CliError) {
      process.stderr.write(`virq: ${err.message}\n`)
      return err.exitCode
    }
    process.stderr.write(`virq: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}

process.exitCode = await main(process.argv)
