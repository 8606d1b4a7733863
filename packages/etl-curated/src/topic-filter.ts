/** Characters a PostgreSQL regular expression (ARE) gives a meaning to. */
const special = /[\\^$.|?*+()[\]{}]/g;

/** One MQTT topic filter as an ARE: `+` is one level (maybe empty), a last `#` the parent and all below. */
function filterPattern(filter: string): string {
  const levels = filter.split('/');
  const parts: string[] = [];
  for (const [index, level] of levels.entries()) {
    if (level === '#' && index === levels.length - 1) {
      return parts.length === 0 ? '.*' : `${parts.join('/')}(/.*)?`;
    }
    parts.push(level === '+' ? '[^/]*' : level.replace(special, '\\$&'));
  }
  return parts.join('/');
}

/**
 * MQTT topic filters as one anchored PostgreSQL regular expression, so that the database picks a
 * definition's events (`topic ~ pattern`) with the broker's own matching rules.
 */
export function topicFiltersPattern(filters: readonly string[]): string {
  return `^(?:${filters.map(filterPattern).join('|')})$`;
}
