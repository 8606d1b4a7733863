import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** One JSON Schema 2020-12 validator (with formats), for the definition format and the payload schemas. */
export const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);

/** The keys and indexes a JSON Pointer (or an ajv instancePath) names, e.g. /columns/2/type. */
export function pointerPath(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}
