import { Command, Option } from 'commander'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { CliError } from '../client.ts'
import { ctx, examples, show } from '../common.ts'

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = 'SQLite format 3\0'

export function backupCommand (): Command {
  return examples(new Command('backup')
    .description('online backup of the server\'s database (POST /v1/admin/backup) into a local file; ' +
      'restore by starting virq on the copy: virq serve --db FILE')
    .requiredOption('--to <file>', 'where to write the copy (written beside it first, then renamed into place)')
    .addOption(new Option('--token <token>', 'the admin token, when the server has one').env('VIRQ_ADMIN_TOKEN'))
    .action(async (opts: { to: string, token?: string }, cmd: Command) => {
      const c = ctx(cmd)
      const to = resolve(opts.to)
      const headers: Record<string, string> = { accept: 'application/vnd.sqlite3, application/problem+json' }
      if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
      const res = await c.client.raw('POST', '/v1/admin/backup', { headers })
      const part = `${to}.part-${process.pid}`
      try {
        await pipeline(res, createWriteStream(part, { flags: 'wx' }))
        const fh = await open(part, 'r')
        const head = Buffer.alloc(16)
        const { bytesRead } = await fh.read(head, 0, 16, 0)
        await fh.sync()
        await fh.close()
        if (bytesRead < 16 || head.toString('latin1') !== SQLITE_MAGIC) throw new CliError('the server\'s answer is not a SQLite database')
        await rename(part, to)
      } catch (err) {
        await rm(part, { force: true })
        throw err
      }
      const { size: bytes } = await stat(to)
      show(c, { file: to, bytes }, () => `backed up to ${to} (${bytes} bytes); restore: virq serve --db ${to}`)
    }),
  'virq backup --to /var/backups/virq-$(date +%F).db',
  'VIRQ_ADMIN_TOKEN=... virq --url http://db-host:8080 backup --to ./virq.db')
}
