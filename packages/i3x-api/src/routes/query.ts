/** POST /objects/value (last known values) and /objects/history, both through maxDepth. */
import type { FastifyInstance } from 'fastify';
import { type BulkItem, badRequest, bulk, bulkBytes, notFound, ok, Truncation } from '../envelope.js';
import { aggregateOf, bodyObject, elementIdsOf, maxDepthOf } from '../request.js';
import type { RouteContext } from '../server.js';
import { parseTimestamp } from '../time.js';
import { currentItemBytes, type History } from '../values.js';
import { send } from './objects.js';

export async function queryRoutes(app: FastifyInstance, context: RouteContext): Promise<void> {
  const { model, values, limits } = context;

  app.post('/objects/value', async (request, reply) => {
    const body = bodyObject(request.body);
    const elementIds = elementIdsOf(body, limits.maxBulkItems);
    const maxDepth = maxDepthOf(body);
    const truncation = new Truncation();
    const found = await model.objects(elementIds);
    const current = await values.current([...found.values()], maxDepth, truncation);
    const answer = bulkBytes(
      elementIds,
      (id) => {
        const value = current.get(id);
        return value && currentItemBytes(id, value);
      },
      truncation,
    );
    return reply.status(answer.status).type('application/json; charset=utf-8').send(answer.body);
  });

  app.post('/objects/history', async (request, reply) => {
    const body = bodyObject(request.body);
    // The guide makes elementIds optional here (the OpenAPI requires it): none asked, none answered.
    const elementIds = body.elementIds === undefined ? [] : elementIdsOf(body, limits.maxBulkItems);
    const start = parseTimestamp(body.startTime, 'startTime');
    const end = parseTimestamp(body.endTime, 'endTime');
    if (start.ms > end.ms) throw badRequest(`startTime ${start.text} is after endTime ${end.text}`);
    const maxDepth = maxDepthOf(body);
    // This server's addition: a value per interval of each series (docs: README, the published OpenAPI).
    const aggregate = aggregateOf(body);
    if (aggregate && start.ms === end.ms) {
      throw badRequest('an aggregated range is [startTime, endTime): endTime must be after startTime');
    }
    const truncation = new Truncation();
    const found = await model.objects(elementIds);
    const history = await values.history(
      [...found.values()],
      { start: start.text, end: end.text },
      maxDepth,
      truncation,
      aggregate,
    );
    const results = elementIds.map((id): BulkItem<History> => {
      const value = history.get(id);
      return value ? ok(id, value) : notFound(id);
    });
    return send(reply, bulk(results), truncation);
  });
}
