/** GET /openapi.json (the published document) and GET /docs (the same as a page), both with `read`. */
import type { FastifyInstance } from 'fastify';
import { docsPage, type PublishedDocumentOptions, publishedDocument } from '../openapi.js';

export async function docsRoutes(app: FastifyInstance, options: PublishedDocumentOptions): Promise<void> {
  // Built on first use: by then every route is registered, so the document lists exactly what is served.
  let document: ReturnType<typeof publishedDocument> | undefined;
  let page: string | undefined;
  const current = () => {
    document ??= publishedDocument(options);
    return document;
  };
  app.get('/openapi.json', async () => current());
  app.get('/docs', { config: { browser: true } }, async (_request, reply) => {
    page ??= docsPage(current());
    return reply.type('text/html; charset=utf-8').send(page);
  });
}
