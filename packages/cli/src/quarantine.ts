import mqtt from 'mqtt';
import pg from 'pg';

export interface QuarantinedRow {
  id: number;
  quarantined_at: Date;
  stage: string;
  topic: string | null;
  reason: string;
  bytes: number;
  replayed_at: Date | null;
}

/** The quarantine, newest first; by default only what has not been replayed. */
export async function listQuarantine(
  databaseUrl: string,
  options: { limit: number; all: boolean },
): Promise<QuarantinedRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'plantmesh-quarantine' });
  await client.connect();
  try {
    const { rows } = await client.query<QuarantinedRow>(
      `select id, quarantined_at, stage, topic, reason, length(payload) as bytes, replayed_at
       from raw.quarantine where $1 or replayed_at is null order by id desc limit $2`,
      [options.all, options.limit],
    );
    return rows;
  } finally {
    await client.end();
  }
}

export interface ReplayResult {
  replayed: number[];
  /** Rows that cannot be replayed as they are (no topic: a writer-side refusal of a whole batch). */
  skipped: Array<{ id: number; why: string }>;
}

/**
 * Publishes quarantined payloads again, as they were, to their topic on the MQTT broker (QoS 1), so
 * that they go through the whole pipeline once more (after a fix of the cause, e.g. a larger payload
 * limit), and marks each row replayed once the broker has it. A crash between the two replays a row
 * twice; the store keeps one copy of an event.
 */
export async function replayQuarantine(
  databaseUrl: string,
  mqttUrl: string,
  selection: { ids: number[]; reasonLike?: string },
): Promise<ReplayResult> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'plantmesh-quarantine' });
  await client.connect();
  const broker = await mqtt.connectAsync(mqttUrl, { protocolVersion: 5, clientId: `plantmesh-replay-${process.pid}` });
  const result: ReplayResult = { replayed: [], skipped: [] };
  try {
    const { rows } = await client.query<{ id: number; topic: string | null; payload: Buffer }>(
      `select id, topic, payload from raw.quarantine
       where replayed_at is null and (id = any($1::bigint[]) or reason like $2) order by id`,
      [selection.ids, selection.reasonLike ?? null],
    );
    for (const row of rows) {
      if (!row.topic) {
        result.skipped.push({ id: Number(row.id), why: 'no topic recorded' });
        continue;
      }
      await broker.publishAsync(row.topic, row.payload, { qos: 1 });
      await client.query('update raw.quarantine set replayed_at = now() where id = $1', [row.id]);
      result.replayed.push(Number(row.id));
    }
    return result;
  } finally {
    await broker.endAsync();
    await client.end();
  }
}
