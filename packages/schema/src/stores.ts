import { ConfigError, env } from '@plantmesh/core';

/** The stores of DESIGN.md, in the order their migrations apply. */
export const stores = ['raw', 'metrics', 'curated', 'business', 'catalog', 'i3x'] as const;
export type Store = (typeof stores)[number];

const postgresUrl = () => env.url(['postgres', 'postgresql']).optional();

/**
 * Every store has its own connection URL so that an operator can move it to another database or
 * server; each falls back to DATABASE_URL.
 */
export const storeUrlEnv = {
  DATABASE_URL: postgresUrl(),
  RAW_DATABASE_URL: postgresUrl(),
  METRICS_DATABASE_URL: postgresUrl(),
  CURATED_DATABASE_URL: postgresUrl(),
  BUSINESS_DATABASE_URL: postgresUrl(),
  CATALOG_DATABASE_URL: postgresUrl(),
  I3X_DATABASE_URL: postgresUrl(),
};

type StoreUrlConfig = { [K in keyof typeof storeUrlEnv]?: string | undefined };

/** The URL of each requested store, or a ConfigError naming the variable to set. */
export function storeUrls<S extends Store>(config: StoreUrlConfig, wanted: readonly S[]): Record<S, string> {
  const urls = {} as Record<S, string>;
  const missing: string[] = [];
  for (const store of wanted) {
    const name = `${store.toUpperCase()}_DATABASE_URL` as keyof StoreUrlConfig;
    const url = config[name] ?? config.DATABASE_URL;
    if (url) urls[store] = url;
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid configuration: DATABASE_URL is required (a postgres URL) unless ${missing.join(', ')} are set`,
    );
  }
  return urls;
}
