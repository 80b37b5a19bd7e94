import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { problemResponses } from '../responses.ts'

/**
 * POST /v1/admin/backup: the whole database as a SQLite file, made with SQLite's online backup
 * while the service runs. Restore: start virq on the file (--db). It needs the admin token
 * (like every /v1/admin route); with authentication off it is open on loopback like the rest.
 */
const backup: FastifyPluginAsyncTypebox = async (app) => {
  const { engine } = app

  app.post('/v1/admin/backup', {
    // Authorisation comes from the route, not its URL (see tenancy.ts): the admin token only.
    config: { access: 'admin' },
    schema: {
      operationId: 'backup',
      summary: 'Online backup: the database as a SQLite file, with every change and counter answered so far',
      description: 'Consistent while the service runs. Restore by starting virq on the file (`--db FILE`).',
      tags: ['admin'],
      response: {
        200: { description: 'A SQLite database file', content: { 'application/vnd.sqlite3': { schema: { type: 'string', format: 'binary' } } } },
        ...problemResponses(401, 403)
      }
    }
  }, async (_req, reply) => {
    const dir = await mkdtemp(join(tmpdir(), 'virq-backup-'))
    const file = join(dir, 'virq.db')
    try {
      await engine.backup(file)
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    const stream = createReadStream(file)
    stream.once('close', () => { rm(dir, { recursive: true, force: true }).catch(() => {}) })
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    return reply.type('application/vnd.sqlite3')
      .header('content-disposition', `attachment; filename="virq-backup-${stamp}.db"`)
      .send(stream)
  })
}

export default backup
