/**
 * The catalog at scale, on one PostgreSQL as the tests run it:
 * - discovery of 10,000 tables (8 columns each, comments on some) and 100,000 topics (sensor series seen),
 *   and the reconcile that stores it, the first time and again with nothing changed;
 * - search through the REST API: names, prefixes, columns and topic words, p50 and p99 over many queries;
 * - lineage of a 1,000-node graph (a ternary tree of tables from one root, siblings feeding each other too),
 *   through the REST API: depth 1, the whole graph downstream of the root, upstream of the last leaf.
 *   pnpm bench:catalog        (a few minutes; prints its figures and updates BENCHMARKS.md)
 *   BENCH_TABLES=1000 BENCH_TOPICS=10000 pnpm bench:catalog    a smaller run, recorded nowhere
 */
import { buildServer, CatalogStore, discover } from '@plantmesh/catalog';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { recordSection, table } from '../record.js';

const tables = Number(process.env.BENCH_TABLES ?? 10_000);
const topics = Number(process.env.BENCH_TOPICS ?? 100_000);
const recorded = process.env.BENCH_TABLES === undefined && process.env.BENCH_TOPICS === undefined;
const graphNodes = 1_000;
const say = (line: string) => process.stdout.write(`${line}\n`);
const round = (n: number) => Math.round(n).toLocaleString('en-US');
const log = createLogger({ service: 'bench', version: '0', level: 'silent' });
const tableName = (n: number) => `bench_${String(n).padStart(5, '0')}`;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const began = performance.now();
  const result = await work();
  return { ms: performance.now() - began, result };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

const server = await (await PostgresServer.create()).start();
process.once('SIGINT', () => void server.destroy().then(() => process.exit(130)));
const pool = new pg.Pool({ connectionString: server.url, max: 8 });
pool.on('error', () => {});
try {
  await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
  say(`creating ${round(tables)} tables and ${round(topics)} sensor series ...`);
  for (let first = 0; first < tables; first += 500) {
    const statements: string[] = [];
    for (let n = first; n < Math.min(tables, first + 500); n += 1) {
      statements.push(
        `create table curated.${tableName(n)} (id bigint primary key, line text, machine text, measured_at timestamptz,
           temperature double precision, pressure double precision, state text, note text)`,
      );
      if (n % 10 === 0) {
        statements.push(`comment on table curated.${tableName(n)} is 'Bench table ${n} of the quench line'`);
        statements.push(`comment on column curated.${tableName(n)}.temperature is 'Plate temperature after quench'`);
      }
    }
    await pool.query(statements.join(';\n'));
  }
  await pool.query(
    `insert into metrics.series (path, unit)
     select 'plant' || (n / 25000) || '/area' || (n / 2500 % 10) || '/line' || (n / 250 % 10) || '/cell' || (n / 10 % 25)
            || '/tag' || (n % 10), 'CEL'
       from generate_series(0, $1::int - 1) as n`,
    [topics],
  );
  await pool.query('analyze');

  const pools = { raw: pool, metrics: pool, curated: pool, business: pool };
  const discovery = await timed(() => discover({ pools, readerTopics: { events: ['#'], sensors: ['#'] } }));
  const snapshot = discovery.result;
  const counted = {
    tables: snapshot.assets.filter((asset) => asset.kind === 'postgres_table').length,
    topics: snapshot.assets.filter((asset) => asset.kind === 'mqtt_topic').length,
  };
  say(
    `discovery: ${round(snapshot.assets.length)} assets (${round(counted.tables)} tables, ${round(counted.topics)} topics) in ${(discovery.ms / 1000).toFixed(1)} s`,
  );
  const store = new CatalogStore(pool);
  const first = await timed(() => store.reconcile(snapshot));
  say(`reconcile, first: ${(first.ms / 1000).toFixed(1)} s (${JSON.stringify(first.result)})`);
  const again = await timed(async () => store.reconcile(await discover({ pools })));
  say(
    `discovery and reconcile again, nothing changed: ${(again.ms / 1000).toFixed(1)} s (${JSON.stringify(again.result)})`,
  );

  // A lineage graph of 1,000 tables: a ternary tree from one root, siblings also feeding the next one.
  const node = (n: number) => `postgres_table:curated.${tableName(n)}`;
  const edges: Array<[string, string]> = [];
  for (let n = 1; n < graphNodes; n += 1) {
    edges.push([node(Math.floor((n - 1) / 3)), node(n)]);
    if (n % 3 !== 1) edges.push([node(n - 1), node(n)]);
  }
  await pool.query(
    `insert into catalog.lineage_edges (from_asset, to_asset, relation, source)
     select f, t, 'feeds', 'manual' from unnest($1::text[], $2::text[]) as e(f, t) on conflict do nothing`,
    [edges.map((edge) => edge[0]), edges.map((edge) => edge[1])],
  );

  const app = await buildServer({ store, log, version: 'bench' });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const get = async (path: string) => {
      const began = performance.now();
      const response = await fetch(`${address}/v1${path}`);
      const body = (await response.json()) as Record<string, unknown>;
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
      return { ms: performance.now() - began, body };
    };
    // Exact names, prefixes of names, column names, topic words, words of comments.
    const queries = [
      ...Array.from({ length: 50 }, (_, i) => tableName((i * 197) % tables)),
      ...Array.from(
        { length: 50 },
        (_, i) =>
          `bench_${String((i * 37) % tables)
            .padStart(5, '0')
            .slice(0, 3)}`,
      ),
      'temperature',
      'measured_at',
      'pressure',
      'quench',
      'plate temperature',
      ...Array.from({ length: 45 }, (_, i) => `cell${i % 25} tag${i % 10}`),
      ...Array.from({ length: 50 }, (_, i) => `area${i % 10}`),
    ];
    const searchTimes: number[] = [];
    let exactFirst = 0;
    for (const query of queries) {
      const { ms, body } = await get(`/search?q=${encodeURIComponent(query)}`);
      searchTimes.push(ms);
      const hits = (body.results ?? body.hits ?? []) as Array<{ name?: string; id?: string }>;
      if (query.startsWith('bench_') && query.length === 11 && JSON.stringify(hits[0] ?? {}).includes(query)) {
        exactFirst += 1;
      }
    }
    searchTimes.sort((a, b) => a - b);
    say(
      `search: ${queries.length} queries, p50 ${quantile(searchTimes, 0.5).toFixed(1)} ms, p99 ${quantile(searchTimes, 0.99).toFixed(1)} ms; exact name first for ${exactFirst} of 50`,
    );

    const root = encodeURIComponent(node(0));
    const near = await get(`/assets/${root}/lineage?direction=downstream&depth=1`);
    const whole = await get(`/assets/${root}/lineage?direction=downstream&depth=50&maxNodes=5000`);
    const upstream = await get(
      `/assets/${encodeURIComponent(node(graphNodes - 1))}/lineage?direction=upstream&depth=50&maxNodes=5000`,
    );
    const nodes = (answer: { body: Record<string, unknown> }) =>
      (answer.body.nodes as unknown[] | undefined)?.length ?? 0;
    say(`lineage, depth 1: ${nodes(near)} nodes in ${near.ms.toFixed(0)} ms`);
    say(`lineage, downstream whole: ${nodes(whole)} nodes in ${whole.ms.toFixed(0)} ms`);
    say(`lineage, upstream from the last leaf: ${nodes(upstream)} nodes in ${upstream.ms.toFixed(0)} ms`);

    if (recorded) {
      recordSection(
        'catalog',
        [
          '### The catalog at scale (`pnpm bench:catalog`)',
          '',
          `${new Date().toISOString().slice(0, 10)}, this machine (2 cores), one PostgreSQL as the tests run it, the API on plain HTTP.`,
          '',
          table(
            ['measure', 'figure'],
            [
              [
                `discovery of ${round(counted.tables)} tables and ${round(counted.topics)} topics`,
                `${(discovery.ms / 1000).toFixed(1)} s (${round(snapshot.assets.length)} assets)`,
              ],
              ['its reconcile into the catalog, the first time', `${(first.ms / 1000).toFixed(1)} s`],
              ['discovery and reconcile again, nothing changed', `${(again.ms / 1000).toFixed(1)} s`],
              [
                `search, ${queries.length} queries (names, prefixes, columns, topic words)`,
                `p50 ${quantile(searchTimes, 0.5).toFixed(1)} ms, p99 ${quantile(searchTimes, 0.99).toFixed(1)} ms; exact name first ${exactFirst}/50`,
              ],
              ['lineage of a 1,000-node graph, depth 1', `${nodes(near)} nodes, ${near.ms.toFixed(0)} ms`],
              ['the same, downstream whole', `${nodes(whole)} nodes, ${whole.ms.toFixed(0)} ms`],
              ['the same, upstream from the last leaf', `${nodes(upstream)} nodes, ${upstream.ms.toFixed(0)} ms`],
            ],
          ),
        ].join('\n'),
      );
    }
  } finally {
    await app.close();
  }
} finally {
  await pool.end();
  await server.destroy();
}
