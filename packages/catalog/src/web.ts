/**
 * The catalog's web page: one HTML page, one script module, one style sheet (packages/catalog/web) and the
 * graph layout library (@dagrejs/dagre's ES module, served from its package), under /ui/. The page reads
 * the /v1 API and builds its DOM with createElement and textContent only; its Content-Security-Policy
 * allows scripts, styles and requests from the catalog itself, no inline script, no eval, and Trusted
 * Types with no policy, so that no string can ever become markup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

export const pageSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const webDir = fileURLToPath(new URL('../web/', import.meta.url));
const dagreFile = join(
  dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre/package.json')),
  'dist/dagre.esm.js',
);

const files: Record<string, { path: string; type: string }> = {
  '/ui/': { path: join(webDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { path: join(webDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { path: join(webDir, 'app.css'), type: 'text/css; charset=utf-8' },
  '/ui/vendor/dagre.js': { path: dagreFile, type: 'text/javascript; charset=utf-8' },
};

/** Registers the page's routes (encapsulated: its Content-Security-Policy replaces the API's on them only). */
export async function webPage(app: FastifyInstance): Promise<void> {
  const loaded = Object.entries(files).map(([url, file]) => ({ url, type: file.type, body: readFileSync(file.path) }));
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', pageSecurityPolicy);
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    return payload;
  });
  for (const { url, type, body } of loaded) {
    app.get(url, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
  app.get('/', async (_request, reply) => reply.redirect('/ui/'));
}
