import { readFileSync } from 'node:fs';
import { quoteLiteral } from '@plantmesh/core';
import {
  ajv,
  type CheckedYaml,
  checkedYaml,
  DefinitionError,
  type DefinitionProblem,
  unitCodes,
} from '@plantmesh/etl-curated';

export type WindowKind = 'hour' | 'day' | 'shift' | 'entity';

export interface KpiColumn {
  name: string;
  type: 'text' | 'integer' | 'bigint' | 'numeric' | 'double precision' | 'boolean' | 'timestamptz';
  unit?: string;
  description?: string;
}

/** A KPI, as its YAML file says (see kpi.schema.json). */
export interface KpiDefinition {
  apiVersion: 'plantmesh.dev/v1';
  kind: 'KpiDefinition';
  kpi: {
    name: string;
    domain: string;
    owner: string;
    description: string;
    version: string;
    iso22400?: { name: string; elements: string[]; formula: string };
  };
  inputs: string[];
  /** MQTT topic filters over series paths. */
  series?: string[];
  window: {
    kind: WindowKind;
    timeZone?: string;
    shifts?: Array<{ name: string; start: string }>;
    entity?: string;
  };
  compute: { sql: string };
  table: string;
  columns: KpiColumn[];
  key?: string[];
}

const schema = JSON.parse(readFileSync(new URL('../kpi.schema.json', import.meta.url), 'utf8'));
const validateFormat = ajv.compile<KpiDefinition>(schema);

/** The query's named parameters and the positional ones they become, by window kind. */
const parameters: Record<'time' | 'entity', string[]> = {
  time: ['window_start', 'window_end'],
  entity: ['entity'],
};
const parameterPattern = /(?<![:\w]):(window_start|window_end|entity|series)\b/g;

/** The columns a window adds to every KPI table, which the KPI's own columns may not be named. */
export const windowColumns = ['window_start', 'window_end', 'shift', '_definition_version', '_computed_at'];

/**
 * The KPI's query for one window at a time, its named parameters read from the window row `_window`
 * (`_window.window_start`, `_window.window_end`, `_window.entity`), so that one statement can run it for
 * many windows with a lateral join; :series is the definition's filters, the same for every window.
 */
export function windowedSql(definition: KpiDefinition): string {
  const series = `array[${(definition.series ?? []).map(quoteLiteral).join(', ')}]::text[]`;
  return definition.compute.sql.replace(parameterPattern, (_match, name: string) =>
    name === 'series' ? series : `_window.${name}`,
  );
}

/**
 * Reads a KPI definition and checks it: against kpi.schema.json, then what a schema cannot say (columns
 * named once and not as the window's own, known units, the key among the columns, a known time zone,
 * shifts in the order of the day, a query that uses exactly its window's parameters). Returns the
 * definition and a locator for problems found later (inputs missing from the registry).
 */
export function readKpiDefinition(text: string, file: string): CheckedYaml<KpiDefinition> {
  const checked = checkedYaml(text, file, validateFormat);
  const { value: definition, at } = checked;
  const problems: DefinitionProblem[] = [];
  const names = new Set<string>();
  definition.columns.forEach((column, index) => {
    if (names.has(column.name)) problems.push(at(['columns', index, 'name'], `column "${column.name}" is named twice`));
    if (windowColumns.includes(column.name)) {
      problems.push(
        at(['columns', index, 'name'], `"${column.name}" is a column of every KPI table; name it otherwise`),
      );
    }
    names.add(column.name);
    if (column.unit && !unitCodes[column.unit]) {
      problems.push(at(['columns', index, 'unit'], `"${column.unit}" is not a UNECE Rec. 20 code the platform knows`));
    }
  });
  (definition.key ?? []).forEach((name, index) => {
    if (!names.has(name)) problems.push(at(['key', index], `key column "${name}" is not among the columns`));
  });
  const zone = definition.window.timeZone;
  if (zone) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
    } catch {
      problems.push(at(['window', 'timeZone'], `"${zone}" is not an IANA time zone`));
    }
  }
  const starts = (definition.window.shifts ?? []).map((shift) => shift.start);
  if (starts.some((start, index) => index > 0 && start <= (starts[index - 1] as string))) {
    problems.push(at(['window', 'shifts'], 'shifts must be listed in the order of the day, each starting later'));
  }
  const kind = definition.window.kind === 'entity' ? 'entity' : 'time';
  const series = definition.series !== undefined;
  if (definition.inputs.length === 0 && !series) {
    problems.push(at(['inputs'], 'a KPI needs curated inputs, series, or both'));
  }
  // Samples mark the time windows they fall into; an entity has no time of its own to mark.
  if (series && kind === 'entity')
    problems.push(at(['series'], 'series can feed only a time window (hour, day, shift)'));
  const used = new Set([...definition.compute.sql.matchAll(parameterPattern)].map((match) => match[1] as string));
  const expected = series ? [...parameters[kind], 'series'] : parameters[kind];
  for (const name of expected) {
    if (!used.has(name)) {
      const why = name === 'series' ? 'the KPI names series' : `a ${definition.window.kind} window`;
      problems.push(at(['compute', 'sql'], `the query must use :${name} (${why})`));
    }
  }
  for (const name of used) {
    if (!expected.includes(name)) {
      const why = name === 'series' ? 'the KPI names no series' : `a ${definition.window.kind} window`;
      problems.push(at(['compute', 'sql'], `:${name} has no value (${why})`));
    }
  }
  if (problems.length > 0) throw new DefinitionError(problems);
  return checked;
}

/** Reads and checks a KPI definition file. */
export function loadKpiDefinition(file: string): KpiDefinition {
  return readKpiDefinition(readFileSync(file, 'utf8'), file).value;
}
