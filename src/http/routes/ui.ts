import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import { packagePath } from '../../paths.ts'

// GET /ui: the dashboard, static files served from memory, public (the page asks for a token itself). uPlot comes from its installed
// package: nothing is fetched from the internet, there is no build step.

// src/ui/ whether virq runs from src/ or dist/ (dist/ holds no static files).
const UI_DIR = packagePath('src/ui/')
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

const FILES: Record<string, { file: string, type: string }> = {
  '/ui': { file: join(UI_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: join(UI_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: join(UI_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/ui/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/vendor/uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' }
}

/** Same-origin only: the page loads nothing from elsewhere and talks only to this server. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

const ui: FastifyPluginAsync = async (app) => {
  for (const [url, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(file)
    app.get(url, { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) => {
      reply.header('content-type', type)
      reply.header('cache-control', 'no-cache')
      reply.header('content-security-policy', CSP)
      reply.header('x-content-type-options', 'nosniff')
      return reply.send(body)
    })
  }
  app.get('/ui/', { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) => reply.redirect('/ui', 301))
  app.get('/', { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) => reply.redirect('/ui', 302))
}

export default ui
