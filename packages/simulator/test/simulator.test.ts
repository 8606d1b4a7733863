import { MosquittoServer as Broker, type MosquittoServer } from '@plantmesh/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMeters,
  buildSeries,
  EventGenerator,
  type MeterReading,
  meterReading,
  parseSimulateArgs,
  Simulator,
} from '../src/index.js';

describe('plant model', () => {
  it('builds the same distinct series for the same seed, on ISA-95 style topics', () => {
    const series = buildSeries(1_000, 3);
    expect(new Set(series.map((s) => s.topic)).size).toBe(1_000);
    expect(series[0]?.topic).toMatch(/^plant1\/[a-z-]+\/[a-z0-9-]+\/cell\d+\/[a-z]+$/);
    expect(buildSeries(1_000, 3)).toEqual(series);
  });

  it('generates the flow of a heat with unique, reproducible ids', () => {
    const events = Array.from({ length: 200 }, (_, i) => new EventGenerator(5).next(i));
    const generator = new EventGenerator(5);
    const flow = Array.from({ length: 200 }, (_, i) => generator.next(i * 60_000));
    expect(new Set(flow.map((e) => e.payload.id)).size).toBe(200);
    expect(flow[0]?.payload.type).toBe('heat.started');
    expect(new Set(flow.map((e) => e.payload.type))).toEqual(
      new Set([
        'heat.started',
        'slab.cut',
        'heat.finished',
        'plate.ready_for_quenching',
        'quench.result',
        'machine.state',
      ]),
    );
    expect(flow[0]?.topic).toMatch(/^plant1\/caster\/strand[12]\/events\/heat\.started$/);
    expect(events[0]?.payload.id).toBe(flow[0]?.payload.id);
  });

  it('refuses bad flags with a message naming them', () => {
    expect(() => parseSimulateArgs(['--events-url', 'mqtt://x', '--rate', 'fast'])).toThrow(/--rate must be a number/);
    expect(() => parseSimulateArgs([])).toThrow(/--sensors-url, --events-url or both/);
  });
});

describe('Simulator against a real broker', () => {
  let broker: MosquittoServer;

  beforeAll(async () => {
    broker = await Broker.create().then((s) => s.start());
  });

  afterAll(async () => {
    await broker?.destroy();
  });

  it('publishes exactly the configured counts, several samples per message when asked', async () => {
    const subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await subscriber.subscribeAsync('#', { qos: 1 });
    let events = 0;
    let samples = 0;
    subscriber.on('message', (topic, payload) => {
      if (topic.includes('/events/')) events += 1;
      else samples += (JSON.parse(payload.toString()) as unknown[]).length;
    });
    const counts = await new Simulator({
      sensorsUrl: broker.url,
      eventsUrl: broker.url,
      series: 20,
      samplesPerSecond: 20_000,
      samplesPerMessage: 100,
      sensorQos: 1,
      eventsPerSecond: 2_000,
      eventQos: 1,
      maxEvents: 500,
      maxSamples: 10_000,
      seed: 9,
      site: 'plant1',
    }).run();
    expect(counts).toMatchObject({ events: 500, samples: 10_000, messages: 600 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await subscriber.endAsync();
    expect({ events, samples }).toEqual({ events: 500, samples: 10_000 });
  });

  it("publishes every line's energy meter on its interval, the counter rising with the load", async () => {
    const subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await subscriber.subscribeAsync('+/+/+/meter/energy', { qos: 1 });
    const received: MeterReading[] = [];
    subscriber.on('message', (topic, payload) => {
      const { ts, value, unit } = JSON.parse(payload.toString()) as { ts: number; value: number; unit: string };
      expect(unit).toBe('KWH');
      received.push({ topic, ts, value });
    });
    const recorded: MeterReading[] = [];
    await new Simulator({
      sensorsUrl: broker.url,
      eventsUrl: broker.url,
      series: 1,
      samplesPerSecond: 0,
      samplesPerMessage: 1,
      sensorQos: 1,
      eventsPerSecond: 100,
      eventQos: 1,
      maxEvents: 60,
      meterIntervalMs: 100,
      onReading: (reading) => recorded.push(reading),
      seed: 9,
      site: 'plant1',
    }).run();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await subscriber.endAsync();

    const meters = buildMeters(9, 'plant1');
    expect(meters).toHaveLength(10);
    expect(recorded.length).toBeGreaterThanOrEqual(meters.length * 4);
    expect(received).toEqual(expect.arrayContaining(recorded));
    expect(received).toHaveLength(recorded.length);
    for (const meter of meters) {
      const readings = recorded.filter((reading) => reading.topic === meter.topic);
      expect(readings.length).toBe(recorded.length / meters.length);
      for (const reading of readings) expect(reading.value).toBe(meterReading(meter, reading.ts));
      expect(readings.every((reading, i) => i === 0 || reading.value >= (readings[i - 1] as MeterReading).value)).toBe(
        true,
      );
    }
    // An hour's consumption is the mean load within the swing of the load.
    for (const meter of meters) {
      const hour = meterReading(meter, Date.UTC(2026, 0, 1, 1)) - meterReading(meter, Date.UTC(2026, 0, 1));
      expect(hour).toBeGreaterThan(meter.powerKw * 0.7);
      expect(hour).toBeLessThan(meter.powerKw * 1.3);
    }
  });
});
