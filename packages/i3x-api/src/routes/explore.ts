/** GET /info, the namespaces, the object types and the relationship types. */
import type { FastifyInstance } from 'fastify';
import { bulk, notFound, ok } from '../envelope.js';
import { bodyObject, elementIdsOf, optionalString, queryParam } from '../request.js';
import type { RouteContext } from '../server.js';

export async function exploreRoutes(app: FastifyInstance, context: RouteContext): Promise<void> {
  const { model, limits } = context;

  // The guide's one endpoint without credentials (a health check for clients too).
  app.get('/info', { config: { scope: 'public' } }, async () => ({
    success: true,
    result: {
      specVersion: '1.0',
      serverVersion: context.version,
      serverName: context.serverName,
      capabilities: {
        query: { history: true },
        update: { current: context.updating, history: context.updating },
        subscribe: { stream: context.streaming },
      },
    },
  }));

  app.get('/namespaces', async () => ({ success: true, result: await model.namespaces() }));

  app.get('/objecttypes', async (request) => {
    const namespaceUri = optionalString(queryParam(request.query, 'namespaceUri'), 'namespaceUri');
    return { success: true, result: await model.objectTypes(namespaceUri === undefined ? {} : { namespaceUri }) };
  });

  app.post('/objecttypes/query', async (request) => {
    const elementIds = elementIdsOf(bodyObject(request.body), limits.maxBulkItems);
    const found = new Map((await model.objectTypes({ elementIds })).map((type) => [type.elementId, type]));
    return bulk(
      elementIds.map((id) => {
        const type = found.get(id);
        return type ? ok(id, type) : notFound(id, 'Object type');
      }),
    );
  });

  app.get('/relationshiptypes', async (request) => {
    const namespaceUri = optionalString(queryParam(request.query, 'namespaceUri'), 'namespaceUri');
    return { success: true, result: await model.relationshipTypes(namespaceUri === undefined ? {} : { namespaceUri }) };
  });

  app.post('/relationshiptypes/query', async (request) => {
    const elementIds = elementIdsOf(bodyObject(request.body), limits.maxBulkItems);
    const found = new Map((await model.relationshipTypes({ elementIds })).map((type) => [type.elementId, type]));
    return bulk(
      elementIds.map((id) => {
        const type = found.get(id);
        return type ? ok(id, type) : notFound(id, 'Relationship type');
      }),
    );
  });
}
