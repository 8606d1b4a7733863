/**
 * Values in the guide's VQT form: last known values (metrics.latest for series objects, the row for curated
 * objects, none otherwise) and history (metrics.samples), composed along HasComponent through maxDepth.
 * Quality and nulls as the guide rules: Good and Uncertain always carry a value, a null value is Bad or
 * GoodNoData, quality and timestamp are never null, timestamps are UTC with Z.
 */
import { curatedRowId } from '@plantmesh/information-model';
import type pg from 'pg';
import { okItemBytes, type Truncation } from './envelope.js';
import type { CachedSeries, LastValues } from './last-values.js';
import type { ModelReader, ResolvedObject } from './model.js';
import { readRows, rowRefs } from './products.js';
import { utcDigitsSql, utcFromDigits, utcNow } from './time.js';

export type Quality = 'Good' | 'GoodNoData' | 'Bad' | 'Uncertain';

export interface Vqt {
  value: unknown;
  quality: Quality;
  timestamp: string;
  components?: Record<string, Vqt>;
}

/** An element's last known value: its VQT (held ones shared between answers, never changed) and its kind. */
export interface CurrentValue {
  isComposition: boolean;
  vqt: Vqt;
}

/**
 * A found element's last value as its bulk item's UTF-8 JSON (`{success, elementId, result}`), kept per VQT: a
 * held value (ADR 0023) is shared by every answer until the live stream takes it away, so it is serialized
 * and encoded once.
 */
const itemBytes = new WeakMap<Vqt, { elementId: string; isComposition: boolean; bytes: Buffer }>();

export function currentItemBytes(elementId: string, current: CurrentValue): Buffer {
  const kept = itemBytes.get(current.vqt);
  if (kept && kept.elementId === elementId && kept.isComposition === current.isComposition) return kept.bytes;
  const members = JSON.stringify(current.vqt).slice(1, -1);
  const bytes = okItemBytes(elementId, `{"isComposition":${current.isComposition},${members}}`);
  itemBytes.set(current.vqt, { elementId, isComposition: current.isComposition, bytes });
  return bytes;
}

export interface History {
  isComposition: boolean;
  values: Vqt[];
  components?: Record<string, Omit<History, 'isComposition'> & { isComposition: boolean }>;
}

/** The aggregates of history per interval (this server's addition to POST /objects/history). */
export const aggregateFunctions = ['avg', 'min', 'max', 'first', 'last', 'count'] as const;
export type AggregateFunction = (typeof aggregateFunctions)[number];

export interface Aggregate {
  /** The bucket width in seconds (an ISO 8601 duration on input). */
  seconds: number;
  functions: AggregateFunction[];
}

/** Where buckets start: TimescaleDB's time_bucket origin, as metrics.bucket has it. */
const BUCKET_ORIGIN = Date.parse('2000-01-03T00:00:00Z');

export interface ValueLimits {
  maxCompositionDepth: number;
  maxComponents: number;
  maxHistoryValues: number;
}

/** A stored sample or last value as a VQT: quality 0 good, 1 uncertain, 2 bad; a missing or non-finite value is not Good. */
export function sampleVqt(value: number | null, quality: number, timestamp: string): Vqt {
  if (value === null || !Number.isFinite(value)) {
    return { value: null, quality: quality === 0 ? 'GoodNoData' : 'Bad', timestamp };
  }
  if (quality === 2) return { value: null, quality: 'Bad', timestamp };
  return { value, quality: quality === 1 ? 'Uncertain' : 'Good', timestamp };
}

export class ValueReader {
  constructor(
    private readonly model: ModelReader,
    private readonly curated: pg.Pool,
    private readonly metrics: pg.Pool,
    private readonly limits: ValueLimits,
    /** Last values held in memory (ADR 0023); without it every read goes to metrics.latest. */
    private readonly lastValues?: LastValues,
  ) {}

  /**
   * The objects' trees of components down to maxDepth (0 = the server's limit), level by level: every object
   * once (the roots first), and each composition's components. Most answers are series without components:
   * then the roots are the whole tree.
   */
  async tree(
    roots: ResolvedObject[],
    maxDepth: number,
    truncation: Truncation,
  ): Promise<{ objects: ResolvedObject[]; components: Map<string, ResolvedObject[]> }> {
    const components = new Map<string, ResolvedObject[]>();
    let frontier = roots.filter((object) => object.isComposition).map((object) => object.elementId);
    if (frontier.length === 0) return { objects: roots, components };
    const objects = new Map(roots.map((object) => [object.elementId, object]));
    const children = new Map<string, string[]>();
    const levels =
      maxDepth === 0 ? this.limits.maxCompositionDepth : Math.min(maxDepth - 1, this.limits.maxCompositionDepth);
    let count = 0;
    for (let level = 0; frontier.length > 0; level += 1) {
      if (level >= levels) {
        // Asked deeper than the server goes (maxDepth 0, or above the limit): say so.
        if (maxDepth === 0 || maxDepth - 1 > this.limits.maxCompositionDepth) {
          truncation.add(
            `compositions are followed at most ${this.limits.maxCompositionDepth} levels deep (MAX_COMPOSITION_DEPTH)`,
          );
        }
        break;
      }
      const found = await this.model.components(frontier);
      const next: string[] = [];
      const wanted = new Set<string>();
      for (const [subject, ids] of found) {
        const fresh = ids.filter((id) => !objects.has(id) && !wanted.has(id));
        if (count + fresh.length > this.limits.maxComponents) {
          truncation.add(`at most ${this.limits.maxComponents} component values per answer (MAX_COMPONENTS)`);
          const room = Math.max(0, this.limits.maxComponents - count);
          fresh.splice(room);
        }
        count += fresh.length;
        for (const id of fresh) wanted.add(id);
        // A component shared by two parents is listed under both (a cycle is cut when the tree is built).
        children.set(
          subject,
          ids.filter((id) => objects.has(id) || wanted.has(id)),
        );
      }
      const resolved = await this.model.objects([...wanted]);
      for (const [id, object] of resolved) {
        objects.set(id, object);
        if (object.isComposition) next.push(id);
      }
      frontier = next;
    }
    // Each composition's components as objects (one not found is left out).
    for (const [subject, ids] of children) {
      components.set(
        subject,
        ids.flatMap((id) => objects.get(id) ?? []),
      );
    }
    return { objects: [...objects.values()], components };
  }

  /** Last known values of the objects, with components through maxDepth. */
  async current(roots: ResolvedObject[], maxDepth: number, truncation: Truncation): Promise<Map<string, CurrentValue>> {
    const { objects, components } = await this.tree(roots, maxDepth, truncation);
    const own = await this.ownValues(objects);
    // A leaf's own VQT as it is (most answers are series without components); `seen`, the path down, cuts cycles.
    const build = (id: string, seen: readonly string[]): Vqt => {
      const vqt = own.get(id) as Vqt;
      const kids = components.get(id);
      if (!kids || kids.length === 0) return vqt;
      const values: Record<string, Vqt> = {};
      for (const kid of kids) {
        if (!seen.includes(kid.elementId)) values[kid.elementId] = build(kid.elementId, [...seen, kid.elementId]);
      }
      return { ...vqt, components: values };
    };
    const result = new Map<string, CurrentValue>();
    for (const root of roots) {
      result.set(root.elementId, { isComposition: root.isComposition, vqt: build(root.elementId, [root.elementId]) });
    }
    return result;
  }

  /** Each object's own VQT. */
  private async ownValues(objects: readonly ResolvedObject[]): Promise<Map<string, Vqt>> {
    const series: Array<{ seriesId: number; path?: string }> = [];
    // Curated objects stored in the model: their rows, by ElementId.
    const storedRows = new Map<string, string>();
    for (const object of objects) {
      const { value } = object;
      if (value.kind === 'series') series.push(value);
      else if (value.kind === 'stored-row') {
        storedRows.set(object.elementId, curatedRowId(value.product, value.key.map(String)));
      }
    }
    const latest = await this.latestValues(series);
    const rows =
      storedRows.size > 0
        ? await readRows(this.curated, rowRefs([...storedRows.values()], await this.model.products.all()).values())
        : undefined;
    let noData: Vqt | undefined;
    const none = () => {
      noData ??= { value: null, quality: 'GoodNoData', timestamp: utcNow() };
      return noData;
    };
    const result = new Map<string, Vqt>();
    for (const object of objects) {
      const { value } = object;
      switch (value.kind) {
        case 'series':
          result.set(object.elementId, latest.get(value.seriesId) ?? none());
          break;
        case 'row':
          result.set(object.elementId, { value: value.row.value, quality: 'Good', timestamp: value.row.timestamp });
          break;
        case 'stored-row': {
          const row = rows?.get(storedRows.get(object.elementId) as string);
          result.set(object.elementId, row ? { value: row.value, quality: 'Good', timestamp: row.timestamp } : none());
          break;
        }
        default:
          result.set(object.elementId, none());
      }
    }
    return result;
  }

  /**
   * The last values of the series: those held in memory (ADR 0023), the others from metrics.latest (and then
   * held).
   */
  private async latestValues(series: ReadonlyArray<{ seriesId: number; path?: string }>): Promise<Map<number, Vqt>> {
    const cache = this.lastValues;
    const read = (seriesIds: number[]) => this.readLatest(seriesIds);
    if (!cache) return series.length > 0 ? read(series.map((one) => one.seriesId)) : new Map();
    const held = series.filter((one): one is CachedSeries => one.path !== undefined);
    const found = held.length > 0 ? await cache.values(held, read) : new Map<number, Vqt>();
    if (held.length < series.length) {
      const others = series.filter((one) => one.path === undefined).map((one) => one.seriesId);
      for (const [seriesId, vqt] of await read(others)) found.set(seriesId, vqt);
    }
    return found;
  }

  /** The last values of these series in metrics.latest. */
  private async readLatest(seriesIds: number[]): Promise<Map<number, Vqt>> {
    const { rows } = await this.metrics.query<{ series_id: number; value: number | null; quality: number; ts: string }>(
      {
        // Named, so each connection parses and plans it once: most of a last-value request's cost otherwise.
        name: 'i3x-latest-values',
        text: `select series_id, value, quality, ${utcDigitsSql('ts')} as ts from metrics.latest where series_id = any($1::int[])`,
        values: [seriesIds],
      },
    );
    return new Map(rows.map((row) => [row.series_id, sampleVqt(row.value, row.quality, utcFromDigits(row.ts))]));
  }

  /**
   * History of the objects in [start, end], time order, with components through maxDepth; or, with an
   * aggregate, a value per bucket of the series in [start, end) (api.samples_bucketed).
   */
  async history(
    roots: ResolvedObject[],
    range: { start: string; end: string },
    maxDepth: number,
    truncation: Truncation,
    aggregate?: Aggregate,
  ): Promise<Map<string, History>> {
    const { objects, components } = await this.tree(roots, maxDepth, truncation);
    const own = new Map<string, Vqt[]>();
    const startUtc = new Date(Date.parse(range.start)).toISOString().replace(/\.000Z$/, 'Z');
    for (const object of objects) {
      let values: Vqt[] = [];
      if (aggregate) {
        if (object.value.kind === 'series') {
          values = await this.buckets(object.value.seriesId, range, aggregate, truncation);
        }
      } else if (object.value.kind === 'series') {
        const { rows } = await this.metrics.query<{ value: number | null; quality: number; ts: string }>(
          `select value, quality, ${utcDigitsSql('ts')} as ts from metrics.samples
           where series_id = $1 and ts >= $2::timestamptz and ts <= $3::timestamptz
           order by ts limit $4`,
          [object.value.seriesId, range.start, range.end, this.limits.maxHistoryValues + 1],
        );
        if (rows.length > this.limits.maxHistoryValues) {
          truncation.add(
            `at most ${this.limits.maxHistoryValues} history values per element (MAX_HISTORY_VALUES): the earliest are returned`,
          );
          rows.length = this.limits.maxHistoryValues;
        }
        values = rows.map((row) => sampleVqt(row.value, row.quality, utcFromDigits(row.ts)));
      } else if (object.value.kind === 'row') {
        const row = object.value.row;
        const at = Date.parse(row.timestamp);
        if (at >= Date.parse(range.start) && at <= Date.parse(range.end)) {
          values = [{ value: row.value, quality: 'Good', timestamp: row.timestamp }];
        }
      }
      // No data point in the range: one GoodNoData value, as the guide's quality table says.
      own.set(
        object.elementId,
        values.length > 0 ? values : [{ value: null, quality: 'GoodNoData', timestamp: startUtc }],
      );
    }
    // `seen`, the path down, cuts cycles.
    const build = (object: ResolvedObject, seen: readonly string[]): History => {
      const result: History = { isComposition: object.isComposition, values: own.get(object.elementId) ?? [] };
      const kids = components.get(object.elementId);
      if (kids && kids.length > 0) {
        result.components = {};
        for (const kid of kids) {
          if (!seen.includes(kid.elementId)) result.components[kid.elementId] = build(kid, [...seen, kid.elementId]);
        }
      }
      return result;
    };
    return new Map(roots.map((root) => [root.elementId, build(root, [root.elementId])]));
  }

  /**
   * A series' aggregates per bucket, through the stable SQL interface (api.samples_bucketed: the rollups where
   * the interval and the range fall on theirs, the samples otherwise). Each bucket is a VQT at its start
   * (buckets are aligned on 2000-01-03T00:00Z, TimescaleDB's origin; the first and last hold only what is in
   * the range) whose value has the functions asked; a bucket whose samples carry no value is Bad.
   */
  private async buckets(
    seriesId: number,
    range: { start: string; end: string },
    aggregate: Aggregate,
    truncation: Truncation,
  ): Promise<Vqt[]> {
    // At most maxHistoryValues intervals are asked for: the work stays bounded whatever the range and the
    // interval (a year by the millisecond), and the earliest are answered, as for samples.
    const width = aggregate.seconds * 1_000;
    const firstBucket = BUCKET_ORIGIN + Math.floor((Date.parse(range.start) - BUCKET_ORIGIN) / width) * width;
    let end = range.end;
    if ((Date.parse(range.end) - firstBucket) / width > this.limits.maxHistoryValues) {
      end = new Date(firstBucket + this.limits.maxHistoryValues * width).toISOString();
      truncation.add(
        `at most ${this.limits.maxHistoryValues} history values per element (MAX_HISTORY_VALUES): the earliest intervals are returned`,
      );
    }
    const { rows } = await this.metrics.query<{
      ts: string;
      samples: string;
      avg: number | null;
      min: number | null;
      max: number | null;
      first: number | null;
      last: number | null;
    }>(
      `select ${utcDigitsSql('b.bucket')} as ts, b.samples, b.avg, b.min, b.max, b.first, b.last
         from metrics.series s,
              api.samples_bucketed(s.path, $2::timestamptz, $3::timestamptz, $4::float8 * interval '1 second') b
        where s.id = $1
        order by b.bucket limit $5`,
      [seriesId, range.start, end, aggregate.seconds, this.limits.maxHistoryValues + 1],
    );
    if (rows.length > this.limits.maxHistoryValues) {
      truncation.add(
        `at most ${this.limits.maxHistoryValues} history values per element (MAX_HISTORY_VALUES): the earliest intervals are returned`,
      );
      rows.length = this.limits.maxHistoryValues;
    }
    return rows.map((row): Vqt => {
      const count = Number(row.samples);
      const timestamp = utcFromDigits(row.ts);
      if (count === 0) return { value: null, quality: 'Bad', timestamp };
      const all: Record<AggregateFunction, number | null> = {
        avg: row.avg,
        min: row.min,
        max: row.max,
        first: row.first,
        last: row.last,
        count,
      };
      return {
        value: Object.fromEntries(aggregate.functions.map((name) => [name, all[name]])),
        quality: 'Good',
        timestamp,
      };
    });
  }
}
