import mqtt, { type MqttClient } from 'mqtt';
import { EventGenerator, type PlantEvent } from './events.js';
import { buildMeters, type EnergyMeter, meterReading } from './meters.js';
import { Random } from './random.js';
import { buildSeries, type SensorSeries, sampleValue } from './sensors.js';

export interface SimulatorOptions {
  /** Broker of the sensor stream; no sensors are published without it. */
  sensorsUrl?: string;
  /** Broker of the event stream; no events are published without it. */
  eventsUrl?: string;
  series: number;
  samplesPerSecond: number;
  /** Samples of one series per MQTT message: 1, or e.g. 100 as gateways send. */
  samplesPerMessage: number;
  sensorQos: 0 | 1;
  eventsPerSecond: number;
  eventQos: 1 | 2;
  /** Stop after this many (each stream on its own); run until stopped when absent. */
  maxEvents?: number;
  maxSamples?: number;
  seed: number;
  site: string;
  /** Called with each event the broker acknowledged: the plant's own record of what it published. */
  onEvent?: (event: PlantEvent) => void;
  /** Every so often, each line's energy meter publishes its counter (kWh) to the sensor broker; none when absent. */
  meterIntervalMs?: number;
  /** Called with each meter reading handed to (QoS 0) or acknowledged by (QoS 1) the broker. */
  onReading?: (reading: MeterReading) => void;
  /** Unacknowledged QoS 1/2 publishes at once; more waits (the broker's back-pressure). */
  window?: number;
}

export interface MeterReading {
  topic: string;
  ts: number;
  value: number;
}

export interface SimulatorCounts {
  /** Events acknowledged by the broker (QoS 1/2). */
  events: number;
  /** Samples handed to the broker (QoS 0) or acknowledged by it (QoS 1). */
  samples: number;
  messages: number;
  elapsedMs: number;
}

const tickMs = 10;

/**
 * A plant that publishes at the configured rates until its limits are reached or it is stopped.
 * Rates are kept by publishing, at each tick, what is due since the start; a broker that cannot keep
 * up slows the plant down rather than letting unacknowledged messages pile up in memory.
 */
export class Simulator {
  readonly counts: SimulatorCounts = { events: 0, samples: 0, messages: 0, elapsedMs: 0 };
  private readonly series: SensorSeries[];
  private readonly meters: EnergyMeter[];
  private nextReadingAt = 0;
  private readonly events: EventGenerator;
  private readonly random: Random;
  private sensorsClient: MqttClient | undefined;
  private eventsClient: MqttClient | undefined;
  private stopped = false;
  private startedAt = 0;
  private eventsIssued = 0;
  private samplesIssued = 0;
  private eventsInFlight = 0;
  private samplesInFlight = 0;
  private nextSeries = 0;

  constructor(private readonly options: SimulatorOptions) {
    this.series = buildSeries(options.series, options.seed, options.site);
    this.meters = options.meterIntervalMs ? buildMeters(options.seed, options.site) : [];
    this.events = new EventGenerator(options.seed, options.site);
    this.random = new Random(options.seed);
  }

  /** Connects and publishes until the limits are reached (resolves) or stop() is called. */
  async run(): Promise<SimulatorCounts> {
    const { options } = this;
    const connect = (url: string, role: string) =>
      mqtt.connectAsync(url, {
        protocolVersion: 5,
        clientId: `plantmesh-simulator-${role}-${options.seed}-${process.pid}`,
        reconnectPeriod: 1_000,
      });
    if (options.sensorsUrl && (options.samplesPerSecond > 0 || this.meters.length > 0))
      this.sensorsClient = await connect(options.sensorsUrl, 'sensors');
    if (options.eventsUrl && options.eventsPerSecond > 0)
      this.eventsClient = await connect(options.eventsUrl, 'events');
    this.startedAt = performance.now();
    try {
      while (!this.stopped && !this.finished()) {
        this.tick();
        await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
      // Wait for the broker's acknowledgements of what was sent.
      while (this.eventsInFlight + this.samplesInFlight > 0)
        await new Promise((resolve) => setTimeout(resolve, tickMs));
    } finally {
      this.counts.elapsedMs = performance.now() - this.startedAt;
      await Promise.all([this.sensorsClient?.endAsync(), this.eventsClient?.endAsync()]);
    }
    return this.counts;
  }

  stop(): void {
    this.stopped = true;
  }

  private finished(): boolean {
    const { maxEvents, maxSamples } = this.options;
    const eventsDone = !this.eventsClient || (maxEvents !== undefined && this.eventsIssued >= maxEvents);
    const samplesDone =
      !this.sensorsClient ||
      this.options.samplesPerSecond === 0 ||
      (maxSamples !== undefined && this.samplesIssued >= maxSamples);
    return eventsDone && samplesDone;
  }

  private tick(): void {
    const elapsedS = (performance.now() - this.startedAt) / 1000;
    const window = this.options.window ?? 1_000;
    if (this.eventsClient) {
      const limit = this.options.maxEvents ?? Number.POSITIVE_INFINITY;
      const due = Math.min(limit, Math.floor(elapsedS * this.options.eventsPerSecond));
      while (this.eventsIssued < due && this.eventsInFlight < window) this.publishEvent(this.eventsClient);
    }
    if (this.sensorsClient) {
      const limit = this.options.maxSamples ?? Number.POSITIVE_INFINITY;
      const due = Math.min(limit, Math.floor(elapsedS * this.options.samplesPerSecond));
      // Messages are full, as a gateway sends them; only the last one before the limit may be short.
      while (this.samplesInFlight < window) {
        const count = Math.min(this.options.samplesPerMessage, due - this.samplesIssued);
        if (count <= 0 || (count < this.options.samplesPerMessage && due < limit)) break;
        this.publishSamples(this.sensorsClient, count);
      }
      if (this.meters.length > 0 && performance.now() >= this.nextReadingAt) {
        this.nextReadingAt = performance.now() + (this.options.meterIntervalMs as number);
        this.publishReadings(this.sensorsClient);
      }
    }
  }

  /** Every meter's counter now, one message each. */
  private publishReadings(client: MqttClient): void {
    const ts = Date.now();
    for (const meter of this.meters) {
      const reading = { topic: meter.topic, ts, value: meterReading(meter, ts) };
      this.samplesInFlight += 1;
      const payload = JSON.stringify({ ts, value: reading.value, unit: meter.unit });
      client.publish(meter.topic, payload, { qos: this.options.sensorQos }, (error) => {
        this.samplesInFlight -= 1;
        if (error) return;
        this.options.onReading?.(reading);
        this.counts.samples += 1;
        this.counts.messages += 1;
      });
    }
  }

  private publishEvent(client: MqttClient): void {
    const event = this.events.next();
    this.eventsIssued += 1;
    this.eventsInFlight += 1;
    client.publish(event.topic, JSON.stringify(event.payload), { qos: this.options.eventQos }, (error) => {
      this.eventsInFlight -= 1;
      if (error) return; // not acknowledged: not counted as published
      this.options.onEvent?.(event);
      this.counts.events += 1;
      this.counts.messages += 1;
    });
  }

  private publishSamples(client: MqttClient, count: number): void {
    const series = this.series[this.nextSeries] as SensorSeries;
    this.nextSeries = (this.nextSeries + 1) % this.series.length;
    const now = Date.now();
    const samples = Array.from({ length: count }, (_, i) => {
      // A gateway's message holds the recent history of its tag: one sample per 10 ms, newest last.
      const ts = now - (count - 1 - i) * 10;
      const quality = this.random.next() < 0.002 ? 'uncertain' : undefined;
      return quality
        ? { ts, value: sampleValue(series, ts, this.random), quality, unit: series.unit }
        : { ts, value: sampleValue(series, ts, this.random), unit: series.unit };
    });
    const payload = JSON.stringify(count === 1 ? samples[0] : samples);
    this.samplesIssued += count;
    this.samplesInFlight += 1;
    client.publish(series.topic, payload, { qos: this.options.sensorQos }, (error) => {
      this.samplesInFlight -= 1;
      if (error) return;
      this.counts.samples += count;
      this.counts.messages += 1;
    });
  }
}
