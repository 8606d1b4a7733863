/**
 * The published JSON Schemas of the open standards the catalog speaks, and validators for them:
 * ODCS v3.1.0 and ODPS v1.0.0 (Bitol, JSON Schema 2019-09), OpenLineage 2-0-2 and the facets we emit
 * (JSON Schema 2020-12), AsyncAPI 3.0.0 with its bindings (draft-07, from @asyncapi/specs). The Bitol and
 * OpenLineage documents are vendored under the repository's `standards/` folder with their source noted
 * in standards/README.md; they are read as published, never edited.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * The folder of the published schemas: PLANTMESH_STANDARDS_DIR, or the repository's `standards/` (the
 * same depth from src/standards and dist/standards).
 */
function standardsDir(): URL {
  const dir = process.env.PLANTMESH_STANDARDS_DIR;
  return dir ? pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`) : new URL('../../../../standards/', import.meta.url);
}

function standard(path: string): Record<string, unknown> {
  const file = new URL(path, standardsDir());
  if (!existsSync(file)) {
    throw new Error(
      `the published schema ${path} is not at ${fileURLToPath(file)}: set PLANTMESH_STANDARDS_DIR to the repository's standards/ folder`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

export const odcsApiVersion = 'v3.1.0';
export const odpsApiVersion = 'v1.0.0';
/** The OpenLineage core spec the events conform to (their schemaURL). */
export const openLineageSchemaUrl = 'https://openlineage.io/spec/2-0-2/OpenLineage.json';
export const asyncApiVersion = '3.0.0';

/** The facets we emit: their name in an event, the file and the published URL of their schema. */
export const openLineageFacets = {
  schema: { file: 'SchemaDatasetFacet.json', url: 'https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json' },
  columnLineage: {
    file: 'ColumnLineageDatasetFacet.json',
    url: 'https://openlineage.io/spec/facets/1-0-1/ColumnLineageDatasetFacet.json',
  },
  documentation: {
    file: 'DocumentationJobFacet.json',
    url: 'https://openlineage.io/spec/facets/1-0-0/DocumentationJobFacet.json',
  },
  sql: { file: 'SQLJobFacet.json', url: 'https://openlineage.io/spec/1-0-1/SQLJobFacet.json' },
  nominalTime: { file: 'NominalTimeRunFacet.json', url: 'https://openlineage.io/spec/1-0-1/NominalTimeRunFacet.json' },
  outputStatistics: {
    file: 'OutputStatisticsOutputDatasetFacet.json',
    url: 'https://openlineage.io/spec/1-0-1/OutputStatisticsOutputDatasetFacet.json',
  },
} as const;
export type OpenLineageFacetName = keyof typeof openLineageFacets;

/** The `_schemaURL` of a facet we emit: its published schema and the definition inside it. */
export function facetSchemaUrl(name: OpenLineageFacetName): string {
  const definition = openLineageFacets[name].file.replace(/\.json$/, '');
  return `${openLineageFacets[name].url}#/$defs/${definition}`;
}

/** One problem of a document: where (a JSON Pointer) and what. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** A validator of one standard: the problems of a document, none when it conforms. */
export type StandardValidator = (document: unknown) => SchemaProblem[];

/**
 * Ajv's errors as problems a person can act on: the branches of an if/then or oneOf that only say
 * "must match" are dropped when a more precise error exists, duplicates are merged, and unknown fields
 * are named.
 */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  const all = errors ?? [];
  const vague = new Set(['if', 'then', 'else', 'oneOf', 'anyOf', 'allOf', 'not', '$ref']);
  const precise = all.filter((error) => !vague.has(error.keyword));
  const chosen = precise.length > 0 ? precise : all;
  // A field that a failed branch (a server's then) would have allowed is reported as unevaluated too:
  // where that branch's own errors are, they say it better.
  const explained = new Set(
    chosen.filter((error) => error.keyword !== 'unevaluatedProperties').map((error) => error.instancePath),
  );
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of chosen) {
    if (error.keyword === 'unevaluatedProperties' && explained.has(error.instancePath)) continue;
    const problem = { path: error.instancePath || '/', message: describeError(error) };
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `"${params.missingProperty}" is required`;
    case 'additionalProperties':
      return `"${params.additionalProperty}" is not a field of the standard`;
    case 'unevaluatedProperties':
      return `"${params.unevaluatedProperty}" is not a field of the standard`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return error.message ?? error.keyword;
  }
}

function problemsOf(validate: ValidateFunction): StandardValidator {
  return (document) => (validate(document) ? [] : schemaProblems(validate.errors));
}

let odcs: StandardValidator | undefined;
let odps: StandardValidator | undefined;
let openLineage: { core: ValidateFunction; facets: Map<OpenLineageFacetName, ValidateFunction> } | undefined;
let asyncApi: StandardValidator | undefined;

/** Validates a data contract against the published ODCS v3.1.0 JSON Schema. */
export function validateOdcs(document: unknown): SchemaProblem[] {
  if (!odcs) {
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    addFormats.default(ajv);
    odcs = problemsOf(ajv.compile(standard('odcs/odcs-json-schema-v3.1.0.json')));
  }
  return odcs(document);
}

/** Validates a data product against the published ODPS v1.0.0 JSON Schema. */
export function validateOdps(document: unknown): SchemaProblem[] {
  if (!odps) {
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    addFormats.default(ajv);
    odps = problemsOf(ajv.compile(standard('odps/odps-json-schema-v1.0.0.json')));
  }
  return odps(document);
}

function openLineageValidators() {
  if (!openLineage) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const core = standard('openlineage/OpenLineage.json');
    ajv.addSchema(core);
    // The facets were published against earlier core versions (1-0-1, 1-0-2) whose JobFacet, RunFacet,
    // DatasetFacet and OutputDatasetFacet are those of 2-0-2; they resolve to the core we vendor.
    for (const version of ['1-0-1', '1-0-2']) {
      ajv.addSchema({ ...core, $id: `https://openlineage.io/spec/${version}/OpenLineage.json` });
    }
    const facets = new Map<OpenLineageFacetName, ValidateFunction>();
    for (const [name, { file }] of Object.entries(openLineageFacets) as Array<
      [OpenLineageFacetName, { file: string }]
    >) {
      facets.set(name, ajv.compile(standard(`openlineage/facets/${file}`)));
    }
    openLineage = { core: ajv.getSchema(openLineageSchemaUrl) as ValidateFunction, facets };
  }
  return openLineage;
}

/**
 * Validates an OpenLineage event (RunEvent, JobEvent or DatasetEvent) against the core spec, and each
 * facet it carries that we know (job, run, dataset, input and output facets) against that facet's
 * published schema. A facet we do not know is checked as a custom facet by the core spec only.
 */
export function validateOpenLineage(event: unknown): SchemaProblem[] {
  const { core, facets } = openLineageValidators();
  const problems = core(event) ? [] : schemaProblems(core.errors);
  const containers: Array<[string, unknown]> = [];
  const e = event as {
    job?: { facets?: unknown };
    run?: { facets?: unknown };
    inputs?: Array<{ facets?: unknown; inputFacets?: unknown }>;
    outputs?: Array<{ facets?: unknown; outputFacets?: unknown }>;
  };
  if (e?.job?.facets) containers.push(['/job/facets', e.job.facets]);
  if (e?.run?.facets) containers.push(['/run/facets', e.run.facets]);
  (e?.inputs ?? []).forEach((input, index) => {
    if (input.facets) containers.push([`/inputs/${index}/facets`, input.facets]);
    if (input.inputFacets) containers.push([`/inputs/${index}/inputFacets`, input.inputFacets]);
  });
  (e?.outputs ?? []).forEach((output, index) => {
    if (output.facets) containers.push([`/outputs/${index}/facets`, output.facets]);
    if (output.outputFacets) containers.push([`/outputs/${index}/outputFacets`, output.outputFacets]);
  });
  for (const [at, container] of containers) {
    for (const name of Object.keys(container as object)) {
      const validate = facets.get(name as OpenLineageFacetName);
      if (validate && !validate(container)) {
        problems.push(...schemaProblems(validate.errors).map((p) => ({ ...p, path: `${at}${p.path}` })));
      }
    }
  }
  return problems;
}

/** Validates an AsyncAPI 3.0.0 document (with its mqtt and amqp bindings) against @asyncapi/specs. */
export function validateAsyncApi(document: unknown): SchemaProblem[] {
  if (!asyncApi) {
    const specs = createRequire(import.meta.url)('@asyncapi/specs') as {
      schemas: Record<string, Record<string, unknown>>;
    };
    // The document embeds the draft-07 meta-schema under its own $id: Ajv's copy of it stays out.
    const ajv = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: false });
    addFormats.default(ajv);
    asyncApi = problemsOf(ajv.compile(specs.schemas[asyncApiVersion] as Record<string, unknown>));
  }
  return asyncApi(document);
}
