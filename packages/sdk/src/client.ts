import pg from 'pg';
import Cursor from 'pg-cursor';
import { explain, PlantmeshError } from './errors.js';
import { type LiveOptions, type LiveSample, liveSamples } from './live.js';
import type {
  Bucket,
  CallOptions,
  Kpi,
  LatestValue,
  Product,
  RawEvent,
  Sample,
  Series,
  TableColumn,
  TimeRange,
  WriteResult,
} from './types.js';

/** How to reach plantmesh's PostgreSQL (and, for live values, its live stream). */
export interface ConnectOptions {
  /** postgres://user:password@host:port/database (sslmode=verify-full for TLS against NODE_EXTRA_CA_CERTS). */
  url: string;
  /** Shown in pg_stat_activity and the server's log (default plantmesh-sdk). */
  applicationName?: string;
  /** TLS settings for the driver (ca, cert, key, servername), beyond what the URL says. */
  ssl?: pg.PoolConfig['ssl'];
  /** Connections held at most (default 4). */
  maxConnections?: number;
  /** A call that returns its result at once is cancelled after this long (default 60 s; 0 for none); a stream runs as long as it is read. */
  statementTimeoutMs?: number;
  /** An application's own pool, reused instead of a new one (closing the SDK leaves it open). */
  pool?: pg.Pool;
  /** The live stream: amqp(s)://plantmesh-live-reader:PASSWORD@rabbitmq:5672, for live(). */
  liveUrl?: string;
}

/** What a streamed call takes. */
export interface StreamOptions extends CallOptions {
  /** Rows fetched from the server at a time (default 1,000): memory stays flat on any range (bench:sdk). */
  batchSize?: number;
}

const identifier = /^[a-z][a-z0-9_]{0,62}$/;

/** A time range's ends as the driver sends them, or an error that says which end is wrong. */
function bounds(range: TimeRange, what: string): [string, string] {
  return [range.from, range.to].map((end, index) => {
    const time = end instanceof Date ? end : new Date(end);
    if (Number.isNaN(time.getTime())) {
      throw new PlantmeshError(
        'bad-argument',
        `${what}: ${index === 0 ? 'from' : 'to'} is not a time (${String(end)})`,
      );
    }
    return time.toISOString();
  }) as [string, string];
}

/**
 * plantmesh's data through its stable SQL interface (schema api, docs/adr/0013-stable-sql-interface.md):
 * what the login's role allows — reading for a reader, also writing results for a results writer.
 */
export class Plantmesh {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    private readonly liveUrl: string | undefined,
  ) {}

  /** Connects and checks that the database has the interface and the login may use it. */
  static async connect(options: ConnectOptions | string): Promise<Plantmesh> {
    const config = typeof options === 'string' ? { url: options } : options;
    const pool =
      config.pool ??
      new pg.Pool({
        connectionString: config.url,
        application_name: config.applicationName ?? 'plantmesh-sdk',
        ssl: config.ssl,
        max: config.maxConnections ?? 4,
        statement_timeout: config.statementTimeoutMs === 0 ? undefined : (config.statementTimeoutMs ?? 60_000),
      });
    // An idle connection that breaks is replaced at the next call; it must not crash the application.
    pool.on('error', () => {});
    const sdk = new Plantmesh(pool, !config.pool, config.liveUrl);
    try {
      const { rows } = await pool.query<{ api: boolean; usage: boolean }>(
        `select to_regnamespace('api') is not null as api,
                coalesce(has_schema_privilege('api', 'usage'), false) as usage`,
      );
      if (!rows[0]?.api) {
        throw new PlantmeshError(
          'not-found',
          'this database has no plantmesh interface (schema api): run plantmesh migrate',
        );
      }
      if (!rows[0].usage) {
        throw new PlantmeshError(
          'permission',
          'the login may not use the interface (schema api): grant it a role with plantmesh users create NAME --role reader',
        );
      }
    } catch (error) {
      await sdk.close();
      throw explain(error, 'connect');
    }
    return sdk;
  }

  /** Series whose path matches an MQTT topic filter (+ one level, # the rest), of a unit if given. */
  async findSeries(pattern = '#', options: CallOptions & { unit?: string } = {}): Promise<Series[]> {
    const rows = await this.query<Record<string, unknown>>(
      'find series',
      'select * from api.find_series($1, $2)',
      [pattern, options.unit ?? null],
      options,
    );
    return rows.map((row) => ({
      seriesId: row.series_id as number,
      path: row.path as string,
      site: row.site as string | null,
      area: row.area as string | null,
      line: row.line as string | null,
      cell: row.cell as string | null,
      tag: row.tag as string | null,
      unit: row.unit as string | null,
      dataType: row.data_type as string,
      firstSeen: row.first_seen as Date,
    }));
  }

  /** The last known value of each series matching the filter. */
  async latest(pattern = '#', options: CallOptions = {}): Promise<LatestValue[]> {
    const rows = await this.query<Record<string, unknown>>(
      'latest values',
      `select l.series_id, l.path, l.unit, l.ts, l.value, l.quality
       from api.latest l join api.find_series($1) s using (series_id) order by l.path`,
      [pattern],
      options,
    );
    return rows.map((row) => ({
      seriesId: row.series_id as number,
      path: row.path as string,
      unit: row.unit as string | null,
      ts: row.ts as Date,
      value: row.value as number | null,
      quality: row.quality as LatestValue['quality'],
    }));
  }

  /** The samples of a series in [from, to), in time order, streamed from a server-side cursor. */
  samples(series: string, range: TimeRange, options: StreamOptions = {}): AsyncIterable<Sample> {
    const [from, to] = bounds(range, `samples of ${series}`);
    return this.stream<Sample>(
      `samples of ${series}`,
      'select ts, value, quality from api.samples($1, $2, $3)',
      [series, from, to],
      options,
    );
  }

  /**
   * Aggregates of a series per bucket of `width` (a PostgreSQL interval: '1 minute', '1 hour', '1 day')
   * in [from, to); from the rollups when the width and range fall on their buckets.
   */
  async bucketed(series: string, range: TimeRange, width: string, options: CallOptions = {}): Promise<Bucket[]> {
    const [from, to] = bounds(range, `buckets of ${series}`);
    const rows = await this.query<Bucket & { samples: string | number }>(
      `buckets of ${series}`,
      'select bucket, samples, avg, min, max, first, last from api.samples_bucketed($1, $2, $3, $4::interval)',
      [series, from, to, width],
      options,
    );
    return rows.map((row) => ({ ...row, samples: Number(row.samples) }));
  }

  /** Raw events that arrived in [from, to), of a type if given, in arrival order, streamed. */
  events(options: Partial<TimeRange> & StreamOptions & { type?: string } = {}): AsyncIterable<RawEvent> {
    const [from, to] = bounds(
      { from: options.from ?? new Date(0), to: options.to ?? '9999-12-31T00:00:00Z' },
      'events',
    );
    return this.stream<RawEvent>(
      'events',
      `select id, type, topic, source, received_at as "receivedAt", stored_at as "storedAt", payload
       from api.events($1, $2, $3)`,
      [options.type ?? null, from, to],
      options,
    );
  }

  /** The curated data products. */
  async products(options: CallOptions = {}): Promise<Product[]> {
    return this.query<Product>(
      'products',
      `select product, version, domain, owner, description, table_name as "tableName", key,
              event_time as "eventTime", source_topics as "sourceTopics", row_schema as "rowSchema"
       from api.products order by product`,
      [],
      options,
    );
  }

  /** The KPIs the business ETL computes. */
  async kpis(options: CallOptions = {}): Promise<Kpi[]> {
    return this.query<Kpi>(
      'KPIs',
      `select kpi, version, domain, owner, description, table_name as "tableName", window_kind as "windowKind",
              key, inputs, series
       from api.kpis order by kpi`,
      [],
      options,
    );
  }

  /** The rows of a curated product, those whose event time is in [from, to) when a range is given, streamed. */
  curated<Row = Record<string, unknown>>(
    product: string,
    options: Partial<TimeRange> & StreamOptions = {},
  ): AsyncIterable<Row> {
    return this.tableRows<Row>(
      `rows of ${product}`,
      `select table_name as "table", event_time as "timeColumn" from api.products where product = $1`,
      product,
      options,
    );
  }

  /** The rows of a KPI's table, of the windows starting in [from, to) when a range is given, streamed. */
  kpiRows<Row = Record<string, unknown>>(
    kpi: string,
    options: Partial<TimeRange> & StreamOptions = {},
  ): AsyncIterable<Row> {
    return this.tableRows<Row>(
      `rows of KPI ${kpi}`,
      `select table_name as "table", case when window_kind = 'entity' then null else 'window_start' end as "timeColumn"
       from api.kpis where kpi = $1`,
      kpi,
      options,
    );
  }

  /** The columns of every curated product's and KPI's table, as the database has them (for typed rows). */
  async tableColumns(options: CallOptions = {}): Promise<TableColumn[]> {
    return this.query<TableColumn>(
      'table columns',
      `with tables as (
         select 'curated' as kind, product as name, table_name from api.products
         union all select 'kpi', kpi, table_name from api.kpis
       )
       select t.kind, t.name, t.table_name as "table", a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
              not a.attnotnull as nullable, col_description(a.attrelid, a.attnum) as comment
       from tables t join pg_attribute a on a.attrelid = to_regclass(t.table_name)
       where a.attnum > 0 and not a.attisdropped
       order by t.kind, t.name, a.attnum`,
      [],
      options,
    );
  }

  /**
   * Stores a model's result in the raw store as an event (its own "id", else the hash of its content:
   * a retried write is stored once), from where the curated ETL refines it. Needs the results-writer role.
   */
  async writeResult(
    model: string,
    payload: Record<string, unknown>,
    options: CallOptions & { site?: string } = {},
  ): Promise<WriteResult> {
    const rows = await this.query<WriteResult>(
      `result of ${model}`,
      'select id, stored from api.write_result($1, $2, $3)',
      [model, JSON.stringify(payload), options.site ?? 'plant1'],
      options,
    );
    return rows[0] as WriteResult;
  }

  /**
   * New samples of the series matching an MQTT filter, as the writer commits them (never one that is
   * not stored), until the iteration stops or `signal` aborts. Needs `liveUrl`.
   */
  live(pattern: string, options: LiveOptions = {}): AsyncIterable<LiveSample> {
    if (!this.liveUrl) {
      throw new PlantmeshError('bad-argument', 'live values need liveUrl (the live stream on RabbitMQ) in connect()');
    }
    return liveSamples(this.liveUrl, pattern, options);
  }

  /** Closes the SDK's connections (an application's own pool stays open). */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  private async query<R extends object>(
    what: string,
    sql: string,
    params: unknown[],
    options: CallOptions,
  ): Promise<R[]> {
    const client = await this.checkout(what, options.signal);
    let broken: PlantmeshError | undefined;
    const stop = this.onAbort(client, options.signal);
    try {
      return (await client.query<R & pg.QueryResultRow>(sql, params)).rows;
    } catch (error) {
      broken = this.failure(error, what, options.signal);
      throw broken;
    } finally {
      stop();
      // A failed statement leaves its connection usable; a lost connection is dropped from the pool.
      client.release(broken?.code === 'connection' ? broken : undefined);
    }
  }

  private async *stream<R>(what: string, sql: string, params: unknown[], options: StreamOptions): AsyncGenerator<R> {
    const client = await this.checkout(what, options.signal);
    const stop = this.onAbort(client, options.signal);
    // A cursor's statement lasts as long as its consumer reads: the statement timeout would cut a slow
    // consumer off, so a stream has none (it ends with its iteration or its signal); RESET restores it.
    await client.query('set statement_timeout = 0');
    const cursor = client.query(new Cursor<R>(sql, params));
    let broken: Error | undefined;
    try {
      for (;;) {
        let rows: R[];
        try {
          // A consumer that aborts between batches stops here; one that aborts during a read, on the server.
          if (options.signal?.aborted) throw options.signal.reason;
          rows = await cursor.read(options.batchSize ?? 1_000);
        } catch (error) {
          broken = this.failure(error, what, options.signal);
          throw broken;
        }
        if (rows.length === 0) return;
        yield* rows;
      }
    } finally {
      stop();
      await cursor.close().catch(() => {});
      if (!broken) await client.query('reset statement_timeout').catch((error: Error) => (broken = error));
      // A cursor left open by a consumer that stopped early is closed above; the connection stays good.
      client.release(broken);
    }
  }

  private async *tableRows<Row>(
    what: string,
    lookup: string,
    name: string,
    options: Partial<TimeRange> & StreamOptions,
  ): AsyncGenerator<Row> {
    const [found] = await this.query<{ table: string; timeColumn: string | null }>(what, lookup, [name], options);
    if (!found) throw new PlantmeshError('not-found', `${what}: there is none named "${name}"`);
    const [schema, table] = found.table.split('.') as [string, string];
    // Names come from the registry, and are checked: nothing a caller passes reaches the SQL text.
    if (
      !identifier.test(schema) ||
      !identifier.test(table) ||
      (found.timeColumn && !identifier.test(found.timeColumn))
    ) {
      throw new PlantmeshError('database', `${what}: the registry names an unexpected table ${found.table}`);
    }
    const ranged = options.from !== undefined || options.to !== undefined;
    if (ranged && !found.timeColumn) {
      throw new PlantmeshError('bad-argument', `${what}: its rows have no time to select a range by`);
    }
    const [from, to] = bounds({ from: options.from ?? new Date(0), to: options.to ?? '9999-12-31T00:00:00Z' }, what);
    const sql = ranged
      ? `select * from "${schema}"."${table}" where "${found.timeColumn}" >= $1 and "${found.timeColumn}" < $2 order by "${found.timeColumn}"`
      : `select * from "${schema}"."${table}"`;
    yield* this.stream<Row>(what, sql, ranged ? [from, to] : [], options);
  }

  private async checkout(what: string, signal?: AbortSignal): Promise<pg.PoolClient> {
    if (signal?.aborted) throw new PlantmeshError('cancelled', `${what}: cancelled`, { cause: signal.reason });
    try {
      return await this.pool.connect();
    } catch (error) {
      throw explain(error, what);
    }
  }

  /** While a call runs, an abort cancels its statement on the server (from another connection). */
  private onAbort(client: pg.PoolClient, signal?: AbortSignal): () => void {
    if (!signal) return () => {};
    const pid = (client as unknown as { processID: number }).processID;
    const cancel = () => {
      this.pool.query('select pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    signal.addEventListener('abort', cancel, { once: true });
    return () => signal.removeEventListener('abort', cancel);
  }

  private failure(error: unknown, what: string, signal?: AbortSignal): PlantmeshError {
    if (signal?.aborted) return new PlantmeshError('cancelled', `${what}: cancelled`, { cause: error });
    return explain(error, what);
  }
}
