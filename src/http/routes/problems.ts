import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { LOSS_REASONS, PROBLEM_TYPES, type ProblemType } from '../problem-types.ts'
import { HttpProblem } from '../problem.ts'
import { packagePath } from '../../paths.ts'

// A problem's `type` is `/problems/{reason}`: that URI explains it (RFC 9457 3.1.1 asks that a
// type URI, when dereferenced, gives human-readable documentation). HTML for a browser, JSON
// for a client that asks for it. Public: the text is the same for everyone.

const STREAM_MD = readFileSync(packagePath('openapi/stream.md'))

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const page = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · virq</title>` +
  '<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}dt{margin-top:.8em;font-weight:600}</style>' +
  `</head><body>${body}</body></html>`

const facts = (p: ProblemType): string =>
  `HTTP ${p.status}${p.errno !== undefined ? `, errno ${p.errno}` : ''}${p.model !== undefined ? `, docs/model.md section ${p.model}` : ''}`

const wantsJson = (req: FastifyRequest): boolean => (req.headers.accept ?? '').includes('application/json')

function send (reply: FastifyReply, html: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(html)
}

const problems: FastifyPluginAsync = async (app) => {
  const opts = { schema: { hide: true }, config: { access: 'public' as const } }

  app.get('/problems', opts, async (req, reply) => {
    if (wantsJson(req)) return { problems: PROBLEM_TYPES, lossReasons: LOSS_REASONS }
    const items = Object.entries(PROBLEM_TYPES).map(([reason, p]) =>
      `<dt><a href="/problems/${reason}"><code>${reason}</code></a> <small>${escape(facts(p))}</small></dt><dd>${escape(p.text)}</dd>`).join('')
    const losses = Object.entries(LOSS_REASONS).map(([reason, text]) => `<dt><code>${reason}</code></dt><dd>${escape(text)}</dd>`).join('')
    return send(reply, page('Problems', `<h1>Problem reasons</h1><p>Every error is RFC 9457 problem+json whose <code>reason</code> is one of these.</p><dl>${items}</dl>` +
      `<h2>Why interrupts are lost</h2><p>The <code>lostBy</code> counters of a vector, the <code>reason</code> label of <code>virq_interrupts_lost_total</code>.</p><dl>${losses}</dl>`))
  })

  app.get<{ Params: { reason: string } }>('/problems/:reason', opts, async (req, reply) => {
    const { reason } = req.params
    const p = Object.hasOwn(PROBLEM_TYPES, reason) ? PROBLEM_TYPES[reason] : undefined
    if (p === undefined) throw new HttpProblem(404, 'route-not-found', `no problem type ${reason}; see /problems`)
    if (wantsJson(req)) return { reason, ...p }
    return send(reply, page(reason, `<h1><code>${escape(reason)}</code></h1><p>${escape(facts(p))}</p><p>${escape(p.text)}</p><p><a href="/problems">Every problem reason</a></p>`))
  })

  // The WebSocket's message format, which OpenAPI cannot say; the API reference links here.
  app.get('/docs/stream.md', opts, async (_req, reply) => reply.type('text/markdown; charset=utf-8').send(STREAM_MD))
}

export default problems
