import { waitFor } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

// As in a Helm install, where the services can start before the migrations Job has run.
describe('services started before the migrations', () => {
  const platform = useIngestPlatform({ migrate: false });

  it('waits, not ready, without taking messages, then writes everything once the tables exist', async () => {
    const writer = await platform().startWriter({}, false);
    await waitFor('the writer waiting for its tables', async () =>
      /waiting for migrations/.test(writer.process.tail(50)),
    );
    expect((await fetch(`http://127.0.0.1:${writer.opsPort}/readyz`)).status).toBe(503);

    // Without its RabbitMQ user and the topology, the reader waits too.
    const reader = await platform().startEventsReader({}, false);
    // Its ops port answers once the process is up (slow to start on a busy machine), and says not ready.
    const readiness = () =>
      fetch(`http://127.0.0.1:${reader.opsPort}/readyz`).then(
        (response) => response.status,
        () => undefined,
      );
    await waitFor('the reader answering', async () => (await readiness()) !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await readiness()).toBe(503);
    await platform().migrate({ stores: false });
    await waitFor(
      'the reader ready',
      async () => (await fetch(`http://127.0.0.1:${reader.opsPort}/readyz`)).status === 200,
    );
    expect((await platform().eventsPlant(2_000, 21).run()).events).toBe(2_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await platform().migrate({ broker: false });

    await waitFor(
      'every event stored',
      async () => (await platform().count('select count(*) as n from raw.events')) === 2_000,
      60_000,
    );
    expect(await platform().count('select count(*) as n from raw.quarantine')).toBe(0);
    await waitFor(
      'the writer ready',
      async () => (await fetch(`http://127.0.0.1:${writer.opsPort}/readyz`)).status === 200,
    );
  });
});
