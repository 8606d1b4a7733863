import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedKpis } from '@plantmesh/etl-business';
import { EventGenerator, type PlantEvent } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approximately } from '../../packages/etl-business/test/expected.js';
import { expectedKpis, kpisMatch, readKpis } from '../support/kpi-tables.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const start = Date.parse('2026-11-29T20:00:00Z');

describe('the business ETL service (real processes, real PostgreSQL)', () => {
  const platform = useIngestPlatform();
  let kpis: string;
  const events: PlantEvent[] = [];

  const storeRaw = async (batch: PlantEvent[]) => {
    await platform().query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload)
       select e -> 'payload' ->> 'id', 'string', e ->> 'topic', 'events', now(), e -> 'payload'
       from jsonb_array_elements($1::jsonb) as e`,
      [JSON.stringify(batch)],
    );
  };
  const query = <R extends Record<string, unknown>>(sql: string) => platform().query<R>(sql);
  /** Everything curated and every marked window recomputed. */
  const settled = async () =>
    (await platform().count('select count(*) as n from business.dirty_windows')) === 0 &&
    (await platform().count(
      `select count(*) as n from business.watermarks w, curated.changes c where (c.txid, c.seq) > (w.txid, w.seq)`,
    )) === 0;

  beforeAll(async () => {
    kpis = mkdtempSync(join(tmpdir(), 'plantmesh-kpis-'));
    cpSync(shippedKpis, kpis, { recursive: true });
    const generator = new EventGenerator(11);
    for (let minute = 0; minute < 1_440; minute += 1) events.push(generator.next(start + minute * 60_000));
    await platform().startCuratedEtl({ BATCH_SIZE: '300' });
  });

  afterAll(() => {
    rmSync(kpis, { recursive: true, force: true });
  });

  it('computes every window right with two replicas and kill -9 mid-round, as an independent computation', async () => {
    let first = await platform().startBusinessEtl({ KPI_DEFINITIONS_DIR: kpis }, 'etl-business-1');
    await platform().startBusinessEtl({ KPI_DEFINITIONS_DIR: kpis }, 'etl-business-2');
    const third = Math.ceil(events.length / 3);
    for (let part = 0; part < 3; part += 1) {
      await storeRaw(events.slice(part * third, (part + 1) * third));
      // Let the pipeline get busy with this part, then kill the first replica in the middle of it.
      await waitFor(
        'windows being recomputed',
        async () =>
          (await platform().count('select count(*) as n from business.dirty_windows')) > 0 || (await settled()),
        20_000,
      );
      if (part < 2) {
        await first.process.stop('SIGKILL');
        first = await first.restart();
      }
    }
    await waitFor('every window computed', () => kpisMatch(query, events), 60_000).catch(() => {});
    expect(await readKpis(query)).toEqual(approximately(expectedKpis(events)));
    expect(expectedKpis(events).yield.length).toBeGreaterThan(10);
  });

  it('applies a changed KPI without a restart (recomputing its windows), refuses a broken one with file and line', async () => {
    const file = join(kpis, 'quench-quality-per-shift.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('version: 1.0.0', 'version: 1.1.0')
        .replace(
          "count(*) filter (where result = 'rework')::int as rework,",
          "count(*) filter (where result = 'rework')::int as rework,\n           max(quenched_at) as last_quenched_at,",
        )
        .replace(
          '  - { name: quality_ratio,',
          '  - { name: last_quenched_at, type: timestamptz }\n  - { name: quality_ratio,',
        ),
    );
    const broken = join(kpis, 'heat-yield.yaml');
    writeFileSync(
      broken,
      readFileSync(broken, 'utf8').replace(
        'inputs: [heats, slabs, plates, quench_results]',
        'inputs: [heats, slabs, plates, quench_results, coils]',
      ),
    );
    await waitFor(
      'every shift recomputed by 1.1.0',
      async () => {
        const rows = await platform().query<{ n: number }>(
          `select count(*)::int as n from business.quench_quality_per_shift where _definition_version = '1.0.0' or last_quenched_at is null`,
        );
        return rows[0]?.n === 0 && (await settled());
      },
      30_000,
    );
    const log = platform().serviceLog('etl-business-2') + platform().serviceLog('etl-business-1');
    expect(log).toMatch(/heat-yield\.yaml:\d+:\d+: no curated product \\"coils\\" is applied/);
    expect(await readKpis(query)).toEqual(approximately(expectedKpis(events)));
  });

  it('maintains the sample rollups from samples that came through the writer, and prunes their change log', async () => {
    await platform().startWriter();
    await platform().startSensorsReader();
    await platform().startBusinessEtl({ KPI_DEFINITIONS_DIR: kpis, ROLLUP_MS: '200', PRUNE_MS: '1000' }, 'etl-rollups');
    // A gateway sends three minutes of a series, ten minutes late, as one message.
    const topic = 'plant1/heat-treatment/quench1/cell1/late-gateway-temperature';
    const from = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const samples = Array.from({ length: 180 }, (_, i) => ({ ts: from + i * 1000, value: (i % 60) + 1, unit: 'CEL' }));
    const client = await mqtt.connectAsync(platform().publisherUrl('sensors'), { protocolVersion: 5 });
    await client.publishAsync(topic, JSON.stringify(samples), { qos: 1 });
    await client.endAsync();

    const minutes = () =>
      platform().query<{ bucket: Date; samples: number; sum: number; first: number; last: number }>(
        `select r.bucket, r.samples::int as samples, r.sum, r.first, r.last
         from metrics.rollup_1m r join metrics.series s on s.id = r.series_id where s.path = $1 order by 1`,
        [topic],
      );
    await waitFor('the late minutes materialized', async () => (await minutes()).length === 3, 30_000);
    expect(await minutes()).toEqual(
      [0, 1, 2].map((minute) => ({
        bucket: new Date(from + minute * 60_000),
        samples: 60,
        sum: 1830,
        first: 1,
        last: 60,
      })),
    );
    // The view gives the same minutes; the hour holds all of them.
    const [hour] = await platform().query<{ samples: number }>(
      `select sum(h.samples)::int as samples from metrics.samples_1h h join metrics.series s on s.id = h.series_id
       where s.path = $1`,
      [topic],
    );
    expect(hour?.samples).toBe(180);
    // Once the rollups and the KPIs that read series have passed the writes, their log is pruned.
    await waitFor(
      'the sample change log pruned',
      async () => (await platform().count('select count(*) as n from metrics.sample_changes')) === 0,
      30_000,
    );
  });
});
