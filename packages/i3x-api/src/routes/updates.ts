/**
 * PUT /objects/value and /objects/history (IMPLEMENTATION_GUIDE.md, Update Methods), with the `write` scope:
 * the guide's bulk answer, one item per update in request order, `result: null` for each written.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../envelope.js';
import { bodyObject } from '../request.js';
import type { RouteContext } from '../server.js';
import type { UpdateOperation, UpdateWriter } from '../updates.js';

export interface UpdateContext extends RouteContext {
  updates: UpdateWriter;
}

export async function updateRoutes(app: FastifyInstance, context: UpdateContext): Promise<void> {
  const { updates, limits } = context;

  const handle = async (request: FastifyRequest, operation: UpdateOperation) => {
    const body = bodyObject(request.body);
    const items = body.updates;
    if (items === undefined || items === null) throw badRequest('updates is required (an array of {elementId, value})');
    if (!Array.isArray(items)) throw badRequest('updates must be an array of {elementId, value}');
    if (items.length > limits.maxBulkItems) {
      throw badRequest(
        `updates has ${items.length} items; at most ${limits.maxBulkItems} are taken in one request (MAX_BULK_ITEMS)`,
      );
    }
    const principal = request.principal as NonNullable<FastifyRequest['principal']>;
    const results = await updates.update(principal, operation, items);
    return { success: results.every((item) => item.success), results };
  };

  app.put('/objects/value', { config: { scope: 'write' } }, (request) => handle(request, 'value'));
  app.put('/objects/history', { config: { scope: 'write' } }, (request) => handle(request, 'history'));
}
