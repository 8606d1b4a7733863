import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** One JSON Schema 2020-12 validator (with formats), for the definition format and the payload schemas. */
export const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);

/** Moved to core with checkedYaml; kept here for the importers of etl-curated. */
export { pointerPath } from '@plantmesh/core';
