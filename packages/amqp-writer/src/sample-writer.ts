import { finished } from 'node:stream/promises';
import {
  type ConsumeMessage,
  decodeSampleBatch,
  ingest,
  type QuarantineEntry,
  type SampleGroup,
} from '@plantmesh/core';
import type { LiveSamples } from '@plantmesh/live-stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { halves, type StreamWriter, type WriteResult } from './stream-writer.js';

const qualityNames = ['good', 'uncertain', 'bad'];

/** Epoch ms as ISO 8601; a time JavaScript cannot write so may be the very cause, and stays the number. */
function isoTime(ms: number): string | number {
  const time = new Date(ms);
  return Number.isNaN(time.getTime()) ? ms : time.toISOString();
}

/**
 * metrics.samples by COPY (the fastest load PostgreSQL has), series registered on first sight, and
 * metrics.latest moved forward once per series per batch. A batch PostgreSQL refuses is halved, by MQTT
 * message and then by sample, down to the refused sample, which is quarantined in the sensor payload
 * format on its topic, ready for replay.
 */
export class SampleWriter implements StreamWriter<SampleGroup[]> {
  readonly stream = 'samples';
  readonly queue = ingest.queues.samples;
  readonly tables = ['metrics.series', 'metrics.samples', 'metrics.latest', 'metrics.sample_changes'];
  /** Ids of committed series; ids found inside a transaction are cached only once it commits. */
  private readonly seriesIds = new Map<string, number>();

  /** @param live called with each committed batch's samples, per series (for the live stream) */
  constructor(private readonly live?: (messages: LiveSamples[]) => void) {}

  decode(message: ConsumeMessage): SampleGroup[] {
    const groups = decodeSampleBatch(message.content);
    if (!Array.isArray(groups)) throw new Error('a sample batch must be a JSON array');
    return groups;
  }

  rows(item: SampleGroup[]): number {
    let count = 0;
    for (const group of item) count += group.samples.length;
    return count;
  }

  receivedAt(item: SampleGroup[]): number[] {
    return item.map((group) => group.receivedAt);
  }

  async write(client: pg.ClientBase, items: SampleGroup[][]): Promise<WriteResult> {
    const groups = items.flat();
    const { ids, found } = await this.resolveSeries(client, groups);
    const latest = new Map<number, [number, number, number]>();
    const lines: string[] = [];
    let rows = 0;
    const live = new Map<string, LiveSamples>();
    let from = Number.POSITIVE_INFINITY;
    let to = Number.NEGATIVE_INFINITY;
    for (const group of groups) {
      const id = ids.get(group.topic) as number;
      let newest = latest.get(id);
      for (const sample of group.samples) {
        lines.push(`${new Date(sample[0]).toISOString()}\t${id}\t${sample[1]}\t${sample[2]}\n`);
        if (!newest || sample[0] > newest[0]) newest = sample;
        if (sample[0] < from) from = sample[0];
        if (sample[0] > to) to = sample[0];
      }
      rows += group.samples.length;
      if (newest) latest.set(id, newest);
      if (this.live) {
        const message = live.get(group.topic) ?? { path: group.topic, unit: group.unit, samples: [] };
        message.samples.push(...group.samples);
        live.set(group.topic, message);
      }
    }
    const copy = client.query(copyFrom('copy metrics.samples (ts, series_id, value, quality) from stdin'));
    copy.end(lines.join(''));
    await finished(copy);
    // Locked in series order, so that concurrent batches cannot deadlock on metrics.latest.
    const entries = [...latest.entries()].sort((a, b) => a[0] - b[0]);
    await client.query(
      `insert into metrics.latest (series_id, ts, value, quality)
       select * from unnest($1::int[], $2::timestamptz[], $3::float8[], $4::int2[])
       on conflict (series_id) do update set ts = excluded.ts, value = excluded.value, quality = excluded.quality
       where metrics.latest.ts < excluded.ts`,
      [
        entries.map(([id]) => id),
        entries.map(([, sample]) => new Date(sample[0]).toISOString()),
        entries.map(([, sample]) => sample[1]),
        entries.map(([, sample]) => sample[2]),
      ],
    );
    // What this write covered, for the rollups and the KPIs that read samples (docs/adr/0011-sample-rollups.md).
    if (rows > 0) {
      await client.query('insert into metrics.sample_changes (ts_from, ts_to, samples) values ($1, $2, $3)', [
        new Date(from).toISOString(),
        new Date(to).toISOString(),
        rows,
      ]);
    }
    return {
      rows,
      onCommit: () => {
        for (const [path, id] of found) this.seriesIds.set(path, id);
        if (live.size > 0) this.live?.([...live.values()]);
      },
    };
  }

  split(item: SampleGroup[]): [SampleGroup[], SampleGroup[]] | undefined {
    if (item.length > 1) return halves(item);
    const [group] = item;
    if (!group || group.samples.length < 2) return undefined;
    return halves(group.samples).map((samples) => [{ ...group, samples }]) as [SampleGroup[], SampleGroup[]];
  }

  refusals(item: SampleGroup[], message: ConsumeMessage, reason: string): QuarantineEntry[] {
    const source = message.properties.headers?.[ingest.headers.source];
    return item.map((group) => ({
      stage: 'amqp-writer',
      source: typeof source === 'string' ? source : null,
      topic: group.topic,
      reason,
      payload: Buffer.from(
        JSON.stringify(
          group.samples.map(([ts, value, quality]) => ({
            ts: isoTime(ts),
            value,
            quality: qualityNames[quality],
            ...(group.unit === null ? {} : { unit: group.unit }),
          })),
        ),
      ),
      headers: {
        [ingest.headers.topic]: group.topic,
        [ingest.headers.receivedAt]: new Date(group.receivedAt).toISOString(),
      },
    }));
  }

  /** The id of every series in the batch, registering the new ones with their unit. */
  private async resolveSeries(client: pg.ClientBase, groups: SampleGroup[]) {
    const found = new Map<string, number>();
    const units = new Map<string, string | null>();
    for (const group of groups) {
      if (!this.seriesIds.has(group.topic) && !units.has(group.topic)) units.set(group.topic, group.unit);
    }
    if (units.size > 0) {
      const paths = [...units.keys()].sort();
      await client.query(
        `insert into metrics.series (path, unit) select * from unnest($1::text[], $2::text[])
         on conflict (path) do nothing`,
        [paths, paths.map((path) => units.get(path))],
      );
      const rows = await client.query<{ id: number; path: string }>(
        'select id, path from metrics.series where path = any($1::text[])',
        [paths],
      );
      for (const row of rows.rows) found.set(row.path, row.id);
    }
    const ids = new Map(found);
    for (const group of groups) {
      if (!ids.has(group.topic)) ids.set(group.topic, this.seriesIds.get(group.topic) as number);
    }
    return { ids, found };
  }
}
