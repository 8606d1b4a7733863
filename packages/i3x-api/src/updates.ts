/**
 * Updates (PUT /objects/value and /objects/history; docs/adr/0018-i3x-updates-and-audit.md): each item checked
 * on its own (the element exists and is writable, its VQT follows the guide's quality and null rules, its
 * value conforms to the element's type schema), then every valid item written in one transaction through
 * metrics.write_samples (the same tables and the same last-known-value rule as the values that come in over
 * MQTT) with a row of the audit trail each (i3x.update_audit), then handed to the subscriptions that watch
 * the series as live values are, and published on the live stream for the other replicas and live readers.
 */
import { appendTo, type Logger } from '@plantmesh/core';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type pg from 'pg';
import type { Principal } from './auth/principal.js';
import { I3xError, type ResponseDetail, titles } from './envelope.js';
import type { LastValues } from './last-values.js';
import type { ModelReader, ResolvedObject } from './model.js';
import type { StreamHub } from './subscriptions/streams.js';
import { parseTimestamp, utcSql } from './time.js';
import { type Quality, sampleVqt } from './values.js';

export type UpdateOperation = 'value' | 'history';

/** A bulk item of an update: `result: null` when written; elementId null when the item has none to key it by. */
export type UpdateItem =
  | { success: true; elementId: string; result: null }
  | { success: false; elementId: string | null; responseDetail: ResponseDetail };

/** An item that passed every check: what metrics.write_samples takes. */
interface Write {
  index: number;
  elementId: string;
  seriesId: number;
  ts: string;
  value: number | null;
  quality: Quality;
}

export interface UpdateLimits {
  maxBulkItems: number;
  /** How far ahead of the server's clock a timestamp may be (a later one would shadow real values). */
  maxFutureMs: number;
}

const qualityCodes: Record<Quality, number> = { Good: 0, Uncertain: 1, Bad: 2, GoodNoData: 0 };
const qualities = Object.keys(qualityCodes) as Quality[];

const itemError = (elementId: string | null, status: number, detail: string): UpdateItem => ({
  success: false,
  elementId,
  responseDetail: { title: titles[status] ?? 'Error', status, detail },
});

/** A JSON pointer of ajv's as a path under the item: /a/0/b -> .a[0].b */
function pathOf(base: string, pointer: string): string {
  return (
    base +
    pointer
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((part) =>
        /^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`,
      )
      .join('')
  );
}

/** The object types' JSON Schemas, compiled once per schema text. */
class TypeValidators {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  private readonly compiled = new Map<string, { text: string; validate: ValidateFunction | Error }>();

  constructor(private readonly model: ModelReader) {
    addFormats.default(this.ajv);
  }

  async forTypes(typeIds: readonly string[]): Promise<Map<string, ValidateFunction | Error>> {
    const result = new Map<string, ValidateFunction | Error>();
    if (typeIds.length === 0) return result;
    for (const type of await this.model.objectTypes({ elementIds: typeIds })) {
      const text = JSON.stringify(type.schema);
      let entry = this.compiled.get(type.elementId);
      if (!entry || entry.text !== text) {
        let validate: ValidateFunction | Error;
        try {
          // A copy without $id: two types may carry the same one, and ajv keeps ids once.
          const { $id: _id, ...schema } = type.schema as Record<string, unknown>;
          validate = this.ajv.compile(schema);
        } catch (error) {
          validate = error as Error;
        }
        entry = { text, validate };
        this.compiled.set(type.elementId, entry);
      }
      result.set(type.elementId, entry.validate);
    }
    return result;
  }
}

export interface UpdateWriterOptions {
  model: ModelReader;
  metrics: pg.Pool;
  /** The i3x store (the audit trail); the same pool as metrics when they share a database. */
  i3x: pg.Pool;
  log: Logger;
  limits: UpdateLimits;
  /** Subscriptions, when served: written values reach them as live values do. */
  subscriptions?: Pick<StreamHub, 'written'>;
  /** The last values held in memory: the written series' go before the answer (a client reads its write). */
  lastValues?: Pick<LastValues, 'remove'>;
}

export class UpdateWriter {
  private readonly validators: TypeValidators;

  constructor(private readonly options: UpdateWriterOptions) {
    this.validators = new TypeValidators(options.model);
  }

  /** Checks and writes the items of a request's `updates`, answering one bulk item each, in request order. */
  async update(principal: Principal, operation: UpdateOperation, items: readonly unknown[]): Promise<UpdateItem[]> {
    const results: Array<UpdateItem | undefined> = new Array(items.length);
    const candidates: Array<{ index: number; elementId: string; vqt: Record<string, unknown> }> = [];
    items.forEach((item, index) => {
      const at = `updates[${index}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        results[index] = itemError(null, 400, `${at} must be an object {elementId, value}`);
        return;
      }
      const { elementId, value } = item as Record<string, unknown>;
      if (typeof elementId !== 'string' || elementId === '') {
        results[index] = itemError(null, 400, `${at}.elementId is required (a non-empty string)`);
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        results[index] = itemError(elementId, 400, `${at}.value must be a VQT object {value, quality, timestamp}`);
        return;
      }
      candidates.push({ index, elementId, vqt: value as Record<string, unknown> });
    });

    const objects = await this.options.model.objects([...new Set(candidates.map((c) => c.elementId))]);
    const writable = candidates.filter(({ index, elementId }) => {
      const object = objects.get(elementId);
      if (!object) {
        results[index] = itemError(elementId, 404, `Element not found: ${elementId}`);
        return false;
      }
      const refusal = readOnly(object);
      if (refusal) results[index] = itemError(elementId, 403, refusal);
      return !refusal;
    });
    const validators = await this.validators.forTypes([
      ...new Set(writable.map(({ elementId }) => (objects.get(elementId) as ResolvedObject).typeElementId)),
    ]);
    const writes: Write[] = [];
    const now = Date.now();
    for (const { index, elementId, vqt } of writable) {
      const object = objects.get(elementId) as ResolvedObject;
      const checked = this.check(operation, index, vqt, validators.get(object.typeElementId), now);
      if (typeof checked === 'string') {
        results[index] = itemError(elementId, 400, checked);
        continue;
      }
      writes.push({
        index,
        elementId,
        seriesId: (object.value as { seriesId: number }).seriesId,
        ...checked,
      });
    }
    if (writes.length > 0) await this.write(principal, operation, writes);
    for (const write of writes) results[write.index] = { success: true, elementId: write.elementId, result: null };
    return results as UpdateItem[];
  }

  /** An item's VQT: the guide's defaults, quality and null rules, the timestamp, the type's schema. */
  private check(
    operation: UpdateOperation,
    index: number,
    vqt: Record<string, unknown>,
    validate: ValidateFunction | Error | undefined,
    now: number,
  ): string | { ts: string; value: number | null; quality: Quality } {
    const at = `updates[${index}].value`;
    if (!Object.hasOwn(vqt, 'value')) return `${at}.value is required (null only with quality Bad or GoodNoData)`;
    // History records need their quality and timestamp; a current value defaults them (Good, now).
    let quality: Quality = 'Good';
    if (vqt.quality === undefined || vqt.quality === null) {
      if (operation === 'history') return `${at}.quality is required: one of ${qualities.join(', ')}`;
    } else if (typeof vqt.quality !== 'string' || !qualities.includes(vqt.quality as Quality)) {
      return `${at}.quality must be one of ${qualities.join(', ')}, got ${JSON.stringify(vqt.quality).slice(0, 60)}`;
    } else {
      quality = vqt.quality as Quality;
    }
    let ts = new Date(now).toISOString();
    if (vqt.timestamp === undefined || vqt.timestamp === null) {
      if (operation === 'history') return `${at}.timestamp is required: the RFC 3339 time of the record to write`;
    } else {
      try {
        const parsed = parseTimestamp(vqt.timestamp, `${at}.timestamp`);
        if (parsed.ms > now + this.options.limits.maxFutureMs) {
          return `${at}.timestamp ${parsed.text} is in the future (more than ${this.options.limits.maxFutureMs / 1000} s ahead of the server's clock)`;
        }
        ts = parsed.text;
      } catch (error) {
        if (error instanceof I3xError) return error.message;
        throw error;
      }
    }
    const value = vqt.value;
    if (value === null) {
      if (quality !== 'Bad' && quality !== 'GoodNoData') {
        return `${at}.value is null, which only quality Bad or GoodNoData may carry (quality ${quality} carries a value)`;
      }
      return { ts, value: null, quality };
    }
    if (quality === 'Bad' || quality === 'GoodNoData') {
      return `${at}.value must be null with quality ${quality} (it carries no value)`;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return `${at}.value must be a finite number`;
    if (validate instanceof Error || validate === undefined) {
      return `${at}.value cannot be checked: the element's type schema does not compile (${validate?.message ?? 'no type'})`;
    }
    if (!validate(value)) {
      return (validate.errors ?? [])
        .slice(0, 5)
        .map((error) => `${pathOf(`${at}.value`, error.instancePath)}: ${error.message ?? 'is not valid'}`)
        .join('; ');
    }
    // The type says what the value is; the series store holds numbers (every writable type is one).
    if (typeof value !== 'number') return `${at}.value must be a number: the series stores numbers`;
    return { ts, value, quality };
  }

  /** One transaction (two when the stores are apart: the audit's commits first, so no change goes unrecorded). */
  private async write(principal: Principal, operation: UpdateOperation, writes: Write[]): Promise<void> {
    const { metrics, i3x, log } = this.options;
    const shared = metrics === i3x;
    const metricsClient = await metrics.connect();
    const i3xClient = shared ? metricsClient : await i3x.connect();
    let paths = new Map<number, string>();
    try {
      await metricsClient.query('begin');
      if (!shared) await i3xClient.query('begin');
      const { rows } = await metricsClient.query<{
        ord: number;
        replaced_value: number | null;
        replaced_quality: number | null;
        had_record: boolean;
        latest_ts: string | null;
        latest_value: number | null;
        latest_quality: number | null;
        became_latest: boolean;
      }>(
        `select ord, replaced_value, replaced_quality, had_record, ${utcSql('latest_ts')} as latest_ts, latest_value,
                latest_quality, became_latest
           from metrics.write_samples($1::jsonb) order by ord`,
        [
          JSON.stringify(
            writes.map((write) => ({
              series_id: write.seriesId,
              ts: write.ts,
              value: write.value,
              quality: qualityCodes[write.quality],
            })),
          ),
        ],
      );
      const { rows: series } = await metricsClient.query<{ id: number; path: string }>(
        'select id, path from metrics.series where id = any($1::int[])',
        [[...new Set(writes.map((write) => write.seriesId))]],
      );
      paths = new Map(series.map((row) => [row.id, row.path]));
      const audit = writes.map((write, i) => {
        const row = rows[i] as (typeof rows)[number];
        // The value before as a reader saw it: the last known value, or the record replaced (timestamp added below).
        const old =
          operation === 'value'
            ? row.latest_ts === null
              ? null
              : sampleVqt(row.latest_value, row.latest_quality ?? 0, row.latest_ts)
            : row.had_record
              ? sampleVqt(row.replaced_value, row.replaced_quality ?? 0, '')
              : null;
        return {
          element_id: write.elementId,
          record_ts: write.ts,
          old_value: old,
          value: write.value,
          quality: write.quality,
          became_current: row.became_latest,
        };
      });
      await i3xClient.query(
        `insert into i3x.update_audit (principal_kind, principal_id, principal_name, operation, element_id, record_ts,
                                       old_value, new_value, became_current)
         select $2, $3, $4, $5, x.element_id, x.record_ts,
                case when x.old_value is null then null
                     else x.old_value || jsonb_build_object('timestamp', coalesce(nullif(x.old_value ->> 'timestamp', ''), ${utcSql('x.record_ts')})) end,
                jsonb_build_object('value', x.value, 'quality', x.quality, 'timestamp', ${utcSql('x.record_ts')}),
                x.became_current
           from jsonb_to_recordset($1::jsonb) as x(element_id text, record_ts timestamptz, old_value jsonb, value jsonb,
                                                   quality text, became_current boolean)`,
        [JSON.stringify(audit), principal.kind, principal.id, principal.name, operation],
      );
      if (!shared) await i3xClient.query('commit');
      await metricsClient.query('commit');
    } catch (error) {
      await metricsClient.query('rollback').catch(() => {});
      if (!shared) {
        await i3xClient.query('rollback').catch(() => {});
        log.error({ err: error }, 'update not written (with separate stores, its audit rows may have been committed)');
      }
      throw error;
    } finally {
      metricsClient.release();
      if (!shared) i3xClient.release();
    }
    this.options.lastValues?.remove(paths.values());
    // Subscriptions see written values as they see live ones (once, under their marks).
    const hub = this.options.subscriptions;
    if (hub) {
      const byPath = new Map<string, Array<[number, number | null, number]>>();
      for (const write of writes) {
        const path = paths.get(write.seriesId);
        if (path === undefined) continue;
        appendTo(byPath, path, [[Date.parse(write.ts), write.value, qualityCodes[write.quality]]]);
      }
      await hub
        .written([...byPath].map(([path, samples]) => ({ path, unit: null, samples })))
        .catch((error) => log.warn({ err: error }, 'written values not delivered to subscriptions'));
    }
  }
}

/** Why an element cannot be written, or undefined when it can (a sensor series). */
function readOnly(object: ResolvedObject): string | undefined {
  switch (object.value.kind) {
    case 'series':
      return undefined;
    case 'row':
    case 'stored-row':
      return `Element ${object.elementId} is read-only: a curated row is derived from raw events by the curated ETL; correct it at its source (a corrected event on its raw topic), not here`;
    default:
      return `Element ${object.elementId} is read-only: it has no value of its own to write (only sensor series are writable)`;
  }
}
