/**
 * A soft sensor on plantmesh: for each heat cast in a time range, the electric energy the arc furnace
 * used while the heat was made, from the furnace's energy meter (a kWh counter), written back as a model
 * result, which the curated ETL turns into a row of curated.model_results.
 *
 *   PLANTMESH_URL=postgres://soft_sensor:...@host/plantmesh node --import tsx examples/soft-sensor/soft-sensor.ts
 *   FROM=2026-11-30T06:00:00Z TO=2026-11-30T14:00:00Z ...   (default: the last 24 hours)
 *
 * The login needs the results-writer role: plantmesh users create soft_sensor --role results-writer
 */
import { Plantmesh } from '@plantmesh/sdk';

const meter = 'plant1/meltshop/eaf1/meter/energy';

interface Heat {
  heat_id: string;
  finished_at: Date;
  /** Minutes the heat took at the caster. */
  duration: string | null;
}

const url = process.env.PLANTMESH_URL;
if (!url) throw new Error('set PLANTMESH_URL to a postgres:// URL of a results-writer login');
const to = new Date(process.env.TO ?? Date.now());
const from = new Date(process.env.FROM ?? to.getTime() - 86_400_000);

const sdk = await Plantmesh.connect({ url, applicationName: 'soft-sensor' });
try {
  let written = 0;
  for await (const heat of sdk.curated<Heat>('heats', { from, to })) {
    // The heat's span: its duration before it finished (at least a minute).
    const minutes = Math.max(1, Number(heat.duration ?? 60));
    const span = {
      from: new Date(heat.finished_at.getTime() - minutes * 60_000),
      to: new Date(heat.finished_at.getTime() + 1),
    };
    let first: number | null = null;
    let last: number | null = null;
    for await (const sample of sdk.samples(meter, span)) {
      if (sample.value === null) continue;
      first ??= sample.value;
      last = sample.value;
    }
    if (first === null || last === null) continue;
    const { stored } = await sdk.writeResult('eaf-energy-soft-sensor', {
      subject: heat.heat_id,
      quantity: 'eaf_energy',
      value: Math.round((last - first) * 1000) / 1000,
      unit: 'KWH',
      modelVersion: '1.0.0',
    });
    if (stored) written += 1;
  }
  process.stdout.write(`${JSON.stringify({ model: 'eaf-energy-soft-sensor', from, to, written })}\n`);
} finally {
  await sdk.close();
}
