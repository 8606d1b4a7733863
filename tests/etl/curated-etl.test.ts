import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedDefinitions } from '@plantmesh/etl-curated';
import { waitFor } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

interface RawEvent {
  topic: string;
  payload: Record<string, unknown>;
}

const quenchTopic = 'plant1/heat-treatment/quench-1/events/quench.result';
const plateTopic = 'plant1/heat-treatment/rolling-1/events/plate.ready_for_quenching';
const minute = (n: number) => new Date(Date.UTC(2026, 10, 30, 6) + n * 60_000).toISOString();

/**
 * A day of a quench line, deterministic: every plate announced once and quenched up to three times
 * (the last result corrects the earlier ones), in shuffled order, and one event in fifty broken.
 */
function quenchDay(plates: number): { events: RawEvent[]; poison: number } {
  let state = 7;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const events: RawEvent[] = [];
  let poison = 0;
  for (let plate = 0; plate < plates; plate += 1) {
    const plateId = `P-${plate}`;
    events.push({
      topic: plateTopic,
      payload: {
        id: `ready-${plate}`,
        plateId,
        slabId: `S-${plate >> 2}`,
        thickness_mm: 10 + (plate % 40),
        temperature_C: 880 + (plate % 30),
        occurredAt: minute(plate),
      },
    });
    const results = 1 + Math.floor(random() * 3);
    for (let n = 0; n < results; n += 1) {
      const broken = random() < 0.02;
      if (broken) poison += 1;
      events.push({
        topic: quenchTopic,
        payload: {
          id: `quench-${plate}-${n}`,
          plateId,
          result: n === results - 1 ? 'ok' : 'rework',
          hardness_HB: broken ? 'not measured' : 250 + Math.floor(random() * 200),
          waterFlow_m3_h: 1_000 + plate,
          occurredAt: minute(plate + 10 + n),
        },
      });
    }
  }
  for (let i = events.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [events[i], events[j]] = [events[j] as RawEvent, events[i] as RawEvent];
  }
  return { events, poison };
}

/** The quench table an independent reading of the events gives: per plate, the latest valid result. */
function expectedQuench(events: RawEvent[]): Array<[string, string, number]> {
  const latest = new Map<string, Record<string, unknown>>();
  for (const { topic, payload } of events) {
    if (topic !== quenchTopic || typeof payload.hardness_HB !== 'number') continue;
    const held = latest.get(payload.plateId as string);
    if (!held || (held.occurredAt as string) < (payload.occurredAt as string))
      latest.set(payload.plateId as string, payload);
  }
  return [...latest.values()]
    .map((p) => [p.plateId as string, p.result as string, p.hardness_HB as number] as [string, string, number])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

describe('the curated ETL service (real processes, real PostgreSQL)', () => {
  const platform = useIngestPlatform();
  let writers: pg.Pool;
  let definitions: string;

  /** Stores events as concurrent writers do: `lanes` transactions at once, committing in random order. */
  const storeConcurrently = async (events: RawEvent[], lanes: number) => {
    let next = 0;
    const lane = async () => {
      const client = await writers.connect();
      try {
        while (next < events.length) {
          const chunk = events.slice(next, next + 100);
          next += chunk.length;
          await client.query('begin');
          for (const topic of [quenchTopic, plateTopic]) {
            await client.query(
              `insert into raw.events (id, id_type, topic, source, received_at, payload)
               select e ->> 'id', 'string', $2, 'events', now(), e from jsonb_array_elements($1::jsonb) as e`,
              [JSON.stringify(chunk.filter((event) => event.topic === topic).map((event) => event.payload)), topic],
            );
          }
          // Held open a little while the other lanes commit: seqs become visible out of order.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
          await client.query('commit');
        }
      } finally {
        client.release();
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  };

  const quenchTable = async () =>
    (
      await platform().query<{ plate_id: string; result: string; hardness_hb: number }>(
        'select plate_id, result, hardness_hb from curated.quench_results order by plate_id',
      )
    ).map((row) => [row.plate_id, row.result, row.hardness_hb]);

  beforeAll(() => {
    writers = new pg.Pool({ connectionString: platform().postgres.url, max: 4 });
    writers.on('error', () => {});
    definitions = mkdtempSync(join(tmpdir(), 'plantmesh-definitions-'));
    cpSync(shippedDefinitions, definitions, { recursive: true });
  });

  afterAll(async () => {
    await writers?.end();
    rmSync(definitions, { recursive: true, force: true });
  });

  it('curates every event exactly once with two replicas, out-of-order commits and kill -9 mid-batch', async () => {
    const { events, poison } = quenchDay(3_000);
    const env = { DEFINITIONS_DIR: definitions, BATCH_SIZE: '200' };
    let first = await platform().startCuratedEtl(env, 'etl-curated-1');
    await platform().startCuratedEtl(env, 'etl-curated-2');
    // In three parts, the first replica killed after each of the first two while it catches up.
    const third = Math.ceil(events.length / 3);
    for (let part = 0; part < 3; part += 1) {
      await storeConcurrently(events.slice(part * third, (part + 1) * third), 4);
      if (part < 2) {
        await first.process.stop('SIGKILL');
        first = await first.restart();
      }
    }

    const taken = () =>
      platform().count(
        `select coalesce(sum(events), 0) as n from curated.watermarks where product in ('quench_results', 'plates')`,
      );
    await waitFor('every event taken', async () => (await taken()) >= events.length, 60_000);
    // Each event counted once in a committed batch: none was taken twice by the two replicas.
    expect(await taken()).toBe(events.length);
    expect(await quenchTable()).toEqual(expectedQuench(events));
    expect(await platform().count('select count(*) as n from curated.plates')).toBe(3_000);
    // Every broken event quarantined once, with the event it came from.
    const quarantined = await platform().query<{ event: string; reason: string }>(
      `select headers ->> 'eventId' as event, reason from raw.quarantine where stage = 'etl-curated'`,
    );
    expect(quarantined).toHaveLength(poison);
    expect(quarantined[0]?.reason).toMatch(/^quench_results 1\.0\.0: \/hardness_HB must be integer$/);
    expect(platform().serviceLog('etl-curated-2')).not.toMatch(/"level":(50|60)/);
  });

  it('applies a changed definition without a restart, refuses an invalid one with file and line, goes on', async () => {
    const etl = await platform().startCuratedEtl({ DEFINITIONS_DIR: definitions, RESCAN_MS: '500' }, 'etl-reload');
    const file = join(definitions, 'quench-results.yaml');
    // Version 1.1.0: a new nullable column for the operator on shift.
    const extended = readFileSync(file, 'utf8')
      .replace('version: 1.0.0', 'version: 1.1.0')
      .replace(
        '    occurredAt: { type: string, format: date-time }',
        '    occurredAt: { type: string, format: date-time }\n    operator: { type: string }',
      )
      .replace('key: [plate_id]', 'key: [plate_id]')
      .replace(
        '  - { name: quenched_at,',
        '  - { name: operator, from: /operator, type: text }\n  - { name: quenched_at,',
      );
    writeFileSync(file, extended);
    await waitFor(
      'version 1.1.0 applied',
      async () =>
        (
          await platform().query(
            `select from curated.definitions where product = 'quench_results' and version = '1.1.0'`,
          )
        ).length === 1,
    );
    // A broken file beside it: refused with its file, line and column; the others run on.
    const broken = join(definitions, 'slabs.yaml');
    writeFileSync(broken, readFileSync(broken, 'utf8').replace('key: [slab_id]', 'key: [slab_id, no_such_column]'));
    const refusal = /slabs\.yaml:\d+:\d+: key column \\"no_such_column\\" is not among the columns/;
    await waitFor('the broken file refused', async () => refusal.test(platform().serviceLog('etl-reload')));
    const metrics = await (await fetch(`http://127.0.0.1:${etl.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/plantmesh_etl_definition_errors_total\{[^}]*file="slabs.yaml"[^}]*\} 1/);

    await writers.query(
      `insert into raw.events (id, id_type, topic, source, received_at, payload) values ($1, 'string', $2, 'events', now(), $3)`,
      [
        'with-operator',
        quenchTopic,
        {
          id: 'with-operator',
          plateId: 'P-new',
          result: 'ok',
          hardness_HB: 333,
          operator: 'Ada',
          occurredAt: minute(9_999),
        },
      ],
    );
    await waitFor(
      'the new column filled',
      async () =>
        (await platform().query(`select from curated.quench_results where plate_id = 'P-new' and operator = 'Ada'`))
          .length === 1,
    );
    expect(
      await platform().count(
        `select count(*) as n from curated.definitions where product = 'slabs' and version = '1.0.0'`,
      ),
    ).toBe(1);
  });

  it('curates quarantined events once the definition is fixed and `plantmesh etl replay --quarantine` runs', async () => {
    // The "downgraded" verdict (sold as a lower grade) came with a new furnace: version 1.1.0 does not know it.
    const downgraded = Array.from({ length: 30 }, (_, n) => ({
      topic: quenchTopic,
      payload: {
        id: `downgraded-${n}`,
        plateId: `P-downgraded-${n}`,
        result: 'downgraded',
        hardness_HB: 200,
        occurredAt: minute(n),
      },
    }));
    await storeConcurrently(downgraded, 2);
    const unreplayed = `select count(*) as n from raw.quarantine where stage = 'etl-curated' and replayed_at is null`;
    const stillBroken = await platform().count(
      `select count(*) as n from raw.quarantine where stage = 'etl-curated' and reason like '%/hardness_HB%'`,
    );
    await waitFor(
      'the downgraded plates quarantined',
      async () => (await platform().count(unreplayed)) === stillBroken + 30,
    );

    const file = join(definitions, 'quench-results.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('version: 1.1.0', 'version: 1.2.0')
        .replace('result: { enum: [ok, rework, scrap] }', 'result: { enum: [ok, rework, scrap, downgraded] }'),
    );
    await waitFor(
      'version 1.2.0 applied',
      async () =>
        (
          await platform().query(
            `select from curated.definitions where product = 'quench_results' and version = '1.2.0'`,
          )
        ).length === 1,
    );
    const replay = await platform().cli(['etl', 'replay', '--quarantine', '--definition', 'quench_results']);
    expect(replay.code).toBe(0);
    expect(replay.output).toContain(
      `quench_results 1.2.0: ${stillBroken + 30} event(s), 30 row(s) written, ${stillBroken} refused`,
    );
    expect(replay.output).toMatch(/quench_results: \d+ of \d+ \(100%\)/);
    expect(await platform().count(`select count(*) as n from curated.quench_results where result = 'downgraded'`)).toBe(
      30,
    );
    // What 1.2.0 still refuses stays in the quarantine, once, under 1.2.0.
    expect(
      await platform().query(
        `select headers ->> 'version' as version, count(*)::int as n from raw.quarantine
         where stage = 'etl-curated' and replayed_at is null group by 1`,
      ),
    ).toEqual([{ version: '1.2.0', n: stillBroken }]);
  });
});
