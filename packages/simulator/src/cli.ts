import { parseArgs } from 'node:util';
import { Simulator, type SimulatorCounts, type SimulatorOptions } from './simulator.js';

export const simulateUsage = `usage: plantmesh simulate [options]
  --sensors-url URL           MQTT broker of the sensor stream (no sensors without it)
  --events-url URL            MQTT broker of the event stream (no events without it)
  --series N                  distinct sensor series (default 100)
  --rate N                    samples per second over all series (default 1000)
  --samples-per-message N     samples of one series per message (default 1; gateways send e.g. 100)
  --sensor-qos 0|1            (default 0)
  --events-rate N             events per second (default 5)
  --event-qos 1|2             (default 1)
  --events N                  stop the event stream after N events
  --samples N                 stop the sensor stream after N samples
  --meter-interval-ms N       each line's energy meter publishes its kWh counter every N ms
                              to the sensor broker (default 1000; 0 for none)
  --seed N                    same seed, same plant (default 1)
  --site NAME                 first topic level (default plant1)
  --progress-seconds N        progress line interval (default 5)`;

function number(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min)
    throw new Error(`--${name} must be a number >= ${min} (got "${value}")`);
  return parsed;
}

/** Parses the flags of `plantmesh simulate`; throws an Error whose message names the bad flag. */
export function parseSimulateArgs(args: string[]): SimulatorOptions & { progressSeconds: number } {
  const { values } = parseArgs({
    args,
    options: {
      'sensors-url': { type: 'string' },
      'events-url': { type: 'string' },
      series: { type: 'string' },
      rate: { type: 'string' },
      'samples-per-message': { type: 'string' },
      'sensor-qos': { type: 'string' },
      'events-rate': { type: 'string' },
      'event-qos': { type: 'string' },
      events: { type: 'string' },
      samples: { type: 'string' },
      'meter-interval-ms': { type: 'string' },
      seed: { type: 'string' },
      site: { type: 'string' },
      'progress-seconds': { type: 'string' },
    },
  });
  const sensorQos = number('sensor-qos', values['sensor-qos'], 0);
  const eventQos = number('event-qos', values['event-qos'], 1);
  if (sensorQos !== 0 && sensorQos !== 1) throw new Error('--sensor-qos must be 0 or 1');
  if (eventQos !== 1 && eventQos !== 2) throw new Error('--event-qos must be 1 or 2');
  if (!values['sensors-url'] && !values['events-url']) throw new Error('give --sensors-url, --events-url or both');
  return {
    sensorsUrl: values['sensors-url'],
    eventsUrl: values['events-url'],
    series: number('series', values.series, 100, 1),
    samplesPerSecond: number('rate', values.rate, 1_000),
    samplesPerMessage: number('samples-per-message', values['samples-per-message'], 1, 1),
    sensorQos,
    eventsPerSecond: number('events-rate', values['events-rate'], 5),
    eventQos,
    maxEvents: values.events === undefined ? undefined : number('events', values.events, 0),
    maxSamples: values.samples === undefined ? undefined : number('samples', values.samples, 0),
    meterIntervalMs: number('meter-interval-ms', values['meter-interval-ms'], 1_000),
    seed: number('seed', values.seed, 1),
    site: values.site ?? 'plant1',
    progressSeconds: number('progress-seconds', values['progress-seconds'], 5, 1),
  };
}

/** Runs the simulator with a progress line every few seconds and a final JSON summary line. */
export async function simulateCommand(args: string[], print: (line: string) => void): Promise<SimulatorCounts> {
  const { progressSeconds, ...options } = parseSimulateArgs(args);
  const simulator = new Simulator(options);
  let last = { events: 0, samples: 0 };
  const progress = setInterval(() => {
    const { events, samples } = simulator.counts;
    const rate = (n: number) => Math.round(n / progressSeconds);
    print(
      `simulator: ${samples} samples (${rate(samples - last.samples)}/s), ${events} events (${rate(events - last.events)}/s)`,
    );
    last = { events, samples };
  }, progressSeconds * 1000);
  const stop = () => simulator.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const counts = await simulator.run();
    print(JSON.stringify({ simulated: counts }));
    return counts;
  } finally {
    clearInterval(progress);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
