/**
 * What the events reader's checks cost per event, against what it did per event before them, on the
 * simulator's ~1 KB documents, in one run (no servers: CPU only):
 *   before: UTF-8 decode with a fatal decoder, JSON.parse, a search for \u0000, the payload as text again
 *   now:    parseEvent (UTF-8, JSON.parse, object, what jsonb cannot hold, typed id), text reused
 *   pnpm bench:reader-checks      (about 20 seconds; prints its figures and updates BENCHMARKS.md)
 */
import { parseEvent } from '@plantmesh/mqtt-reader';
import { EventGenerator } from '@plantmesh/simulator';
import { recordSection, table } from '../record.js';

const generator = new EventGenerator(7);
const payloads = Array.from({ length: 20_000 }, () => Buffer.from(JSON.stringify(generator.next().payload)));
const utf8 = new TextDecoder('utf-8', { fatal: true });
let sink = 0;

const variants = {
  before: (payload: Buffer) => {
    const value = JSON.parse(utf8.decode(payload)) as { id: string };
    sink += value.id.length + payload.toString('utf8').length + Number(payload.includes('\\u0000'));
  },
  now: (payload: Buffer) => {
    const parsed = parseEvent('plant1/caster/strand1/events/heat.finished', payload, 'id', {
      maxBytes: 1 << 20,
      maxDepth: 512,
    });
    sink += parsed.ok ? parsed.value.text.length : 0;
  },
};

/** Events per second of one pass over all payloads. */
function pass(run: (payload: Buffer) => void): number {
  const started = performance.now();
  for (const payload of payloads) run(payload);
  return payloads.length / ((performance.now() - started) / 1000);
}

// Alternating rounds, the best of each: the machine is shared, and noise only ever slows a round down.
const best = { before: 0, now: 0 };
for (let round = 0; round < 30; round += 1) {
  for (const name of ['before', 'now'] as const) best[name] = Math.max(best[name], pass(variants[name]));
}
const bytes = payloads.reduce((sum, payload) => sum + payload.length, 0) / payloads.length;
const micro = (rate: number) => `${(1e6 / rate).toFixed(2)} µs`;
const format = (rate: number) => Math.round(rate).toLocaleString('en-US');
recordSection(
  'reader-checks',
  [
    `Measured ${new Date().toISOString().slice(0, 10)} by \`pnpm bench:reader-checks\`: ${payloads.length.toLocaleString('en-US')} simulator events of ${Math.round(bytes)} B on average, best of 30 alternating passes (checksum ${sink % 997}).`,
    '',
    table(
      ['per event', 'events/s on one core', 'time per event'],
      [
        ['before: decode, JSON.parse, \\u0000 search, text again', format(best.before), micro(best.before)],
        ['now: parseEvent with the jsonb checks and typed id', format(best.now), micro(best.now)],
        ['now / before', `${((100 * best.now) / best.before).toFixed(0)}%`, ''],
      ],
    ),
  ].join('\n'),
);
