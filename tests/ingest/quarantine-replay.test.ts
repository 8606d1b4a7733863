import { join } from 'node:path';
import { startServiceProcess, waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const cli = join(import.meta.dirname, '../../packages/cli/src/main.ts');

describe('plantmesh quarantine', () => {
  const platform = useIngestPlatform();

  async function plantmesh(args: string[]): Promise<{ code: number | null; output: string }> {
    const child = startServiceProcess({
      entry: cli,
      args,
      env: { DATABASE_URL: platform().postgres.url },
      logFile: join(platform().logDir, `cli-${Date.now()}.log`),
    });
    const code = await child.waitExit(30_000);
    return { code, output: child.tail(100) };
  }

  it('lists what was refused and replays it through the pipeline once the cause is fixed', async () => {
    await platform().startWriter();
    // A reader whose payload limit is too small for the plant's documents.
    const strict = await platform().startEventsReader({ MAX_PAYLOAD_BYTES: '500', MQTT_CLIENT_ID: 'strict-reader' });
    const publisher = await mqtt.connectAsync(platform().eventsBroker.url, { protocolVersion: 5 });
    const document = JSON.stringify({ id: 'big-heat', heatId: 'H1', notes: 'x'.repeat(800) });
    await publisher.publishAsync('plant1/caster/strand1/events/heat.finished', document, { qos: 1 });
    await publisher.endAsync();
    await waitFor(
      'quarantined',
      async () => (await platform().count('select count(*) as n from raw.quarantine')) === 1,
    );

    const listed = await plantmesh(['quarantine', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(
      /\tmqtt-reader\tplant1\/caster\/strand1\/events\/heat\.finished\t\d+ B\toversize: \d+ bytes, the limit is 500/,
    );

    // The cause is fixed: a reader with the default limit.
    expect(await strict.process.stop('SIGTERM')).toBe(0);
    await platform().startEventsReader({ MQTT_CLIENT_ID: 'fixed-reader' });
    const replay = await plantmesh([
      'quarantine',
      'replay',
      '--reason',
      'oversize%',
      '--mqtt-url',
      platform().eventsBroker.url,
    ]);
    expect(replay.code, replay.output).toBe(0);
    expect(replay.output).toMatch(/replayed 1 payload\(s\)/);

    await waitFor(
      'the event stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id = 'big-heat'`)) === 1,
    );
    const [row] = await platform().query<{ replayed: boolean }>(
      'select replayed_at is not null as replayed from raw.quarantine',
    );
    expect(row?.replayed).toBe(true);
    expect((await plantmesh(['quarantine', 'list'])).output).toMatch(/^0 row\(s\)$/m);
    expect((await plantmesh(['quarantine', 'replay', '--mqtt-url', platform().eventsBroker.url])).code).toBe(2);
  });
});
