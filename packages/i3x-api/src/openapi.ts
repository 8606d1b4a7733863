/**
 * The OpenAPI document this server publishes at /v1/openapi.json, and the docs page at /v1/docs: CESMII's
 * I3X 1.0 document (openapi/i3x-v1-openapi.json, a copy of standards/i3x kept equal by a test) with this
 * server's additions — aggregated history (`aggregate` on POST /objects/history), how to authenticate (API keys, bearer tokens, Basic for browsers; OpenID Connect when
 * an issuer is configured), the scope each operation needs, the 401/403/413/429 answers, these two paths —
 * and only the operations this server serves.
 */
import { readFileSync } from 'node:fs';
import type { Scope } from './auth/principal.js';

type Json = Record<string, unknown>;
interface Operation extends Json {
  tags?: string[];
  summary?: string;
  description?: string;
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, Json>;
  requestBody?: Json;
  parameters?: Json[];
}
type Document = Json & { info: Json; paths: Record<string, Record<string, Operation>>; components: Json };

const standard = new URL('../openapi/i3x-v1-openapi.json', import.meta.url);

/** The scope of each tag of the I3X document: Info is public, the rest needs the scope of its kind. */
export const scopeOfTag: Record<string, Scope | 'public'> = {
  Info: 'public',
  Explore: 'read',
  Query: 'read',
  Update: 'write',
  Subscribe: 'subscribe',
};

export interface PublishedDocumentOptions {
  version: string;
  serverName: string;
  /** `METHOD /path` (under /v1) of every route the server has. */
  served: ReadonlySet<string>;
  oidc?: { discoveryUrl: string; scopePrefix: string };
  rateLimit?: { max: number; windowMs: number };
}

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
});

export function publishedDocument(options: PublishedDocumentOptions): Document {
  const document = JSON.parse(readFileSync(standard, 'utf8')) as Document;
  const oidc = options.oidc;
  document.info = {
    ...document.info,
    title: `${options.serverName}: I3X API 1.0 (plantmesh)`,
    version: options.version,
    description: [
      String(document.info.description ?? ''),
      '',
      "plantmesh's I3X 1.0 server. Every operation but `GET /info` needs credentials:",
      '`Authorization: Bearer <API key>` or `X-API-Key: <API key>` (keys are made by `plantmesh keys create NAME --scopes read,subscribe`),',
      oidc
        ? "`Authorization: Bearer <JWT>` from the plant's identity provider (scopes in the token, e.g. `" +
          `${oidc.scopePrefix}read\`),`
        : '',
      'or HTTP Basic with the API key as the password (browsers).',
      'Scopes: `read` (explore and query), `write` (updates), `subscribe` (subscriptions).',
      'Answers: 401 without valid credentials, 403 without the scope an operation needs, 413 for a body over the size limit,',
      `429 beyond the rate limit${options.rateLimit?.max ? ` (${options.rateLimit.max} requests per ${options.rateLimit.windowMs / 1000} s per key)` : ''}; always with the I3X failure envelope.`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  };
  const schemes: Json = {
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key of `plantmesh keys create`.' },
    bearer: {
      type: 'http',
      scheme: 'bearer',
      description: `An API key${oidc ? ", or a JWT of the plant's identity provider" : ''}.`,
    },
    basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API key as the password (for browsers).' },
  };
  if (oidc) {
    schemes.oidc = { type: 'openIdConnect', openIdConnectUrl: oidc.discoveryUrl };
  }
  document.components = { ...document.components, securitySchemes: schemes };
  addAggregates(document);
  const requirement = (scope: Scope): Array<Record<string, string[]>> => [
    { apiKey: [scope] },
    { bearer: [scope] },
    { basic: [scope] },
    ...(oidc ? [{ oidc: [`${oidc.scopePrefix}${scope}`] }] : []),
  ];
  document.security = requirement('read');

  const paths: Document['paths'] = {};
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!options.served.has(`${method.toUpperCase()} ${path}`)) continue;
      const scope = scopeOfTag[operation.tags?.[0] ?? ''] ?? 'read';
      if (scope === 'public') {
        operation.security = [];
      } else {
        operation.security = requirement(scope);
        operation.responses = {
          ...operation.responses,
          '401': errorAnswer('Unauthorized: no credentials, or credentials this server does not accept'),
          '403': errorAnswer(`Forbidden: the credentials lack the "${scope}" scope`),
          '429': errorAnswer('Too Many Requests: the rate limit of these credentials is reached; see Retry-After'),
        };
        if (operation.requestBody) {
          operation.responses['413'] = errorAnswer('Content Too Large: the body is over the server limit');
        }
        if (path === '/subscriptions/sync') {
          operation.responses['409'] = errorAnswer('Conflict: the subscription has an open stream; close it first');
        }
        if (path === '/subscriptions/stream') {
          operation.responses['200'] = {
            description:
              "Server-Sent Events: each event's data is a JSON array of updates (elementId, value, quality, timestamp); comments keep the stream alive",
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          };
          operation.responses['404'] = operation.responses['404'] ?? errorAnswer('Subscription not found');
        }
      }
      paths[path] = { ...paths[path], [method]: operation };
    }
  }
  const secured = {
    '401': errorAnswer('Unauthorized'),
    '403': errorAnswer('Forbidden: the credentials lack the "read" scope'),
    '429': errorAnswer('Too Many Requests'),
  };
  paths['/openapi.json'] = {
    get: {
      tags: ['Info'],
      summary: 'This OpenAPI document',
      description: "The I3X 1.0 OpenAPI document with this server's additions (security, limits, these paths).",
      operationId: 'getOpenApiDocument',
      security: requirement('read'),
      responses: {
        '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } },
        ...secured,
      },
    },
  };
  paths['/docs'] = {
    get: {
      tags: ['Info'],
      summary: 'Documentation page',
      description:
        'This document as a page for people. A browser is asked for credentials (Basic: the API key as the password).',
      operationId: 'getDocsPage',
      security: requirement('read'),
      responses: {
        '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
        ...secured,
      },
    },
  };
  document.paths = paths;
  return document;
}

const html = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** The document as one self-contained HTML page: no script, no stylesheet from elsewhere. */
export function docsPage(document: Document): string {
  const schemas = (document.components.schemas ?? {}) as Record<string, unknown>;
  const ref = (value: unknown): string => {
    const target = (value as { $ref?: string } | undefined)?.$ref;
    if (!target) return value === undefined ? '' : `<pre>${html(JSON.stringify(value, null, 2))}</pre>`;
    const name = target.split('/').at(-1) as string;
    return `<a href="#schema-${html(name)}">${html(name)}</a>`;
  };
  const sections = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => {
      const scopes = (op.security ?? [])[0];
      const needs = scopes ? Object.values(scopes)[0]?.join(', ') || 'credentials' : 'no credentials';
      const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
      const responses = Object.entries(op.responses)
        .map(
          ([status, answer]) =>
            `<li><b>${html(status)}</b> ${html(String(answer.description ?? ''))} ${ref(
              Object.values((answer.content ?? {}) as Record<string, { schema?: unknown }>)[0]?.schema,
            )}</li>`,
        )
        .join('');
      const parameters = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${html(String(p.name))}</code> (${html(String(p.in))}) ${html(String(p.description ?? ''))}</li>`,
        )
        .join('');
      return `<section id="${html(op.operationId ?? `${method}-${path}`)}">
<h3><code>${method.toUpperCase()} /v1${html(path)}</code> ${html(op.summary ?? '')}</h3>
<p>${html(op.description ?? '')}</p>
<p>Needs: ${html(needs)}</p>
${parameters ? `<p>Parameters:</p><ul>${parameters}</ul>` : ''}
${body ? `<p>Body: ${ref(body.content?.['application/json']?.schema)}</p>` : ''}
<p>Answers:</p><ul>${responses}</ul>
</section>`;
    }),
  );
  const schemaSections = Object.entries(schemas).map(
    ([name, schema]) =>
      `<details id="schema-${html(name)}"><summary>${html(name)}</summary><pre>${html(JSON.stringify(schema, null, 2))}</pre></details>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(String(document.info.title))}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
section{border-top:1px solid #ccc;padding-top:.5rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto}</style></head>
<body><h1>${html(String(document.info.title))}</h1>
<p>Version ${html(String(document.info.version))}. The machine-readable document: <a href="openapi.json">openapi.json</a>.</p>
<pre>${html(String(document.info.description ?? ''))}</pre>
<h2>Operations</h2>
${sections.join('\n')}
<h2>Schemas</h2>
${schemaSections.join('\n')}
</body></html>
`;
}

/**
 * This server's addition to POST /objects/history: `aggregate: {interval, functions}` gives a value per interval
 * of each sensor series (avg, min, max, first, last, count) instead of every sample. Marked `x-plantmesh` so
 * that clients can tell it from the standard.
 */
function addAggregates(document: Document): void {
  const schemas = (document.components.schemas ?? {}) as Record<string, Json>;
  schemas.HistoryAggregate = {
    type: 'object',
    title: 'HistoryAggregate',
    'x-plantmesh': 'addition to I3X 1.0',
    description: [
      "plantmesh's addition to I3X 1.0: aggregate each sensor series' history per interval instead of returning every sample.",
      "The range is then [startTime, endTime): buckets tile it, aligned on 2000-01-03T00:00:00Z (TimescaleDB's origin), in UTC;",
      'the first and last bucket hold only what is in the range. Each bucket is a VQT at its start whose value is an object',
      'with the functions asked ({"avg": 1.5, "count": 60}); quality Good, or Bad (value null) when its samples carry no value.',
      'The aggregates are over every stored value, whatever its quality; buckets without samples are left out.',
      'Elements that are not sensor series have no aggregate (one GoodNoData value at startTime).',
      'Computed by the stable SQL interface (api.samples_bucketed), from the minute and hour rollups where the interval and the range fall on them.',
    ].join(' '),
    properties: {
      interval: {
        type: 'string',
        description:
          'Bucket width: an ISO 8601 duration of weeks, days, hours, minutes or seconds (PT1M, PT15S, PT1H, P1D), 1 ms to 100 years.',
        examples: ['PT1M'],
      },
      functions: {
        type: 'array',
        items: { type: 'string', enum: ['avg', 'min', 'max', 'first', 'last', 'count'] },
        minItems: 1,
        description: 'The aggregates in each bucket value; all six when left out.',
      },
    },
    required: ['interval'],
  };
  const request = schemas.GetObjectHistoryRequest as { properties?: Record<string, Json> } | undefined;
  if (request?.properties) {
    request.properties.aggregate = {
      $ref: '#/components/schemas/HistoryAggregate',
      description: "plantmesh's addition: a value per interval of each series (see HistoryAggregate).",
    };
  }
  const history = document.paths['/objects/history']?.post;
  if (history) {
    history.description = `${history.description ?? ''}\n\nplantmesh addition: \`aggregate: {"interval": "PT1M", "functions": ["avg", "max"]}\` answers a value per interval of each sensor series (HistoryAggregate).`;
  }
}
