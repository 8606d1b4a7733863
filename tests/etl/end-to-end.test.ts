import type { PlantEvent } from '@plantmesh/simulator';
import { waitFor } from '@plantmesh/testkit';
import { describe, expect, it } from 'vitest';
import { approximately, type Reading } from '../../packages/etl-business/test/expected.js';
import { expectedKpis, kpisMatch, readKpis } from '../support/kpi-tables.js';
import { useIngestPlatform } from '../support/use-ingest-platform.js';

// The whole path, each part a real process with its own login: the simulated plant publishes over MQTT,
// the readers and the writer store raw events and meter readings, the curated ETL refines the events, the
// business ETL computes the KPIs. The KPIs must equal a computation from the simulator's own record of
// what it sent.
describe('simulator -> ingestion -> curated -> business', () => {
  const platform = useIngestPlatform();

  it('ends with every KPI equal to an independent computation over what the plant published', async () => {
    await platform().startWriter();
    await platform().startEventsReader();
    await platform().startSensorsReader();
    await platform().startCuratedEtl();
    await platform().startBusinessEtl();
    const published: PlantEvent[] = [];
    const readings: Reading[] = [];
    const plant = platform().eventsPlant(
      3_000,
      23,
      600,
      (event) => published.push(event),
      (reading) => readings.push(reading),
    );
    expect((await plant.run()).events).toBe(3_000);

    const query = <R extends Record<string, unknown>>(sql: string) => platform().query<R>(sql);
    expect(expectedKpis(published).yield.length).toBeGreaterThan(50);
    expect(readings.length).toBeGreaterThanOrEqual(40);
    await waitFor('the KPIs of everything published', () => kpisMatch(query, published, readings), 90_000).catch(
      () => {},
    );
    expect(await readKpis(query)).toEqual(approximately(expectedKpis(published, readings)));
    expect((await readKpis(query)).energy.some((row) => Number(row.energy) > 0)).toBe(true);
  });
});
