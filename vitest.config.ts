import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript source through the `source` export condition. Vite's
// default server conditions are left out on purpose: their `module` condition picks bundler-only
// builds (extensionless ESM) that Node itself cannot load.
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['tests/bench/**', '**/node_modules/**'],
    pool: 'forks',
    // Tests start real servers: generous timeouts, and few files at once on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ['packages/testkit/src/global-setup.ts'],
  },
});
