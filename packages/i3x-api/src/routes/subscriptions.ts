/**
 * The subscribe methods (IMPLEMENTATION_GUIDE.md, Subscribe Methods), with the `subscribe` scope: create,
 * list, delete, register, unregister, sync and stream. A subscription belongs to the credential that made it
 * and to its clientId: asked for by any other, it does not exist (404).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type BulkItem, badRequest, bulk, notFound, ok } from '../envelope.js';
import { bodyObject, elementIdsOf, maxDepthOf } from '../request.js';
import type { RouteContext } from '../server.js';
import type { SubscriptionStore } from '../subscriptions/store.js';
import type { StreamHub } from '../subscriptions/streams.js';

export interface SubscriptionContext extends RouteContext {
  subscriptions: { store: SubscriptionStore; hub: StreamHub };
}

function text(body: Record<string, unknown>, field: string, maxLength = 1_024): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`${field} is required`);
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`${field} must be a non-empty string`);
  if (value.length > maxLength) throw badRequest(`${field} is longer than ${maxLength} characters`);
  return value;
}

/** A bulk item keyed by subscriptionId (list and delete), as the guide keys them. */
function bySubscription<T>(subscriptionId: string, result: T | undefined) {
  return result === undefined
    ? {
        success: false as const,
        subscriptionId,
        responseDetail: { title: 'Not Found', status: 404, detail: `Subscription not found: ${subscriptionId}` },
      }
    : { success: true as const, subscriptionId, result };
}

const owner = (request: FastifyRequest) => (request.principal as NonNullable<FastifyRequest['principal']>).id;

export async function subscriptionRoutes(app: FastifyInstance, context: SubscriptionContext): Promise<void> {
  const { store, hub } = context.subscriptions;
  const { limits } = context;
  const config = { config: { scope: 'subscribe' as const } };

  app.post('/subscriptions', config, async (request) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const displayName = body.displayName === undefined || body.displayName === null ? undefined : body.displayName;
    if (displayName !== undefined && (typeof displayName !== 'string' || displayName.length > 1_024)) {
      throw badRequest('displayName must be a string of at most 1024 characters');
    }
    return { success: true, result: await store.create(owner(request), clientId, displayName) };
  });

  const subscriptionIdsOf = (body: Record<string, unknown>) =>
    elementIdsOf(body, limits.maxBulkItems, 'subscriptionIds');

  app.post('/subscriptions/list', config, async (request) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const ids = subscriptionIdsOf(body);
    const found = await store.details(owner(request), clientId, ids);
    const results = ids.map((id) => bySubscription(id, found.get(id)));
    return { success: results.every((item) => item.success), results };
  });

  app.post('/subscriptions/delete', config, async (request) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const ids = subscriptionIdsOf(body);
    const deleted = await store.delete(owner(request), clientId, ids);
    const results = ids.map((id) => bySubscription(id, deleted.has(id) ? null : undefined));
    return { success: results.every((item) => item.success), results };
  });

  app.post('/subscriptions/register', config, async (request) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const subscriptionId = text(body, 'subscriptionId');
    const elementIds = elementIdsOf(body, limits.maxBulkItems);
    const maxDepth = maxDepthOf(body);
    const found = await store.register(owner(request), clientId, subscriptionId, elementIds, maxDepth);
    return bulk(elementIds.map((id): BulkItem<null> => (found.has(id) ? ok(id, null) : notFound(id))));
  });

  app.post('/subscriptions/unregister', config, async (request) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const subscriptionId = text(body, 'subscriptionId');
    const elementIds = elementIdsOf(body, limits.maxBulkItems);
    const known = await store.unregister(owner(request), clientId, subscriptionId, elementIds);
    return bulk(elementIds.map((id): BulkItem<null> => (known.has(id) ? ok(id, null) : notFound(id))));
  });

  app.post('/subscriptions/sync', config, async (request, reply) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const subscriptionId = text(body, 'subscriptionId');
    const last = body.lastSequenceNumber;
    if (last !== undefined && last !== null && (typeof last !== 'number' || !Number.isInteger(last))) {
      throw badRequest('lastSequenceNumber must be an integer (the highest sequenceNumber received, or -1)');
    }
    // Omitted, or below -1 (invalid): nothing is acknowledged.
    const acknowledged = typeof last === 'number' && last >= -1 ? last : undefined;
    const { batches, dropped } = await store.sync(owner(request), clientId, subscriptionId, acknowledged);
    if (dropped > 0) {
      return reply.status(206).send({
        success: true,
        result: batches,
        responseDetail: {
          title: 'Updates dropped due to queue overflow',
          status: 206,
          detail: `${dropped} updates were dropped from the subscription queue (the server keeps ${store.limits.maxQueued} updates, MAX_SUBSCRIPTION_QUEUE)`,
        },
      });
    }
    return { success: true, result: batches };
  });

  app.post('/subscriptions/stream', config, async (request, reply) => {
    const body = bodyObject(request.body);
    const clientId = text(body, 'clientId');
    const subscriptionId = text(body, 'subscriptionId');
    const token = await store.openStream(owner(request), clientId, subscriptionId);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies (an nginx Ingress) must pass events on at once.
      'x-accel-buffering': 'no',
    });
    response.write(': stream open\n\n');
    hub.attach(subscriptionId, token, response);
  });
}
