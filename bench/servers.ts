import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Servers for the bench (bench/run.ts, bench/profile.ts): started as child processes of plain
// node from the package root, known to be up by their "listening on" line.

const ROOT = fileURLToPath(new URL('../', import.meta.url))

/** Starts a server; `ms` is from spawn to its "listening on" line, `rssMb` its RSS at that moment. */
export async function start (args: string[]): Promise<{ child: ChildProcess, url: string, ms: number, rssMb: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)))
  })
  const ms = performance.now() - t0
  return { child, url, ms, rssMb: rssMb(child.pid!) }
}

/** Resident set size of a process, MiB (Linux). */
export function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

export async function stop (child: ChildProcess): Promise<void> {
  const done = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await done
}
