import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AsyncByteQueue,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Dictionary,
  Field,
  Float64,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import type { Plantmesh } from './client.js';
import { PlantmeshError } from './errors.js';
import type { CallOptions, Product, TimeRange } from './types.js';

/** `arrow`: an Apache Arrow IPC file (Feather v2); `parquet`: an Apache Parquet file. */
export type ExportFormat = 'arrow' | 'parquet';

/** How and where to export: a format, and a file path or a stream to write to. */
export interface ExportOptions extends CallOptions {
  /** `arrow` (Arrow IPC file format, uncompressed) or `parquet` (Snappy-compressed, with statistics). */
  format: ExportFormat;
  /**
   * The file to write: written beside it under a temporary name and renamed when complete, so that the
   * path never holds a partial file (an existing file is replaced). Give this or `stream`.
   */
  file?: string;
  /** A stream to write to, with its backpressure respected (e.g. an HTTP response). Give this or `file`. */
  stream?: Writable;
  /**
   * Whether to end `stream` when the export is complete, and destroy it when the export fails, as `pipe`
   * does (default true). False leaves both to the caller.
   */
  end?: boolean;
  /** Rows per Arrow record batch or Parquet row group (default 100,000): what is held in memory at a time. */
  batchRows?: number;
  /** Rows fetched from the server at a time (default 10,000). */
  fetchRows?: number;
  /**
   * Cancels the export: the statement stops on the server, the file is not written (nor its temporary
   * file left), and the call fails with a `PlantmeshError` of code `cancelled`.
   */
  signal?: AbortSignal;
}

/** What an export wrote. */
export interface ExportSummary {
  /** The format written. */
  format: ExportFormat;
  /** Rows written. */
  rows: number;
  /** Bytes written. */
  bytes: number;
  /** The file written, when the export went to a file. */
  file?: string;
}

/** The kind of a column, which gives its Arrow type and its Parquet type. */
type Kind = 'series' | 'timestamp' | 'date' | 'float64' | 'int16' | 'int64' | 'bool' | 'utf8' | 'json';

interface Column {
  name: string;
  kind: Kind;
  nullable: boolean;
  /** Arrow field metadata (unit, description). */
  metadata?: Record<string, string>;
}

/**
 * One batch of rows, column by column: a `series` column holds indices into the export's series; the
 * others JavaScript values (epoch milliseconds for times, days since 1970-01-01 for dates, bigint for
 * 64-bit integers, parsed JSON for json), null for a missing value.
 */
type Batch = { rows: number; columns: (Int32Array | unknown[])[] };

const day = 86_400_000;
const defaultBatchRows = 100_000;

/**
 * Exports the samples of `series` (paths) in [from, to) to an Arrow or Parquet file, streamed: each
 * series is read from a server-side cursor and written a record batch or row group at a time, so that
 * memory stays flat on any range (a month of 1 Hz data is 2.6 million rows per series).
 *
 * The file has one row per sample, series by series (in the order given) and each in time order, with
 * the columns `series` (the path; dictionary-encoded in Arrow), `ts` (a UTC timestamp in milliseconds),
 * `value` (float64, null when the sample has none) and `quality` (int16: 0 good, 1 uncertain, 2 bad).
 * A range without samples gives a valid file with these columns and no rows.
 *
 * @param sdk - A connected SDK (a login with the reader role).
 * @param series - The series' paths (as `Plantmesh.findSeries` gives them); an unknown one fails with `not-found`.
 * @param range - The time range [from, to).
 * @param options - The format, the file or stream, and how to cancel.
 * @returns What was written: rows and bytes.
 * @example
 * ```ts
 * await exportSamples(sdk, ['plant1/meltshop/eaf1/meter/energy'], { from: '2026-11-01', to: '2026-12-01' },
 *   { format: 'parquet', file: 'energy.parquet' });
 * ```
 */
export async function exportSamples(
  sdk: Plantmesh,
  series: string[],
  range: TimeRange,
  options: ExportOptions,
): Promise<ExportSummary> {
  const paths = [...new Set(series)];
  if (paths.length === 0) throw new PlantmeshError('bad-argument', 'export of samples: name at least one series');
  const batchRows = checkOptions(options, 'export of samples');
  const stream = { signal: options.signal, batchSize: options.fetchRows };
  // Each call checks the range now; the cursors open one after the other as the export reaches them.
  const sources = paths.map((path) => sdk.samples(path, range, stream));
  const columns: Column[] = [
    { name: 'series', kind: 'series', nullable: false },
    { name: 'ts', kind: 'timestamp', nullable: false },
    { name: 'value', kind: 'float64', nullable: true },
    { name: 'quality', kind: 'int16', nullable: false },
  ];
  const metadata = {
    'plantmesh.export': 'samples',
    'plantmesh.from': new Date(range.from).toISOString(),
    'plantmesh.to': new Date(range.to).toISOString(),
  };
  return write(options, columns, paths, metadata, async function* () {
    let batch = emptySamples(batchRows);
    for (const [index, source] of sources.entries()) {
      for await (const sample of source) {
        const row = batch.rows++;
        (batch.columns[0] as Int32Array)[row] = index;
        (batch.columns[1] as number[])[row] = sample.ts.getTime();
        (batch.columns[2] as (number | null)[])[row] = sample.value;
        (batch.columns[3] as number[])[row] = sample.quality;
        if (batch.rows === batchRows) {
          yield batch;
          batch = emptySamples(batchRows);
        }
      }
    }
    if (batch.rows > 0) yield trim(batch);
  });
}

/**
 * Exports the rows of a curated data product to an Arrow or Parquet file, those whose event time is in
 * [from, to) when a range is given (in event time order then), streamed a record batch or row group at
 * a time.
 *
 * The columns are the product's, in its table's order, typed as its row schema (`Plantmesh.products`)
 * says: text as UTF-8 strings, integers as int64, numbers (numeric and double precision) as float64,
 * booleans, timestamps as UTC timestamps in milliseconds, dates as dates, JSON as its text. Required
 * columns are not nullable. In Arrow, each field carries its `unit` (UNECE code) and `description` as
 * metadata. The provenance columns of the curated table (`_event_id`, ...) are not exported.
 *
 * @param sdk - A connected SDK (a login with the reader role).
 * @param product - The data product's name (as `Plantmesh.products` gives it); an unknown one fails with `not-found`.
 * @param range - The event times [from, to) to export, or undefined for every row.
 * @param options - The format, the file or stream, and how to cancel.
 * @returns What was written: rows and bytes.
 */
export async function exportCurated(
  sdk: Plantmesh,
  product: string,
  range: Partial<TimeRange> | undefined,
  options: ExportOptions,
): Promise<ExportSummary> {
  const what = `export of ${product}`;
  const batchRows = checkOptions(options, what);
  const found = (await sdk.products({ signal: options.signal })).find((candidate) => candidate.product === product);
  if (!found) throw new PlantmeshError('not-found', `${what}: there is no data product named "${product}"`);
  const rows = sdk
    .curated(product, { ...range, signal: options.signal, batchSize: options.fetchRows })
    [Symbol.asyncIterator]();
  // The first row says the table's column order (the row schema, kept as jsonb, has its keys sorted); a
  // range without rows takes it from any row of the product.
  const first = await rows.next();
  let order = first.done ? undefined : Object.keys(first.value);
  if (!order) {
    for await (const row of sdk.curated(product, { signal: options.signal, batchSize: 1 })) {
      order = Object.keys(row);
      break;
    }
  }
  const columns = productColumns(found, order ?? []);
  const metadata: Record<string, string> = {
    'plantmesh.export': 'curated',
    'plantmesh.product': found.product,
    'plantmesh.version': found.version,
    ...(range?.from !== undefined ? { 'plantmesh.from': new Date(range.from).toISOString() } : {}),
    ...(range?.to !== undefined ? { 'plantmesh.to': new Date(range.to).toISOString() } : {}),
  };
  const close = async () => {
    await rows.return?.();
  };
  const batches = async function* () {
    try {
      let batch = emptyRows(columns.length);
      for (let next = first; !next.done; next = await rows.next()) {
        for (const [index, column] of columns.entries()) {
          (batch.columns[index] as unknown[]).push(cell(next.value[column.name], column, what));
        }
        batch.rows += 1;
        if (batch.rows === batchRows) {
          yield batch;
          batch = emptyRows(columns.length);
        }
      }
      if (batch.rows > 0) yield batch;
    } finally {
      await close();
    }
  };
  return write(options, columns, [], metadata, batches, close);
}

function checkOptions(options: ExportOptions, what: string): number {
  if (options.format !== 'arrow' && options.format !== 'parquet') {
    throw new PlantmeshError(
      'bad-argument',
      `${what}: format must be arrow or parquet (got ${String(options.format)})`,
    );
  }
  if ((options.file === undefined) === (options.stream === undefined)) {
    throw new PlantmeshError('bad-argument', `${what}: give either a file or a stream to write to`);
  }
  const batchRows = options.batchRows ?? defaultBatchRows;
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new PlantmeshError('bad-argument', `${what}: batchRows must be a positive integer (got ${batchRows})`);
  }
  return batchRows;
}

function emptySamples(rows: number): Batch {
  return { rows: 0, columns: [new Int32Array(rows), new Array(rows), new Array(rows), new Array(rows)] };
}

function emptyRows(columns: number): Batch {
  return { rows: 0, columns: Array.from({ length: columns }, () => []) };
}

/** The last batch, cut to the rows it has. */
function trim(batch: Batch): Batch {
  return {
    rows: batch.rows,
    columns: batch.columns.map((values) =>
      values instanceof Int32Array ? values.subarray(0, batch.rows) : values.slice(0, batch.rows),
    ),
  };
}

/**
 * A product's columns from its row schema (JSON Schema 2020-12, as etl-curated writes it), in the order
 * given (a table's), then any others of the schema.
 */
function productColumns(product: Product, order: string[]): Column[] {
  const schema = product.rowSchema as { properties?: Record<string, ColumnSchema>; required?: string[] };
  const required = new Set(schema.required ?? []);
  const properties = schema.properties ?? {};
  const names = [...new Set([...order.filter((name) => name in properties), ...Object.keys(properties)])];
  return names.map((name) => {
    const property = properties[name] as ColumnSchema;
    const types = [property.type ?? []].flat().filter((type) => type !== 'null');
    const metadata: Record<string, string> = {};
    if (property['x-unit']) metadata.unit = property['x-unit'];
    if (property.description) metadata.description = property.description;
    return {
      name,
      kind: types.length === 1 ? kindOf(types[0] as string, property.format) : 'json',
      nullable: !required.has(name),
      metadata,
    };
  });
}

interface ColumnSchema {
  type?: string | string[];
  format?: string;
  description?: string;
  'x-unit'?: string;
}

function kindOf(type: string, format: string | undefined): Kind {
  switch (type) {
    case 'string':
      return format === 'date-time' ? 'timestamp' : format === 'date' ? 'date' : 'utf8';
    case 'integer':
      return 'int64';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    default:
      return 'json';
  }
}

/** A value of a curated row as its column's kind holds it (see Batch). */
function cell(value: unknown, column: Column, what: string): unknown {
  if (value === null || value === undefined) {
    if (!column.nullable) {
      throw new PlantmeshError('database', `${what}: the required column ${column.name} has a row without a value`);
    }
    return null;
  }
  switch (column.kind) {
    case 'timestamp':
      return value instanceof Date ? value.getTime() : Date.parse(String(value));
    case 'date':
      // The driver gives a date as local midnight; its calendar day is what the row holds.
      return value instanceof Date
        ? Date.UTC(value.getFullYear(), value.getMonth(), value.getDate()) / day
        : Date.parse(`${String(value)}T00:00:00Z`) / day;
    case 'int64':
      return BigInt(value as string | number | bigint);
    case 'float64':
      return Number(value);
    case 'bool':
      return Boolean(value);
    case 'utf8':
      return String(value);
    default:
      return value;
  }
}

/** Writes the batches of `rows` in the format asked to the file or stream asked, and says what it wrote. */
async function write(
  options: ExportOptions,
  columns: Column[],
  series: string[],
  metadata: Record<string, string>,
  rows: () => AsyncGenerator<Batch>,
  /** Releases what was opened before the batches were asked for, when they will not be. */
  release?: () => Promise<void>,
): Promise<ExportSummary> {
  let sink: Sink;
  try {
    sink = await openSink(options);
  } catch (error) {
    await release?.();
    throw new PlantmeshError('bad-argument', `export: cannot write ${options.file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let count = 0;
  try {
    const writer =
      options.format === 'arrow'
        ? arrowWriter(columns, series, metadata, sink)
        : parquetWriter(columns, series, metadata, sink);
    for await (const batch of rows()) {
      await writer.write(batch);
      count += batch.rows;
    }
    await writer.finish();
    await sink.close();
  } catch (error) {
    await sink.abort(error);
    if (options.signal?.aborted && !(error instanceof PlantmeshError)) {
      throw new PlantmeshError('cancelled', 'export: cancelled', { cause: error });
    }
    if (error instanceof PlantmeshError && error.code === 'timeout') {
      // PostgreSQL times a cursor's statement from its first fetch to its last.
      throw new PlantmeshError(
        'timeout',
        `${error.message}: an export reads each series (or the product) with one statement, which the ` +
          'statement timeout bounds as a whole; connect with a longer statementTimeoutMs (0 for none) for long exports',
        { cause: error },
      );
    }
    throw error;
  }
  return { format: options.format, rows: count, bytes: sink.bytes, ...(options.file ? { file: options.file } : {}) };
}

interface FormatWriter {
  write(batch: Batch): Promise<void>;
  finish(): Promise<void>;
}

// --- Arrow -------------------------------------------------------------------------------------------

function arrowType(kind: Kind): DataType {
  switch (kind) {
    case 'series':
      // Id 0, not the next of a global counter: the same export gives the same bytes.
      return new Dictionary(new Utf8(), new Int32(), 0);
    case 'timestamp':
      return new TimestampMillisecond('UTC');
    case 'date':
      return new DateDay();
    case 'float64':
      return new Float64();
    case 'int16':
      return new Int16();
    case 'int64':
      return new Int64();
    case 'bool':
      return new Bool();
    default:
      return new Utf8();
  }
}

/** The bytes the Arrow writer produces, taken as they come instead of queued without bound. */
class Taken extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }
  take(): Buffer {
    const bytes = Buffer.concat(this.chunks);
    this.chunks = [];
    return bytes;
  }
}

/**
 * The Arrow IPC file format allows no dictionary replacement (and pyarrow's reader no delta), so the
 * series' dictionary is the export's whole list of series, the same in every batch.
 */
function arrowWriter(columns: Column[], series: string[], metadata: Record<string, string>, sink: Sink): FormatWriter {
  const fields = columns.map(
    (column) =>
      new Field(
        column.name,
        arrowType(column.kind),
        column.nullable,
        column.metadata && Object.keys(column.metadata).length > 0 ? new Map(Object.entries(column.metadata)) : null,
      ),
  );
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const dictionary = vectorFromArray(series, new Utf8());
  const taken = new Taken();
  const writer = new RecordBatchFileWriter();
  writer.reset(taken, schema);
  const data = (column: Column, field: Field, values: Int32Array | unknown[], rows: number): Data => {
    if (column.kind === 'series') {
      return makeData({
        type: field.type as Dictionary,
        length: rows,
        nullCount: 0,
        data: values as Int32Array,
        dictionary,
      });
    }
    if (column.kind === 'json') {
      values = (values as unknown[]).map((value) => (value === null ? null : JSON.stringify(value)));
    }
    // A date's day count, as a Date, is what the DateDay builder takes.
    if (column.kind === 'date')
      values = (values as (number | null)[]).map((days) => (days === null ? null : days * day));
    return vectorFromArray(values as unknown[], field.type).data[0] as Data;
  };
  return {
    async write(batch) {
      const children = columns.map((column, index) =>
        data(column, fields[index] as Field, batch.columns[index] as Int32Array | unknown[], batch.rows),
      );
      const struct = makeData({ type: new Struct(fields), length: batch.rows, nullCount: 0, children });
      writer.write(new RecordBatch(schema, struct));
      await sink.write(taken.take());
    },
    async finish() {
      writer.finish();
      await sink.write(taken.take());
    },
  };
}

// --- Parquet -----------------------------------------------------------------------------------------

function parquetElement(column: Column): SchemaElement {
  const repetition_type = column.nullable ? 'OPTIONAL' : 'REQUIRED';
  const name = column.name;
  switch (column.kind) {
    case 'series':
    case 'utf8':
      return { name, repetition_type, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'timestamp':
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    case 'date':
      return { name, repetition_type, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'float64':
      return { name, repetition_type, type: 'DOUBLE' };
    case 'int16':
      // Without logical_type: hyparquet-writer 0.17 writes IntType.bitWidth (a Thrift i8) as an i32, which
      // other readers (arrow-rs, pyarrow) misread. The converted type INT_16 says the same to every reader.
      return { name, repetition_type, type: 'INT32', converted_type: 'INT_16' };
    case 'int64':
      return { name, repetition_type, type: 'INT64' };
    case 'bool':
      return { name, repetition_type, type: 'BOOLEAN' };
    default:
      return { name, repetition_type, type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } };
  }
}

/** hyparquet-writer's byte writer, emptied into the sink after each row group (awaited: backpressure). */
class SinkWriter extends ByteWriter {
  /** Rows written so far. */
  rows = 0;

  constructor(private readonly sink: Sink) {
    super(1 << 20);
  }
  flush(): Promise<void> {
    const bytes = Buffer.from(this.getBytes());
    this.index = 0;
    return this.sink.write(bytes);
  }
  override finish(): Promise<void> {
    if (this.rows === 0) emptyRowGroups(this.getBytes());
    return this.flush();
  }
}

/**
 * hyparquet-writer 0.17 writes the empty list of row groups of a file without rows with the element
 * type 0 instead of struct, which strict readers (arrow-rs, so polars and DataFusion) refuse. Such a
 * file is the header and the footer alone; in the footer, num_rows (field 3, i64 0) is followed by the
 * list header of row_groups (field 4): 16 00 19 00. Its element type is set to struct (0x0c).
 */
function emptyRowGroups(file: Uint8Array): void {
  const pattern = [0x16, 0x00, 0x19, 0x00];
  const found: number[] = [];
  for (let at = 0; at + pattern.length <= file.length; at += 1) {
    if (pattern.every((byte, offset) => file[at + offset] === byte)) found.push(at);
  }
  if (found.length !== 1) throw new Error('parquet export: unexpected footer of an empty file');
  file[(found[0] as number) + 3] = 0x0c;
}

function parquetWriter(
  columns: Column[],
  series: string[],
  metadata: Record<string, string>,
  sink: Sink,
): FormatWriter {
  const bytes = new SinkWriter(sink);
  const writer = new ParquetWriter({
    writer: bytes,
    schema: [{ name: 'root', num_children: columns.length }, ...columns.map(parquetElement)],
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    createdBy: 'plantmesh-sdk (hyparquet-writer)',
  });
  return {
    async write(batch) {
      const columnData = columns.map((column, index) => {
        const values = batch.columns[index] as Int32Array | unknown[];
        return {
          name: column.name,
          data: column.kind === 'series' ? Array.from(values as Int32Array, (at) => series[at]) : (values as unknown[]),
        };
      });
      bytes.rows += batch.rows;
      await writer.write({ columnData, rowGroupSize: batch.rows });
    },
    async finish() {
      await writer.finish();
    },
  };
}

// --- Where the bytes go ------------------------------------------------------------------------------

interface Sink {
  /** Bytes written so far. */
  readonly bytes: number;
  /** Resolves once the destination takes more (its backpressure). */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(error: unknown): Promise<void>;
}

async function openSink(options: ExportOptions): Promise<Sink> {
  const file = options.file;
  const temporary = file
    ? join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.partial`)
    : undefined;
  const stream = temporary ? createWriteStream(temporary, { flags: 'wx' }) : (options.stream as Writable);
  const ends = temporary !== undefined || options.end !== false;
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  stream.on('error', onError);
  if (temporary) {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  }
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    async write(chunk) {
      if (failure) throw failure;
      if (chunk.byteLength === 0) return;
      bytes += chunk.byteLength;
      if (!stream.write(chunk)) await drained(stream, options.signal);
      if (failure) throw failure;
    },
    async close() {
      if (ends) {
        stream.end();
        await finished(stream);
      }
      stream.off('error', onError);
      if (temporary && file) await rename(temporary, file);
    },
    async abort(error) {
      // The error listener stays: the stream emits the error it is destroyed with after this returns.
      if (ends) stream.destroy(temporary ? undefined : (error as Error));
      if (temporary) {
        await finished(stream).catch(() => {});
        await unlink(temporary).catch(() => {});
      }
    },
  };
}

/** Waits for a stream's drain event, or fails with its error, its early close or the caller's abort. */
function drained(stream: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error('the stream closed before the export was written'));
    const onAbort = () => done(new PlantmeshError('cancelled', 'export: cancelled', { cause: signal?.reason }));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort);
  });
}
