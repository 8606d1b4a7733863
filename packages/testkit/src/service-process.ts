import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ManagedProcess } from './managed-process.js';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ServiceProcessOptions {
  /** The service's `src/main.ts` (or any TypeScript entry point); with `compiled`, its `dist/main.js`. */
  entry: string;
  /**
   * Run the compiled JavaScript as the image does (`pnpm build` first): no TypeScript loader, workspace
   * packages resolved to their dist. For benchmarks: the loader's transform is not quite what tsc emits.
   */
  compiled?: boolean;
  args?: string[];
  /** Options for node itself, e.g. `--cpu-prof` for a profile of a benchmark run. */
  nodeOptions?: string[];
  env: Record<string, string>;
  logFile: string;
  onLine?: (line: string) => void;
}

/**
 * Runs a plantmesh service from its TypeScript source as a real process (the `source` export
 * condition makes workspace packages resolve to their source, so nothing needs building first), or
 * compiled.
 */
export function startServiceProcess(options: ServiceProcessOptions): ManagedProcess {
  const managed = new ManagedProcess({
    command: process.execPath,
    args: [
      ...(options.nodeOptions ?? []),
      ...(options.compiled ? [] : ['--conditions=source', '--import', tsxLoader]),
      options.entry,
      ...(options.args ?? []),
    ],
    env: { ...process.env, ...options.env },
    logFile: options.logFile,
    onLine: options.onLine,
  });
  managed.start();
  return managed;
}
