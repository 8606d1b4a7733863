import { afterAll, beforeAll } from 'vitest';
import { IngestPlatform } from './ingest-platform.js';

/** Starts a platform before a test file's tests and stops it after them; call the result to get it. */
export function useIngestPlatform(options?: Parameters<typeof IngestPlatform.start>[0]): () => IngestPlatform {
  let platform: IngestPlatform | undefined;
  beforeAll(async () => {
    platform = await IngestPlatform.start(options);
  });
  afterAll(async () => {
    await platform?.stop();
  });
  return () => platform as IngestPlatform;
}
