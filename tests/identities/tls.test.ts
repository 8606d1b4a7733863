import { TestCa, waitFor } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { ServiceHandle } from '../support/ingest-platform.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

const ready = async (service: ServiceHandle) =>
  (await fetch(`http://127.0.0.1:${service.opsPort}/readyz`)).status === 200;

describe('TLS on every connection: verified against the plant’s CA, refused for another CA or another host', () => {
  // Every server has a certificate for 127.0.0.1 from the test's own CA, which the services trust.
  const platform = useIngestPlatform({ tls: true });

  it('moves an event over mqtts, amqps and PostgreSQL with verify-full', async () => {
    const writer = await platform().startWriter();
    await platform().startEventsReader();
    const publisher = await mqtt.connectAsync(platform().publisherUrl('events'), { protocolVersion: 5 });
    await publisher.publishAsync('plant1/caster/strand1/events/heat.finished', '{"id":"over-tls"}', { qos: 1 });
    await publisher.endAsync();
    await waitFor(
      'the event stored',
      async () => (await platform().count(`select count(*) as n from raw.events where id = 'over-tls'`)) === 1,
    );
    // The writer's own connections are encrypted (PostgreSQL tells which are).
    expect(
      await platform().query(
        `select distinct s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'amqp-writer'`,
      ),
    ).toEqual([{ ssl: true }]);
    expect(writer.process.tail(100)).not.toMatch(/certificate/);
  });

  it('refuses a server whose certificate comes from another CA, with a clear error, and stays not ready', async () => {
    const other = TestCa.create('another CA');
    const reader = await platform().startEventsReader(
      { NODE_EXTRA_CA_CERTS: other.certFile, MQTT_CLIENT_ID: 'distrustful-reader' },
      false,
    );
    await waitFor('the refusal logged', async () =>
      /self-signed certificate in certificate chain|unable to verify/.test(reader.process.tail(50)),
    );
    expect(await ready(reader)).toBe(false);
    await reader.process.stop('SIGKILL');
  });

  it('refuses a certificate for another host name, with a clear error, and stays not ready', async () => {
    // The certificates name 127.0.0.1; the same servers reached as "localhost" must not be trusted.
    const own = platform().serviceEnv('amqp-writer');
    const env = {
      DATABASE_URL: (own.DATABASE_URL as string).replace('127.0.0.1', 'localhost'),
      AMQP_URL: (own.AMQP_URL as string).replace('127.0.0.1', 'localhost'),
    };
    const misdirected = await platform().startWriter(env, false);
    await waitFor('the refusals logged', async () => {
      const log = misdirected.process.tail(100);
      return /Hostname\/IP does not match certificate's altnames: Host: localhost/.test(log);
    });
    expect(await ready(misdirected)).toBe(false);
    await misdirected.process.stop('SIGKILL');
  });
});
