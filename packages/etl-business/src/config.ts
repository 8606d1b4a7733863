import { fileURLToPath } from 'node:url';
import { env } from '@plantmesh/core';
import { storeUrlEnv } from '@plantmesh/schema';

/** The KPI definitions that ship with the platform: ISO 22400 and the steel plant's own. */
export const shippedKpis = fileURLToPath(new URL('../definitions', import.meta.url));

export const businessEnv = {
  ...storeUrlEnv,
  /** The folder of KPI definition files (*.yaml), watched for changes. */
  KPI_DEFINITIONS_DIR: env.string().default(shippedKpis),
  /** Curated change batches read per marking transaction. */
  CHANGES_PER_BATCH: env.int(1).default(100),
  /** Window marks claimed per recompute transaction. */
  WINDOWS_PER_BATCH: env.int(1).default(1_000),
  /** How often an idle KPI looks for changes. */
  POLL_MS: env.int(10).default(500),
  /** How often the sample rollups are brought up to date (without TimescaleDB) when nothing waits. */
  ROLLUP_MS: env.int(100).default(5_000),
  /** How often the sample change log is pruned behind its readers. */
  PRUNE_MS: env.int(1_000).default(60_000),
  /** How often the definitions folder is read again, besides the file watch. */
  RESCAN_MS: env.int(100).default(5_000),
};
