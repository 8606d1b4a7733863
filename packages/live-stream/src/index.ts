/**
 * The live stream (DESIGN.md): after the writer commits a batch of samples, it publishes them on the
 * topic exchange `plantmesh.live`, one message per series, so that live consumers (the SDK's live
 * values, the I3X API's subscriptions) never see a value that is not stored and never poll the
 * database. A consumer binds its own queue with the routing-key form of an MQTT topic filter.
 */

export const liveExchange = 'plantmesh.live';

/** One series' samples of one committed batch. */
export interface LiveSamples {
  path: string;
  unit: string | null;
  /** [epoch milliseconds, value, quality (0 good, 1 uncertain, 2 bad)], in the order they were written. */
  samples: Array<[number, number | null, number]>;
}

// AMQP topic keys separate words with dots, MQTT topics levels with slashes: a dot or a percent sign
// inside a level is escaped, so that each level stays one word.
const escapeLevel = (level: string) => level.replaceAll('%', '%25').replaceAll('.', '%2E');

/** The routing key of a series: `samples.` and its path's levels as words. */
export function routingKeyForPath(path: string): string {
  return `samples.${path.split('/').map(escapeLevel).join('.')}`;
}

/**
 * The binding key for an MQTT topic filter over series paths: `+` (one level) becomes `*`, a final `#`
 * (any number of levels) stays `#`. A filter MQTT refuses (a `#` before the end, a wildcard inside a
 * level) is refused here too.
 */
export function bindingKeyForFilter(filter: string): string {
  const levels = filter.split('/');
  return `samples.${levels
    .map((level, index) => {
      if (level === '#') {
        if (index !== levels.length - 1) throw new Error(`"${filter}": # must be the last level of a filter`);
        return '#';
      }
      if (level === '+') return '*';
      if (level.includes('+') || level.includes('#')) {
        throw new Error(`"${filter}": + and # stand for whole levels (got "${level}")`);
      }
      return escapeLevel(level);
    })
    .join('.')}`;
}

export function encodeLiveSamples(message: LiveSamples): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/** A message body as the writer publishes it; throws on one that is not. */
export function decodeLiveSamples(body: Buffer): LiveSamples {
  const message = JSON.parse(body.toString('utf8')) as LiveSamples;
  if (typeof message?.path !== 'string' || !Array.isArray(message.samples)) {
    throw new Error('not a live samples message');
  }
  return message;
}
