/**
 * What every API test checks of an answer: its schema in CESMII's I3X 1.0 OpenAPI document (ajv, 2020-12), the
 * guide's envelopes (failure, 206, bulk success), and the guide's VQT rules (quality, nulls, UTC timestamps).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export const openApi = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../standards/i3x/i3x-v1-openapi.json', import.meta.url)), 'utf8'),
) as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
  >;
  components: object;
};

export const UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/**
 * Where the document's schema says nothing (`{}`: PUT /objects/history's 200), the shape the guide gives it: "a
 * bulk response with a result per elementId".
 */
const unsaid: Record<string, string> = { 'PUT /objects/history 200': 'BulkResponse_NoneType_' };

/** The OpenAPI schema of an operation's answer with that status (or its default), compiled once. */
export class OpenApiCheck {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: 'https://plantmesh.dev/test/i3x.json', components: openApi.components });
  }

  validator(method: string, path: string, status: number): ValidateFunction {
    const operation = openApi.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`no operation ${method} ${path} in the OpenAPI document`);
    const response =
      operation.responses[String(status)]?.content?.['application/json']?.schema ??
      (status === 206 ? operation.responses['200']?.content?.['application/json']?.schema : undefined) ??
      (status >= 400 ? operation.responses.default?.content?.['application/json']?.schema : undefined);
    if (!response) throw new Error(`no schema for ${status} of ${method} ${path}`);
    const named = unsaid[`${method.toUpperCase()} ${path} ${status}`];
    const pointer = named ? `#/components/schemas/${named}` : (response as { $ref?: string }).$ref;
    if (!pointer) throw new Error(`the schema for ${status} of ${method} ${path} is not a reference`);
    const ref = pointer.replace('#/', 'https://plantmesh.dev/test/i3x.json#/');
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate;
  }
}

export type Method = 'GET' | 'POST' | 'PUT';
// biome-ignore lint/suspicious/noExplicitAny: answers are checked against the OpenAPI, then read freely
export type Answer = { status: number; body: any };

/**
 * A request as a client sends it (with the key `key()` gives, to `app()` unless another target is given); the
 * answer checked against the OpenAPI and the envelope rules.
 */
export function caller(app: () => FastifyInstance, key: () => string, check = new OpenApiCheck()) {
  return async function call(
    method: Method,
    path: string,
    body?: unknown,
    target: FastifyInstance = app(),
    credential: string = key(),
  ): Promise<Answer> {
    const response = await target.inject({
      method,
      url: `/v1${path}`,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${credential}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const parsed = response.json();
    const template = path.split('?')[0] as string;
    if (openApi.paths[template]) {
      const validate = check.validator(method, template, response.statusCode);
      expect(validate(parsed), `${method} ${path} ${response.statusCode}: ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
    if (response.statusCode >= 400) {
      expect(parsed).toEqual({
        success: false,
        responseDetail: { title: expect.any(String), status: response.statusCode, detail: expect.any(String) },
      });
    } else if (response.statusCode === 206) {
      expect(parsed.responseDetail).toMatchObject({
        status: 206,
        title: expect.any(String),
        detail: expect.any(String),
      });
    }
    if (Array.isArray(parsed.results)) {
      expect(parsed.success).toBe(parsed.results.every((item: { success: boolean }) => item.success));
    }
    return { status: response.statusCode, body: parsed };
  };
}

/** Every VQT in an answer follows the guide's quality, null and timestamp rules. */
export function expectVqtRules(vqt: {
  value: unknown;
  quality: string;
  timestamp: string;
  // biome-ignore lint/suspicious/noExplicitAny: nested VQTs
  components?: Record<string, any>;
}) {
  expect(['Good', 'GoodNoData', 'Bad', 'Uncertain']).toContain(vqt.quality);
  expect(vqt.timestamp).toMatch(UTC);
  if (vqt.value === null) expect(['Bad', 'GoodNoData']).toContain(vqt.quality);
  if (vqt.quality === 'GoodNoData' || vqt.quality === 'Bad') expect(vqt.value).toBeNull();
  for (const component of Object.values(vqt.components ?? {})) expectVqtRules(component);
}
