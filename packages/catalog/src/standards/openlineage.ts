/**
 * Lineage as OpenLineage events (core spec 2-0-2), for Marquez, DataHub or OpenMetadata: a JobEvent per
 * ETL job (a curated definition or a KPI, as the lineage edges' `via` names it) with its input and output
 * datasets, their schemas and, where the definition maps payload fields to columns, the column lineage;
 * and RunEvents from what the ETLs record of their runs (see runs.ts).
 */
import { createHash } from 'node:crypto';
import type { Asset, LineageEdge } from '../model.js';
import type { PostgresServerInfo } from './odcs.js';
import { facetSchemaUrl, openLineageSchemaUrl } from './schemas.js';

export interface LineageOptions {
  /** URI of what made the events (the catalog's version). */
  producer: string;
  /** The namespace of the jobs. */
  namespace?: string;
  postgres: PostgresServerInfo;
  /** The MQTT brokers' URLs by name (events, sensors). */
  brokers: Record<string, string>;
  /** RabbitMQ's URL (without credentials). */
  amqp?: string;
  /** A KPI's SQL, by job (`via`), for the sql facet. */
  sql?: ReadonlyMap<string, string>;
  /** A job's description, by job. */
  descriptions?: ReadonlyMap<string, string>;
}

export type OpenLineageEvent = Record<string, unknown>;
export interface OpenLineageDataset {
  namespace: string;
  name: string;
  facets?: Record<string, unknown>;
}

/** A job's name in OpenLineage: `etl-curated/heats@1.0.0` -> `etl-curated.heats` (the version is the run's business). */
export function jobName(via: string): string {
  return via.replace(/@[^@]*$/, '').replace('/', '.');
}

/** The namespace and name of an asset as a dataset, after OpenLineage's naming conventions. */
export function datasetOf(asset: Pick<Asset, 'kind' | 'name' | 'properties'>, options: LineageOptions) {
  switch (asset.kind) {
    case 'postgres_table':
    case 'postgres_view': {
      const { host, port, database } = options.postgres;
      return { namespace: `postgres://${host}:${port}`, name: `${database}.${asset.name}` };
    }
    case 'mqtt_topic': {
      const broker = String(asset.properties.broker ?? 'events');
      const url = options.brokers[broker];
      if (!url) throw new Error(`no URL for the MQTT broker "${broker}"`);
      const { protocol, host } = new URL(url);
      return { namespace: `${protocol}//${host}`, name: String(asset.properties.topic ?? asset.name) };
    }
    case 'amqp_exchange':
    case 'amqp_queue': {
      const { protocol, host } = new URL(options.amqp ?? 'amqp://rabbitmq');
      return { namespace: `${protocol}//${host}`, name: asset.name };
    }
    default:
      return { namespace: 'plantmesh', name: `${asset.kind}/${asset.name}` };
  }
}

const facet = (producer: string, name: Parameters<typeof facetSchemaUrl>[0], body: Record<string, unknown>) => ({
  _producer: producer,
  _schemaURL: facetSchemaUrl(name),
  ...body,
});

function schemaFacet(asset: Asset, producer: string) {
  if (asset.columns.length === 0) return undefined;
  return facet(producer, 'schema', {
    fields: asset.columns.map((column) => ({
      name: column.name,
      type: column.type,
      ...(column.description || column.unit
        ? { description: [column.description, column.unit && `unit ${column.unit}`].filter(Boolean).join('; ') }
        : {}),
    })),
  });
}

/** A job's inputs and outputs, from its edges. */
export interface LineageJob {
  via: string;
  inputs: Asset[];
  outputs: Asset[];
  edges: LineageEdge[];
}

/** The jobs the edges name, each with the assets it reads and writes. */
export function lineageJobs(assets: ReadonlyMap<string, Asset>, edges: readonly LineageEdge[]): LineageJob[] {
  const jobs = new Map<string, { inputs: Set<string>; outputs: Set<string>; edges: LineageEdge[] }>();
  for (const edge of edges) {
    if (!edge.via) continue;
    const job = jobs.get(edge.via) ?? { inputs: new Set(), outputs: new Set(), edges: [] };
    job.inputs.add(edge.from);
    job.outputs.add(edge.to);
    job.edges.push(edge);
    jobs.set(edge.via, job);
  }
  const resolve = (id: string) => {
    const asset = assets.get(id);
    if (!asset) throw new Error(`lineage names an unknown asset ${id}`);
    return asset;
  };
  return [...jobs].map(([via, job]) => ({
    via,
    inputs: [...job.inputs].map(resolve),
    outputs: [...job.outputs].map(resolve),
    edges: job.edges,
  }));
}

/** The output dataset of a job: its schema and, where edges name fields, its column lineage. */
function outputDataset(job: LineageJob, asset: Asset, options: LineageOptions): OpenLineageDataset {
  const fields: Record<string, { inputFields: Array<Record<string, string>> }> = {};
  for (const edge of job.edges) {
    if (edge.to !== asset.id || !edge.toField || !edge.fromField) continue;
    const source = job.inputs.find((input) => input.id === edge.from) as Asset;
    const field = edge.fromField.startsWith('/') ? pointerToField(edge.fromField) : edge.fromField;
    const entry = fields[edge.toField] ?? { inputFields: [] };
    entry.inputFields.push({
      ...datasetOf(source, options),
      field,
      ...(edge.fromField.startsWith('/') ? { transformation: `payload JSON Pointer ${edge.fromField}` } : {}),
    });
    fields[edge.toField] = entry;
  }
  const schema = schemaFacet(asset, options.producer);
  return {
    ...datasetOf(asset, options),
    facets: {
      ...(schema ? { schema } : {}),
      ...(Object.keys(fields).length > 0
        ? { columnLineage: facet(options.producer, 'columnLineage', { fields }) }
        : {}),
    },
  };
}

function pointerToField(pointer: string): string {
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
}

function inputDataset(asset: Asset, options: LineageOptions): OpenLineageDataset {
  const schema = schemaFacet(asset, options.producer);
  return { ...datasetOf(asset, options), ...(schema ? { facets: { schema } } : {}) };
}

function jobObject(via: string, options: LineageOptions) {
  const description = options.descriptions?.get(via);
  const sql = options.sql?.get(via);
  return {
    namespace: options.namespace ?? 'plantmesh',
    name: jobName(via),
    facets: {
      ...(description ? { documentation: facet(options.producer, 'documentation', { description }) } : {}),
      ...(sql ? { sql: facet(options.producer, 'sql', { query: sql }) } : {}),
    },
  };
}

/** A JobEvent per job: what it reads and writes, with schemas and column lineage, at `eventTime`. */
export function jobEvents(
  assets: ReadonlyMap<string, Asset>,
  edges: readonly LineageEdge[],
  options: LineageOptions & { eventTime: string },
): OpenLineageEvent[] {
  return lineageJobs(assets, edges).map((job) => ({
    eventTime: options.eventTime,
    producer: options.producer,
    schemaURL: `${openLineageSchemaUrl}#/$defs/JobEvent`,
    job: jobObject(job.via, options),
    inputs: job.inputs.map((asset) => inputDataset(asset, options)),
    outputs: job.outputs.map((asset) => outputDataset(job, asset, options)),
  }));
}

/** A UUID made from a text (SHA-1, version 5 layout), so that the same run always gets the same id. */
export function stableUuid(text: string): string {
  const hash = createHash('sha1').update(text).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** One run of a job as the ETLs record it (a curated batch, a KPI window's computation). */
export interface RecordedRun {
  /** The job, as LineageEdge.via names it. */
  via: string;
  /** What identifies the run within its job (a batch's commit position, a window). */
  key: string;
  /** When it committed. */
  endedAt: string;
  /** Rows it wrote, by output asset id. */
  rowsWritten: Record<string, number>;
  /** The window a KPI run computed. */
  nominal?: { start: string; end?: string };
  /** The definition version that ran. */
  version?: string;
}

/**
 * The RunEvent of a recorded run: COMPLETE at its commit time (the ETLs record commits, not starts), with
 * its inputs, its outputs' row counts, and for a KPI the window it computed as the nominal time. The run
 * id is derived from the job and the run's key, so exporting again sends the same runs.
 */
export function runEvent(
  run: RecordedRun,
  job: LineageJob | undefined,
  assets: ReadonlyMap<string, Asset>,
  options: LineageOptions,
): OpenLineageEvent {
  const outputs = Object.keys(run.rowsWritten).map((id) => {
    const asset = assets.get(id);
    if (!asset) throw new Error(`run ${run.via} ${run.key}: unknown output ${id}`);
    return asset;
  });
  return {
    eventType: 'COMPLETE',
    eventTime: run.endedAt,
    producer: options.producer,
    schemaURL: `${openLineageSchemaUrl}#/$defs/RunEvent`,
    run: {
      runId: stableUuid(`${run.via}\n${run.key}`),
      facets: run.nominal
        ? {
            nominalTime: facet(options.producer, 'nominalTime', {
              nominalStartTime: run.nominal.start,
              ...(run.nominal.end ? { nominalEndTime: run.nominal.end } : {}),
            }),
          }
        : {},
    },
    job: jobObject(run.via, options),
    inputs: (job?.inputs ?? []).map((asset) => datasetOf(asset, options)),
    outputs: outputs.map((asset) => ({
      ...datasetOf(asset, options),
      outputFacets: {
        outputStatistics: facet(options.producer, 'outputStatistics', { rowCount: run.rowsWritten[asset.id] }),
      },
    })),
  };
}
