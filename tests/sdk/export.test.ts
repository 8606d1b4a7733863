import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { exportCurated, exportSamples, Plantmesh, type Sample } from '@plantmesh/sdk';
import { waitFor } from '@plantmesh/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The readers are the SDK package's development dependencies, loaded from there.
import type * as Arrow from '../../packages/sdk/node_modules/apache-arrow/Arrow.node.js';
import type * as ParquetWasm from '../../packages/sdk/node_modules/parquet-wasm/node/parquet_wasm.js';
import { failure } from '../support/sdk-calls.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const sdkDir = join(import.meta.dirname, '../../packages/sdk');
const fromSdk = createRequire(join(sdkDir, 'package.json'));
/** apache-arrow's own reader (its CommonJS build: another instance than the writer's). */
const arrow = fromSdk('apache-arrow') as typeof Arrow;
/** Parquet read by parquet-wasm: the Rust arrow-rs implementation, independent of the writer (hyparquet-writer). */
const parquet = (await import(pathToFileURL(fromSdk.resolve('parquet-wasm')).href)) as typeof ParquetWasm;

const series = [
  'plant1/rolling/mill1/stand1/force',
  'plant1/rolling/mill1/stand2/force',
  'plant1/rolling/mill1/stand1/speed',
];
const counts = [100_000, 60_000, 40_000];
const start = Date.parse('2026-03-28T22:00:00.000Z');
const everything = { from: new Date(start), to: new Date(start + 2 * 86_400_000) };

/** The Arrow table in an Arrow IPC file. */
function readArrow(file: string): Arrow.Table {
  return arrow.tableFromIPC(readFileSync(file));
}

/** A Parquet file as arrow-rs reads it (into Arrow, then apache-arrow's reader for the IPC bytes). */
function readParquet(file: string): Arrow.Table {
  return arrow.tableFromIPC(parquet.readParquet(new Uint8Array(readFileSync(file))).intoIPCStream());
}

/** Each field as `name: type` (nullable marked ?), as the reader sees it. */
function fields(table: Arrow.Table): string[] {
  return table.schema.fields.map((field) => `${field.name}${field.nullable ? '?' : ''}: ${field.type}`);
}

/** A column's values as plain JavaScript values (bigints of 64-bit integers as text). */
function column(table: Arrow.Table, name: string): unknown[] {
  const vector = table.getChild(name);
  if (!vector) throw new Error(`no column ${name}`);
  return Array.from({ length: table.numRows }, (_, index) => {
    const value = vector.get(index);
    return typeof value === 'bigint' ? String(value) : value;
  });
}

/** Compares two lists of rows, and on a difference names the first row that differs (not 200,000 rows). */
function expectSameRows(actual: unknown[][], expected: unknown[][]): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((row, index) => JSON.stringify(row) !== JSON.stringify(expected[index]));
  if (first >= 0) expect({ row: first, actual: actual[first] }).toEqual({ row: first, actual: expected[first] });
}

/** A table's rows, column by column as `column` gives them. */
function rows(table: Arrow.Table, names: string[]): unknown[][] {
  const columns = names.map((name) => column(table, name));
  return Array.from({ length: table.numRows }, (_, index) => columns.map((values) => values[index]));
}

/** A writable that takes a chunk at a time, slowly, and records how much was ever queued in it. */
class SlowWritable extends Writable {
  readonly chunks: Buffer[] = [];
  largestChunk = 0;
  mostQueued = 0;
  drains = 0;

  constructor(private readonly onChunk?: () => void) {
    super({ highWaterMark: 64 * 1024 });
    this.on('drain', () => {
      this.drains += 1;
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.onChunk?.();
    this.largestChunk = Math.max(this.largestChunk, chunk.length);
    this.mostQueued = Math.max(this.mostQueued, this.writableLength);
    setImmediate(callback);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// Every column type a curated definition may have, for a product of the test's own.
const coilDefinition = `apiVersion: plantmesh.dev/v1
kind: CuratedDefinition
product:
  name: coils
  domain: testing
  owner: test@plant.local
  description: Coils, with a column of each type, for the export test
  version: 1.0.0
source:
  topics: ["+/coiler/+/events/coil.done"]
payloadSchema: { type: object }
table: coils
columns:
  - { name: coil_id, from: /id, type: text }
  - { name: turns, from: /turns, type: integer }
  - { name: counter, from: /counter, type: bigint }
  - { name: weight, from: /weight, type: numeric, unit: KGM, description: Coil weight }
  - { name: temperature, from: /temperature, type: double precision, unit: CEL }
  - { name: passed, from: /passed, type: boolean }
  - { name: shift_day, from: /day, type: date }
  - { name: attributes, from: /attributes, type: jsonb }
  - { name: coiled_at, from: /at, type: timestamptz, nullable: false }
key: [coil_id]
eventTime: coiled_at
`;
const coilColumns = [
  'coil_id',
  'turns',
  'counter',
  'weight',
  'temperature',
  'passed',
  'shift_day',
  'attributes',
  'coiled_at',
];

describe('exporting samples and curated rows as Arrow and Parquet files (real platform)', () => {
  const platform = useIngestPlatform();
  let reader: Plantmesh;
  let dir: string;
  /** Every sample as stored: path, epoch milliseconds, value, quality; series by series, in time order. */
  let stored: unknown[][];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plantmesh-export-'));
    const definitions = join(dir, 'definitions');
    mkdirSync(definitions);
    writeFileSync(join(definitions, 'coils.yaml'), coilDefinition);
    await platform().startCuratedEtl({ DEFINITIONS_DIR: definitions });

    // 200,000 samples of 3 series, inserted as the administrator (for volume): times with milliseconds,
    // across a daylight saving change in Europe (UTC knows none), some values missing, all three qualities.
    for (const [index, path] of series.entries()) {
      await platform().query(
        `with s as (insert into metrics.series (path, unit) values ($1, 'NEW') returning id)
         insert into metrics.samples (series_id, ts, value, quality)
         select s.id, to_timestamp($2::double precision / 1000) + g * interval '1 second' + (g % 997) * interval '1 millisecond',
                case when g % 101 = 0 then null else sin(g / 50.0) * 1000 + g / 7.0 + $4 end,
                case when g % 13 = 0 then 2 when g % 7 = 0 then 1 else 0 end
         from s, generate_series(0, $3 - 1) g`,
        [path, start, counts[index], index],
      );
    }
    stored = (
      await platform().query<{ path: string; ms: string; value: number | null; quality: number }>(
        `select s.path, (extract(epoch from x.ts) * 1000)::bigint::text as ms, x.value, x.quality
         from metrics.samples x join metrics.series s on s.id = x.series_id
         order by array_position($1::text[], s.path), x.ts`,
        [series],
      )
    ).map((row) => [row.path, Number(row.ms), row.value, row.quality]);
    expect(stored).toHaveLength(200_000);

    await waitFor(
      'the coils product registered',
      async () => (await platform().count(`select count(*) as n from api.products where product = 'coils'`)) === 1,
      60_000,
    );
    // 1,000 coils, with every value missing in turn, a bigint past 2^53 and nested JSON.
    await platform().query(
      `insert into curated.coils (coil_id, turns, counter, weight, temperature, passed, shift_day, attributes,
                                  coiled_at, _event_seq, _event_id, _definition_version)
       select 'C' || lpad(g::text, 5, '0'),
              case when g % 5 = 1 then null else g * 3 end,
              case when g % 5 = 2 then null else 9007199254740993 + g end,
              case when g % 5 = 3 then null else 12345.678 + g / 8.0 end,
              case when g % 5 = 4 then null else -0.5 - g end,
              case when g % 7 = 0 then null else g % 2 = 0 end,
              case when g % 11 = 0 then null else date '2026-03-29' + (g % 40) end,
              case when g % 13 = 0 then null else jsonb_build_object('grade', 'S' || (g % 4), 'layers', jsonb_build_array(g, g + 1), 'ok', g % 3 = 0) end,
              to_timestamp($1::double precision / 1000) + g * interval '1 minute' + (g % 1000) * interval '1 millisecond',
              g, 'event-' || g, '1.0.0'
       from generate_series(0, 999) g`,
      [start],
    );

    reader = await Plantmesh.connect({
      url: await platform().userUrl('exporter', 'reader'),
      applicationName: 'export',
    });
    return () => reader?.close();
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes 200,000 samples of 3 series to an Arrow file that apache-arrow reads back equal, typed', async () => {
    const file = join(dir, 'samples.arrow');
    const summary = await exportSamples(reader, series, everything, { format: 'arrow', file, batchRows: 30_000 });
    expect(summary).toMatchObject({ format: 'arrow', rows: 200_000, file });

    const table = readArrow(file);
    expect(fields(table)).toEqual([
      'series: Dictionary<Int32, Utf8>',
      'ts: Timestamp<MILLISECOND, UTC>',
      'value?: Float64',
      'quality: Int16',
    ]);
    // Streamed: record batches of at most 30,000 rows, one dictionary of the series for the whole file.
    expect(table.batches.length).toBeGreaterThanOrEqual(7);
    expect(Math.max(...table.batches.map((batch) => batch.numRows))).toBeLessThanOrEqual(30_000);
    expect(table.schema.metadata.get('plantmesh.from')).toBe(everything.from.toISOString());
    expectSameRows(rows(table, ['series', 'ts', 'value', 'quality']), stored);
  });

  it('writes them to a Parquet file that arrow-rs (parquet-wasm) reads back equal, typed, in row groups', async () => {
    const file = join(dir, 'samples.parquet');
    const summary = await exportSamples(reader, series, everything, { format: 'parquet', file, batchRows: 30_000 });
    expect(summary).toMatchObject({ format: 'parquet', rows: 200_000, file });

    const table = readParquet(file);
    // TIMESTAMP(MILLIS, isAdjustedToUTC) reads as a UTC timestamp; INT_16 as int16.
    expect(fields(table)).toEqual([
      'series: Utf8',
      'ts: Timestamp<MILLISECOND, UTC>',
      'value?: Float64',
      'quality: Int16',
    ]);
    expectSameRows(rows(table, ['series', 'ts', 'value', 'quality']), stored);

    const metadata = (await parquet.ParquetFile.fromFile(new Blob([readFileSync(file)]))).metadata();
    expect(metadata.numRowGroups()).toBe(Math.ceil(200_000 / 30_000));
    expect(metadata.fileMetadata().numRows()).toBe(200_000);
    expect(metadata.fileMetadata().keyValueMetadata().get('plantmesh.export')).toBe('samples');
  });

  it('takes [from, to): a sample at `from` is in, one at `to` is out', async () => {
    const [path] = series as [string];
    const first = stored.findIndex((row) => row[0] === path);
    const from = new Date(stored[first + 10]?.[1] as number);
    const to = new Date(stored[first + 20]?.[1] as number);
    for (const format of ['arrow', 'parquet'] as const) {
      const file = join(dir, `range.${format}`);
      expect((await exportSamples(reader, [path], { from, to }, { format, file })).rows).toBe(10);
      const table = format === 'arrow' ? readArrow(file) : readParquet(file);
      expectSameRows(rows(table, ['series', 'ts', 'value', 'quality']), stored.slice(first + 10, first + 20));
    }
  });

  it('writes a valid file with the columns and no rows for a range without samples', async () => {
    const before = { from: new Date(start - 86_400_000), to: new Date(start) };
    for (const format of ['arrow', 'parquet'] as const) {
      const file = join(dir, `empty.${format}`);
      expect(await exportSamples(reader, series, before, { format, file })).toMatchObject({ rows: 0 });
      const table = format === 'arrow' ? readArrow(file) : readParquet(file);
      expect(table.numRows).toBe(0);
      expect(fields(table)).toEqual([
        `series: ${format === 'arrow' ? 'Dictionary<Int32, Utf8>' : 'Utf8'}`,
        'ts: Timestamp<MILLISECOND, UTC>',
        'value?: Float64',
        'quality: Int16',
      ]);
    }
  });

  it('writes to a stream with its backpressure, the same bytes as to a file, and ends it', async () => {
    const [path] = series as [string];
    const file = join(dir, 'one.arrow');
    await exportSamples(reader, [path], everything, { format: 'arrow', file, batchRows: 10_000 });
    const stream = new SlowWritable();
    const summary = await exportSamples(reader, [path], everything, { format: 'arrow', stream, batchRows: 10_000 });
    expect(stream.writableFinished).toBe(true);
    expect(stream.bytes().equals(readFileSync(file))).toBe(true);
    expect(summary.bytes).toBe(stream.bytes().length);
    // The export waited for drain: never more than one chunk queued beyond the high-water mark.
    expect(stream.drains).toBeGreaterThan(0);
    expect(stream.mostQueued).toBeLessThanOrEqual(stream.largestChunk + stream.writableHighWaterMark);

    const open = new SlowWritable();
    await exportSamples(reader, [path], everything, { format: 'parquet', stream: open, end: false });
    expect(open.writableEnded).toBe(false);
    expect(readParquet(writeTo(join(dir, 'from-stream.parquet'), open.bytes())).numRows).toBe(counts[0]);
  });

  it('cancels on abort: a file is not left behind, a stream is destroyed', async () => {
    // A reader that aborts the export once 25,000 samples have been read: mid-file, batches written.
    let aborted = new AbortController();
    let seen = 0;
    const aborting = Object.create(reader, {
      samples: {
        value: (path: string, range: typeof everything, options: object) =>
          (async function* () {
            for await (const sample of reader.samples(path, range, options) as AsyncIterable<Sample>) {
              if (++seen === 25_000) aborted.abort();
              yield sample;
            }
          })(),
      },
    }) as Plantmesh;
    const files = join(dir, 'cancelled');
    mkdirSync(files);
    for (const format of ['arrow', 'parquet'] as const) {
      aborted = new AbortController();
      seen = 0;
      const cancelled = await failure(() =>
        exportSamples(aborting, series, everything, {
          format,
          file: join(files, `samples.${format}`),
          batchRows: 5_000,
          signal: aborted.signal,
        }),
      );
      expect(cancelled.code).toBe('cancelled');
      expect(seen).toBe(25_000);
      expect(readdirSync(files)).toEqual([]);
    }

    // A stream whose first chunk aborts the export.
    const stop = new AbortController();
    const stream = new SlowWritable(() => stop.abort());
    const error = await failure(() =>
      exportSamples(reader, series, everything, { format: 'parquet', stream, batchRows: 5_000, signal: stop.signal }),
    );
    expect(error.code).toBe('cancelled');
    expect(stream.destroyed).toBe(true);
  });

  it('says what is wrong before it writes: unknown series or product, no target, a bad format or range', async () => {
    const files = join(dir, 'refused');
    mkdirSync(files);
    const file = join(files, 'x.arrow');
    expect(
      (
        await failure(() =>
          exportSamples(reader, [series[0] as string, 'plant1/nowhere/x'], everything, { format: 'arrow', file }),
        )
      ).code,
    ).toBe('not-found');
    expect((await failure(() => exportCurated(reader, 'nothing', undefined, { format: 'arrow', file }))).code).toBe(
      'not-found',
    );
    expect((await failure(() => exportSamples(reader, [], everything, { format: 'arrow', file }))).code).toBe(
      'bad-argument',
    );
    expect((await failure(() => exportSamples(reader, series, everything, { format: 'arrow' }))).code).toBe(
      'bad-argument',
    );
    expect(
      (await failure(() => exportSamples(reader, series, everything, { format: 'csv' as 'arrow', file }))).code,
    ).toBe('bad-argument');
    expect(
      (
        await failure(() =>
          exportSamples(reader, series, { from: 'yesterday', to: new Date() }, { format: 'arrow', file }),
        )
      ).code,
    ).toBe('bad-argument');
    expect(readdirSync(files)).toEqual([]);
  });

  describe('curated rows', () => {
    /** The coils as stored, in event time order, as the file should hold them. */
    async function storedCoils(range?: { from: Date; to: Date }): Promise<unknown[][]> {
      const stored = await platform().query<Record<string, unknown>>(
        `select coil_id, turns::text, counter::text, weight::float8 as weight, temperature, passed,
                (shift_day - date '1970-01-01') as days, attributes::text, (extract(epoch from coiled_at) * 1000)::bigint::text as ms
         from curated.coils where $1::timestamptz is null or (coiled_at >= $1 and coiled_at < $2) order by coiled_at`,
        [range?.from ?? null, range?.to ?? null],
      );
      return stored.map((row) => [
        row.coil_id,
        row.turns,
        row.counter,
        row.weight,
        row.temperature,
        row.passed,
        row.days === null ? null : (row.days as number) * 86_400_000,
        row.attributes === null ? null : JSON.parse(row.attributes as string),
        Number(row.ms),
      ]);
    }

    /** A coils table's rows as `storedCoils` gives them (JSON parsed, dates as epoch milliseconds). */
    function coilRows(table: Arrow.Table): unknown[][] {
      return rows(table, coilColumns).map((row) => {
        const [id, turns, counter, weight, temperature, passed, day, attributes, at] = row;
        return [
          id,
          turns,
          counter,
          weight,
          temperature,
          passed,
          day,
          attributes === null ? null : JSON.parse(attributes as string),
          at,
        ];
      });
    }

    it('exports a product with the types of its row schema, its units, and without provenance columns', async () => {
      const expected = await storedCoils();
      // The rows come unordered without a range: compare them in event time order.
      const byTime = (table: Arrow.Table) => coilRows(table).sort((a, b) => (a[8] as number) - (b[8] as number));
      for (const format of ['arrow', 'parquet'] as const) {
        const file = join(dir, `coils.${format}`);
        expect(await exportCurated(reader, 'coils', undefined, { format, file, batchRows: 300 })).toMatchObject({
          rows: 1_000,
        });
        const table = format === 'arrow' ? readArrow(file) : readParquet(file);
        expect(fields(table)).toEqual([
          'coil_id: Utf8',
          'turns?: Int64',
          'counter?: Int64',
          'weight?: Float64',
          'temperature?: Float64',
          'passed?: Bool',
          'shift_day?: Date32<DAY>',
          'attributes?: Utf8',
          'coiled_at: Timestamp<MILLISECOND, UTC>',
        ]);
        expectSameRows(byTime(table), expected);
        if (format === 'arrow') {
          const weight = table.schema.fields.find((field) => field.name === 'weight');
          expect(Object.fromEntries(weight?.metadata ?? [])).toEqual({ unit: 'KGM', description: 'Coil weight' });
          expect(table.schema.metadata.get('plantmesh.product')).toBe('coils');
        }
      }
    });

    it('exports the rows of a range in event time order, and a range without rows as an empty file', async () => {
      const range = { from: new Date(start + 100 * 60_000), to: new Date(start + 350 * 60_000) };
      const expected = await storedCoils(range);
      expect(expected).toHaveLength(250);
      for (const format of ['arrow', 'parquet'] as const) {
        const file = join(dir, `coils-range.${format}`);
        expect((await exportCurated(reader, 'coils', range, { format, file })).rows).toBe(250);
        expectSameRows(coilRows(format === 'arrow' ? readArrow(file) : readParquet(file)), expected);

        const empty = join(dir, `coils-empty.${format}`);
        const none = { from: new Date(0), to: new Date(start) };
        expect((await exportCurated(reader, 'coils', none, { format, file: empty })).rows).toBe(0);
        const table = format === 'arrow' ? readArrow(empty) : readParquet(empty);
        expect(table.numRows).toBe(0);
        expect(table.schema.fields.map((field) => field.name)).toEqual(coilColumns);
      }
    });
  });
});

function writeTo(file: string, bytes: Buffer): string {
  writeFileSync(file, bytes);
  return file;
}

describe('the SDK API reference (TypeDoc)', () => {
  it('documents every exported symbol (warnings are errors), and names Plantmesh, PlantmeshError, exportSamples', async () => {
    const out = mkdtempSync(join(tmpdir(), 'plantmesh-sdk-api-'));
    try {
      const config = JSON.parse(readFileSync(join(sdkDir, 'typedoc.json'), 'utf8'));
      expect(config.validation).toMatchObject({ notDocumented: true, notExported: true, invalidLink: true });
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          join(sdkDir, 'node_modules/.bin/typedoc'),
          ['--out', out, '--treatWarningsAsErrors'],
          { cwd: sdkDir },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
        );
      });
      expect(output).not.toMatch(/warning|error\]/i);
      expect(code, output).toBe(0);
      for (const page of ['classes/Plantmesh.html', 'classes/PlantmeshError.html', 'functions/exportSamples.html']) {
        expect(existsSync(join(out, page)), page).toBe(true);
      }
      const index = readFileSync(join(out, 'index.html'), 'utf8');
      for (const name of ['Plantmesh', 'PlantmeshError', 'exportSamples', 'exportCurated'])
        expect(index).toContain(name);
      expect(readFileSync(join(out, 'functions/exportSamples.html'), 'utf8')).toContain('memory stays flat');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
