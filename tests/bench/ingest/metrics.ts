/** Reads Prometheus text from a service's ops port. */
export async function scrape(opsPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
}

/** The value of one series (name plus exact label text, e.g. `{stream="samples"`). */
export function value(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Cumulative histogram buckets of the series with one label (e.g. `stream="samples"`): [upper bound, count]. */
export function buckets(text: string, name: string, label: string): Array<[number, number]> {
  const pattern = new RegExp(`^${name}_bucket\\{le="([^"]+)",.*${label}`);
  const result: Array<[number, number]> = [];
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match)
      result.push([match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(line.split(' ').at(-1))]);
  }
  return result.sort((a, b) => a[0] - b[0]);
}

/** A quantile of the observations between two scrapes of a histogram, interpolated within its bucket. */
export function quantile(before: Array<[number, number]>, after: Array<[number, number]>, q: number): number {
  const delta = after.map(([le, count], i) => [le, count - (before[i]?.[1] ?? 0)] as [number, number]);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of delta) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}
