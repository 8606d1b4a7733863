import { EventWriter, SampleWriter } from '@plantmesh/amqp-writer';
import { createLogger, type EventIdType, eventRecord } from '@plantmesh/core';
import { parseEvent, parseSamples } from '@plantmesh/mqtt-reader';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The set of JSON documents that JavaScript's parser and PostgreSQL's jsonb disagree on, measured on the
 * real server through the writer's own SQL: whatever the events reader forwards, the store takes; what
 * the store would refuse, the reader refuses with a reason (and it is quarantined, not lost).
 * `stored`: the reader forwards it and PostgreSQL stores it. `unstorable`: JSON.parse takes it,
 * PostgreSQL refuses it, the reader refuses it as unstorable_json. `conservative`: the reader refuses it
 * though this server would take it (a limit kept below every server setting). `invalid`: neither takes it.
 */
type Expected = 'stored' | 'unstorable' | 'conservative' | 'invalid';

const nest = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const cases: Array<[string, string, Expected]> = [
  ['plain object', '{"id":"e1","heat":"H1","t":1532.5}', 'stored'],
  ['escaped backslash before u0000', '{"a":"\\\\u0000"}', 'stored'],
  ['surrogate pair escapes', '{"a":"\\ud83d\\ude00","\\uD83D\\uDE00":1}', 'stored'],
  ['noncharacters', '{"a":"\\ufffe\\uffff"}', 'stored'],
  ['line separators and DEL', '{"a":"\u2028\u2029\u007f\u0085"}', 'stored'],
  ['negative zero, 30-digit integer, exponents', '{"a":-0,"b":123456789012345678901234567890,"c":1E+400}', 'stored'],
  ['largest integer part numeric takes', '{"a":1e131071}', 'stored'],
  ['131072 integer digits', `{"a":1${'0'.repeat(131_071)}}`, 'stored'],
  ['smallest scale numeric takes', '{"a":1e-16383,"b":1.5e-16382}', 'stored'],
  ['zero with a huge exponent', '{"a":0e999999}', 'stored'],
  ['16383 fraction digits', `{"a":0.${'1'.repeat(16_383)}}`, 'stored'],
  ['duplicate keys', '{"a":1,"a":2}', 'stored'],
  ['byte order mark', '\ufeff{"id":"bom"}', 'stored'],
  ['nesting at the reader limit (512)', nest(512), 'stored'],
  ['a 300 kB string', `{"a":"${'x'.repeat(300_000)}"}`, 'stored'],
  ['\\u0000 in a value', '{"a":"x\\u0000y"}', 'unstorable'],
  ['\\u0000 in a key', '{"\\u0000":1}', 'unstorable'],
  ['lone high surrogate', '{"a":"\\ud800"}', 'unstorable'],
  ['lone low surrogate', '{"a":"\\udc00"}', 'unstorable'],
  ['high surrogate then text', '{"a":"\\ud800x"}', 'unstorable'],
  ['two high surrogates', '{"a":"\\ud800\\ud800"}', 'unstorable'],
  ['reversed pair', '{"a":"\\ude00\\ud83d"}', 'unstorable'],
  ['lone surrogate in a key', '{"\\ud800":1}', 'unstorable'],
  ['1e999999', '{"a":1e999999}', 'unstorable'],
  ['one integer digit too many', '{"a":1e131072}', 'unstorable'],
  ['131073 integer digits', `{"a":1${'0'.repeat(131_072)}}`, 'unstorable'],
  ['one fraction digit too many', '{"a":1e-16384}', 'unstorable'],
  ['trailing zeros count as scale', '{"a":1.000e-16381}', 'unstorable'],
  ['16384 fraction digits', `{"a":0.${'1'.repeat(16_384)}}`, 'unstorable'],
  ['zero with a huge negative exponent', '{"a":0e-999999}', 'unstorable'],
  ['exponent past 64 bits', '{"a":1e99999999999999999999}', 'unstorable'],
  ['200,000 nested arrays', nest(200_000), 'unstorable'],
  ['nesting past the reader limit', nest(600), 'conservative'],
  ['trailing comma', '{"a":1,}', 'invalid'],
  ['NaN', '{"a":NaN}', 'invalid'],
  ['single quotes', "{'a':1}", 'invalid'],
  ['leading zero', '{"a":01}', 'invalid'],
  ['plus sign', '{"a":+1}', 'invalid'],
  ['bare fraction', '{"a":.5}', 'invalid'],
  ['raw tab in a string', '{"a":"\t"}', 'invalid'],
  ['raw NUL byte in a string', '{"a":"\u0000"}', 'invalid'],
  ['form feed as white space', '{"a":1}\f', 'invalid'],
  ['unknown escape', '{"a":"\\a"}', 'invalid'],
  ['short unicode escape', '{"a":"\\u12"}', 'invalid'],
];

describe('the store takes what the readers forward (real PostgreSQL)', () => {
  let server: PostgresServer;
  let client: pg.Client;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    const silent = createLogger({ service: 'test', version: '0', level: 'silent' });
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), silent);
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    // The smallest stack PostgreSQL can be given: the reader's depth limit must hold even there.
    await client.query(`set max_stack_depth = '100kB'`);
  });

  afterAll(async () => {
    await client?.end();
    await server?.destroy();
  });

  /** Runs the writer's own statement in a transaction that is rolled back: null if stored, else the error. */
  async function attempt(write: () => Promise<unknown>): Promise<string | null> {
    await client.query('begin');
    try {
      await write();
      return null;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.query('rollback');
    }
  }

  const events = new EventWriter();
  const storeEvent = (payload: string, id = 'edge', idType: EventIdType = 'string') => {
    const record = eventRecord(
      {
        id,
        idType,
        topic: 'plant/events/edge',
        source: 'test',
        receivedAt: Date.now(),
        headers: {},
        traceparent: null,
      },
      payload,
    );
    return attempt(() => events.write(client, [{ records: record, count: 1, receivedAt: Date.now() }]));
  };

  it.each(cases)('%s: %s', async (_name, payload, expected) => {
    let parsedByJs = true;
    try {
      JSON.parse(payload.replace(/^\ufeff/, ''));
    } catch {
      parsedByJs = false;
    }
    const read = parseEvent('plant/events/edge', Buffer.from(payload), 'id', { maxBytes: 2 << 20, maxDepth: 512 });
    const jsonb = await attempt(() => client.query('select $1::jsonb', [payload.replace(/^\ufeff/, '')]));
    const measured: Expected = read.ok
      ? 'stored'
      : read.kind === 'unstorable_json'
        ? jsonb === null
          ? 'conservative'
          : 'unstorable'
        : 'invalid';
    expect(measured, read.ok ? 'forwarded' : read.reason).toBe(expected);
    if (read.ok) expect(await storeEvent(read.value.text)).toBeNull();
    if (expected === 'unstorable') expect(parsedByJs && jsonb !== null).toBe(true);
    if (expected === 'invalid') expect(!parsedByJs && jsonb !== null).toBe(true);
  });

  it('keeps the JSON type of an id in the key: the number 7 and the text "7" are two events', async () => {
    await client.query('begin');
    try {
      const write = (id: string, idType: EventIdType) =>
        events.write(client, [
          {
            records: eventRecord(
              { id, idType, topic: 't', source: 'test', receivedAt: Date.now(), headers: {}, traceparent: null },
              `{"id":${idType === 'integer' ? id : JSON.stringify(id)}}`,
            ),
            count: 1,
            receivedAt: Date.now(),
          },
        ]);
      expect((await write('7000852944000', 'integer')).rows).toBe(1);
      expect((await write('7000852944000', 'string')).rows).toBe(1);
      expect((await write('7000852944000', 'integer')).rows).toBe(0);
      const { rows } = await client.query(`select id_type from raw.events where id = '7000852944000' order by 1`);
      expect(rows).toEqual([{ id_type: 'integer' }, { id_type: 'string' }]);
    } finally {
      await client.query('rollback');
    }
  });

  it('stores every sample the sensors reader forwards, at the edges of time and of float8', async () => {
    const samples = new SampleWriter();
    const payload = JSON.stringify([
      { ts: '0001-01-01T00:00:00Z', value: 5e-324 },
      { ts: '9999-12-31T23:59:59.999Z', value: 1.7976931348623157e308 },
      { ts: 0, value: -0, quality: 'bad', unit: 'CEL' },
      { ts: '2026-11-30T10:00:00+01:00', value: true, quality: 'uncertain' },
    ]);
    const read = parseSamples('plant/area/line/cell/t', Buffer.from(payload), 1 << 20, Date.now());
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(await attempt(() => samples.write(client, [[read.value]]))).toBeNull();
    for (const ts of ['0000-12-31T23:59:59.999Z', '+010000-01-01T00:00:00Z', -62135596800001, 253402300800000]) {
      const refused = parseSamples('t', Buffer.from(JSON.stringify({ ts, value: 1 })), 1 << 20, Date.now());
      expect(refused, String(ts)).toMatchObject({ ok: false, kind: 'invalid_sample' });
    }
  });
});
