import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

export const i3xEnv = {
  ...storeUrlEnv,
  /** Where the I3X API listens (plain HTTP until TLS comes with the security step). */
  I3X_HOST: env.string().default('0.0.0.0'),
  I3X_PORT: env.port().default(8080),
  /** Name served by GET /info. */
  SERVER_NAME: env.string().default('plantmesh'),
  /** The plant's namespace: its data products' types and relationship types. */
  PLANT_NAMESPACE_URI: env.string().default('https://plantmesh.dev/ns/plant'),
  PLANT_NAMESPACE_NAME: env.string().default('plant'),
  /** Largest request body; a larger one is refused with 413. */
  MAX_BODY_BYTES: env.int(1_024).default(1_048_576),
  /** Most elementIds in one bulk request; more is refused with 400 (the answer must be as long as the request). */
  MAX_BULK_ITEMS: env.int(1).default(1_000),
  /** Deepest composition a value read follows (maxDepth 0 = as deep as this); deeper gives 206. */
  MAX_COMPOSITION_DEPTH: env.int(1).default(16),
  /** Most component values in one value or history answer; more gives 206. */
  MAX_COMPONENTS: env.int(1).default(10_000),
  /** Most objects in one list answer (GET /objects, one element's related objects); more gives 206. */
  MAX_OBJECTS: env.int(1).default(100_000),
  /** Most history values per element; more gives 206 with the earliest ones. */
  MAX_HISTORY_VALUES: env.int(1).default(100_000),
  /** How often the equipment objects (new series) and the curated products are brought into the model. */
  MODEL_SYNC_MS: env.int(100).default(5_000),
};
