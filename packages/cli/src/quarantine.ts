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
  /** Rows that cannot be replayed as they are (no topic recorded), or that another replay has taken. */
  skipped: Array<{ id: number; why: string }>;
}

/** The MQTT 5 user property that marks a replayed message with the quarantine row it came from. */
export const replayMarker = 'plantmesh-replay-of';

/**
 * Publishes quarantined payloads again, as they were, to their topic on the MQTT broker (QoS 1), with
 * their MQTT user properties and a `plantmesh-replay-of` marker, so that they go through the whole
 * pipeline once more (after a fix of the cause, e.g. a larger payload limit); a payload refused again
 * becomes a new row that names the replay. Each row is locked while it is published and marked replayed
 * in the same transaction, so two replays never publish the same row; only a crash between the
 * broker's acknowledgement and the commit can publish it again (the event store keeps one copy).
 */
export async function replayQuarantine(
  databaseUrl: string,
  mqttUrl: string,
  selection: { ids: number[]; reasonLike?: string; source?: string },
  progress?: (done: number, total: number) => void,
): Promise<ReplayResult> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'plantmesh-quarantine' });
  await client.connect();
  const broker = await mqtt.connectAsync(mqttUrl, { protocolVersion: 5, clientId: `plantmesh-replay-${process.pid}` });
  const result: ReplayResult = { replayed: [], skipped: [] };
  try {
    const { rows } = await client.query<{ id: string; topic: string | null; stage: string }>(
      `select id, topic, stage from raw.quarantine
       where replayed_at is null and (id = any($1::bigint[]) or reason like $2)
         and ($3::text is null or source = $3)
       order by id`,
      [selection.ids, selection.reasonLike ?? null, selection.source ?? null],
    );
    for (const [index, { id, topic, stage }] of rows.entries()) {
      if (index > 0 && index % 100 === 0) progress?.(index, rows.length);
      if (stage.startsWith('etl-')) {
        // Stored in raw.events already: publishing it again would change nothing. The ETL curates it again.
        result.skipped.push({ id: Number(id), why: `refused by ${stage}: use plantmesh etl replay --quarantine` });
        continue;
      }
      if (!topic) {
        result.skipped.push({ id: Number(id), why: 'no topic recorded' });
        continue;
      }
      await client.query('begin');
      try {
        const locked = await client.query<{ payload: Buffer; user_properties: Record<string, string> | null }>(
          `select payload, headers -> 'x-mqtt-user-properties' as user_properties from raw.quarantine
           where id = $1 and replayed_at is null for update skip locked`,
          [id],
        );
        const row = locked.rows[0];
        if (!row) {
          result.skipped.push({ id: Number(id), why: 'replayed meanwhile by another replay' });
          await client.query('rollback');
          continue;
        }
        await broker.publishAsync(topic, row.payload, {
          qos: 1,
          properties: { userProperties: { ...row.user_properties, [replayMarker]: id } },
        });
        await client.query('update raw.quarantine set replayed_at = now() where id = $1', [id]);
        await client.query('commit');
        result.replayed.push(Number(id));
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      }
    }
    if (rows.length > 100) progress?.(rows.length, rows.length);
    return result;
  } finally {
    await broker.endAsync();
    await client.end();
  }
}
