/**
 * The live stream (DESIGN.md, ADR 0014): after the writer commits a batch of samples, it publishes them on
 * the topic exchange `plantmesh.live`, so that live consumers (the SDK's live values, the I3X API's
 * subscriptions) never see a value that is not stored and never poll the database. A message carries the
 * samples of the series that share a parent path (a cell's tags), under the parent's routing key: one message
 * per series made the broker, the writer and every consumer handle each sample as a message of its own. A
 * consumer binds its own queue with the keys of an MQTT topic filter and keeps the series the filter matches.
 */

export const liveExchange = 'plantmesh.live';

/** One series' samples of one committed batch. */
export interface LiveSamples {
  path: string;
  unit: string | null;
  /** [epoch milliseconds, value, quality (0 good, 1 uncertain, 2 bad)], in the order they were written. */
  samples: Array<[number, number | null, number]>;
}

/** A message to publish: the series of one parent path. */
export interface LiveMessage {
  routingKey: string;
  body: Buffer;
}

// AMQP topic keys separate words with dots, MQTT topics levels with slashes: a dot or a percent sign
// inside a level is escaped, so that each level stays one word.
const escapeLevel = (level: string) => level.replaceAll('%', '%25').replaceAll('.', '%2E');

const keyOf = (levels: readonly string[]) => ['samples', ...levels].join('.');

/** The routing key a series' samples travel under: `samples.` and its parent path's levels as words. */
export function routingKeyForPath(path: string): string {
  return keyOf(path.split('/').slice(0, -1).map(escapeLevel));
}

/** The messages for a batch's series, one per parent path. */
export function liveMessages(series: readonly LiveSamples[]): LiveMessage[] {
  const byKey = new Map<string, LiveSamples[]>();
  for (const one of series) {
    const key = routingKeyForPath(one.path);
    const group = byKey.get(key);
    if (group) group.push(one);
    else byKey.set(key, [one]);
  }
  return [...byKey].map(([routingKey, grouped]) => ({
    routingKey,
    body: Buffer.from(JSON.stringify({ series: grouped })),
  }));
}

const isSeries = (value: unknown): value is LiveSamples =>
  typeof (value as LiveSamples)?.path === 'string' && Array.isArray((value as LiveSamples).samples);

/** The series of a message body as the writer publishes it; throws on a body that is not one. */
export function decodeLiveMessage(body: Buffer): LiveSamples[] {
  const message = JSON.parse(body.toString('utf8')) as { series?: unknown };
  if (!Array.isArray(message?.series) || !message.series.every(isSeries)) {
    throw new Error('not a live samples message');
  }
  return message.series;
}

/** The levels of an MQTT filter over series paths, checked as MQTT checks them. */
function filterLevels(filter: string): string[] {
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level === '#' && index !== levels.length - 1)
      throw new Error(`"${filter}": # must be the last level of a filter`);
    if (level !== '#' && level !== '+' && (level.includes('+') || level.includes('#'))) {
      throw new Error(`"${filter}": + and # stand for whole levels (got "${level}")`);
    }
  }
  return levels;
}

const wordOf = (level: string) => (level === '+' ? '*' : level === '#' ? '#' : escapeLevel(level));

/**
 * The binding keys that bring every series an MQTT filter matches (and their siblings: keep the matching
 * ones with `matchesFilter`). `+` becomes `*`; a final `#` becomes `#`, and since `a/#` matches `a` itself,
 * the key of `a`'s parent too.
 */
export function bindingKeysForFilter(filter: string): string[] {
  const levels = filterLevels(filter);
  if (levels.at(-1) !== '#') return [keyOf(levels.slice(0, -1).map(wordOf))];
  const prefix = levels.slice(0, -1).map(wordOf);
  return prefix.length === 0 ? [keyOf(['#'])] : [keyOf([...prefix, '#']), keyOf(prefix.slice(0, -1))];
}

/** Whether an MQTT filter matches a series path. */
export function matchesFilter(filter: string, path: string): boolean {
  const levels = filterLevels(filter);
  const parts = path.split('/');
  for (const [index, level] of levels.entries()) {
    if (level === '#') return true;
    if (index >= parts.length) return false;
    if (level !== '+' && level !== parts[index]) return false;
  }
  return levels.length === parts.length;
}
