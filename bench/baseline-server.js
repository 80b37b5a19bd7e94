import Fastify from 'fastify'

// The baseline: a bare fastify POST route that parses a JSON body and answers a small JSON
// object, served as virq is (own process, plain node, no loader, no logging), so that the
// ratios are virq's own cost. Plain JavaScript: its start time is fastify's and node's alone.
const app = Fastify({ logger: false })
app.post('/fire', async () => ({ fired: 1, delivered: 1, lost: 0 }))
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
