import { buildApp } from './app.ts'
import { ConfigError, readConfig } from './config.ts'

// Reads the configuration, serves, and shuts down gracefully on SIGTERM/SIGINT.

async function main (): Promise<void> {
  let config
  try {
    config = readConfig(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      console.error(`virq: ${(err as Error).message}`)
      process.exit(2)
    }
    throw err
  }
  const app = await buildApp({
    db: config.db,
    hostVectors: config.hostVectors,
    sync: config.sync,
    flushMs: config.flushMs,
    adminToken: config.adminToken,
    maxDevices: config.maxDevices,
    maxEventfds: config.maxEventfds,
    maxTableEntries: config.maxTableEntries,
    traceRetention: config.traceRetention,
    vfioUserDir: config.vfioUserDir,
    bodyLimit: config.bodyLimit,
    maxStreams: config.maxStreams,
    logger: { level: config.logLevel }
  })

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), (err) => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  // One listening line, ours, below: fastify would log its own as well at info.
  const level = app.log.level
  app.log.level = 'warn'
  try {
    await app.listen({ host: config.host, port: config.port })
  } finally {
    app.log.level = level
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  console.log(`virq listening on http://${host}:${port}`)
}

main().catch((err) => {
  console.error('virq: failed to start:', err instanceof Error ? err.message : err)
  process.exit(1)
})
