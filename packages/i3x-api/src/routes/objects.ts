/** GET /objects, POST /objects/list and /objects/related. */
import type { I3xObject } from '@plantmesh/information-model';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type BulkItem, bulk, I3xError, notFound, ok, Truncation } from '../envelope.js';
import { bodyObject, booleanOf, elementIdsOf, optionalString, queryParam } from '../request.js';
import type { RouteContext } from '../server.js';

/** A 206 with responseDetail when a server limit cut the answer, else 200. */
export function send(reply: FastifyReply, body: Record<string, unknown>, truncation: Truncation) {
  if (!truncation.truncated) return body;
  return reply.status(206).send({ ...body, responseDetail: truncation.detail() });
}

export async function objectRoutes(app: FastifyInstance, context: RouteContext): Promise<void> {
  const { model, limits } = context;

  app.get('/objects', async (request, reply) => {
    const typeElementId = optionalString(queryParam(request.query, 'typeElementId'), 'typeElementId');
    const includeMetadata = booleanOf(queryParam(request.query, 'includeMetadata'), 'includeMetadata');
    const root = booleanOf(queryParam(request.query, 'root'), 'root');
    const truncation = new Truncation();
    const objects = await model.list({ ...(typeElementId === undefined ? {} : { typeElementId }), root }, truncation);
    const result = await model.toI3x(objects, includeMetadata, truncation);
    return send(reply, { success: true, result }, truncation);
  });

  app.post('/objects/list', async (request, reply) => {
    const body = bodyObject(request.body);
    const elementIds = elementIdsOf(body, limits.maxBulkItems);
    const includeMetadata = booleanOf(body.includeMetadata, 'includeMetadata');
    const truncation = new Truncation();
    const found = await model.objects(elementIds);
    const objects = [...found.values()];
    const shapes = new Map(
      (await model.toI3x(objects, includeMetadata, truncation)).map((shape) => [shape.elementId, shape]),
    );
    const results = elementIds.map((id): BulkItem<I3xObject> => {
      const shape = shapes.get(id);
      return shape ? ok(id, shape) : notFound(id);
    });
    return send(reply, bulk(results), truncation);
  });

  app.post('/objects/related', async (request, reply) => {
    const body = bodyObject(request.body);
    const elementIds = elementIdsOf(body, limits.maxBulkItems);
    const includeMetadata = booleanOf(body.includeMetadata, 'includeMetadata');
    const relationshipType = optionalString(body.relationshipType, 'relationshipType');
    if (relationshipType !== undefined && !(await model.relationshipTypeExists(relationshipType))) {
      throw new I3xError(404, `Relationship type not found: ${relationshipType}`);
    }
    const truncation = new Truncation();
    const found = await model.objects(elementIds);
    const edges = await model.edges([...found.values()], relationshipType, truncation);
    const targets = await model.objects([...new Set(edges.map((edge) => edge.target))]);
    const shapes = new Map(
      (await model.toI3x([...targets.values()], includeMetadata, truncation)).map((shape) => [shape.elementId, shape]),
    );
    const results = elementIds.map((id): BulkItem<Array<{ sourceRelationship: string; object: I3xObject }>> => {
      if (!found.has(id)) return notFound(id);
      return ok(
        id,
        edges.flatMap((edge) => {
          const object = shapes.get(edge.target);
          return edge.subject === id && object ? [{ sourceRelationship: edge.type, object }] : [];
        }),
      );
    });
    return send(reply, bulk(results), truncation);
  });
}
