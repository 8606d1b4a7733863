import { fileURLToPath } from 'node:url';
import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

/** The definitions that ship with the platform: the worked steel-plant example. */
export const shippedDefinitions = fileURLToPath(new URL('../definitions', import.meta.url));

export const etlEnv = {
  ...storeUrlEnv,
  /** The folder of definition files (*.yaml), watched for changes. */
  DEFINITIONS_DIR: env.string().default(shippedDefinitions),
  /** Raw events per batch: one transaction of reads, upserts and the watermark. */
  BATCH_SIZE: env.int(1).default(2_000),
  /** How often a caught-up definition looks for new events. */
  POLL_MS: env.int(10).default(200),
  /** How often the definitions folder is read again, besides the file watch. */
  RESCAN_MS: env.int(100).default(5_000),
};
