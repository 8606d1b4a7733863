import { createHash } from 'node:crypto';
import { type FSWatcher, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@plantmesh/core';
import { DefinitionError } from '@plantmesh/core';
import { type ApplyOutcome, IncompatibleDefinitionError } from './registry.js';

/** How long the folder must be quiet after a change before it is read. */
const settleMs = 200;
/** How long a file may wait for what it names (another ETL's products) before it counts as refused. */
const waitGraceMs = 120_000;

/**
 * Reads one definition file's text and applies it: what was applied and how, or a DefinitionError /
 * IncompatibleDefinitionError for a file that cannot be (any other error is taken as transient).
 */
export type LoadDefinition = (
  text: string,
  file: string,
) => Promise<{ name: string; version: string; outcome: ApplyOutcome }>;

/**
 * The folder of definition files (a ConfigMap in Kubernetes), applied at start and again whenever a file
 * changes: a valid file applies without a restart; an invalid one, or an incompatible change, is refused
 * with its file, line and problem, and the version applied before goes on running.
 */
export class DefinitionsFolder {
  /** The content hash of each file as last handled, so that an unchanged file is not applied again. */
  private readonly seen = new Map<string, string>();
  /** The refusal last reported per file, so that a file retried at every scan is reported once. */
  private readonly reported = new Map<string, string>();
  /** Since when a file has been waiting for what it names to be applied. */
  private readonly waitingSince = new Map<string, number>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settling: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly load: LoadDefinition,
    private readonly log: Logger,
    /** Counts a refused file (its name). */
    private readonly refused: (name: string) => void,
  ) {}

  /** Applies every file now; then follows changes (a watch, and a rescan every `rescanMs` as a fallback). */
  async start(rescanMs: number): Promise<void> {
    await this.scan();
    // A ConfigMap update swaps a symlinked folder: a rename in this folder, which the watch reports. An
    // editor's save comes as several events (truncate, write): the scan waits for them to settle.
    this.watcher = watch(this.dir, () => {
      clearTimeout(this.settling);
      this.settling = setTimeout(() => void this.scan(), settleMs);
    });
    this.watcher.on('error', (error) => this.log.warn({ err: error, dir: this.dir }, 'cannot watch definitions'));
    this.timer = setInterval(() => void this.scan(), rescanMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.settling);
    await this.scanning;
  }

  /** Handles the files that changed since the last scan; scans never overlap. */
  scan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce());
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => /\.ya?ml$/.test(name) && !name.startsWith('.'));
    } catch (error) {
      this.log.error({ err: error, dir: this.dir }, 'cannot read the definitions folder');
      return;
    }
    for (const name of names.sort()) {
      const file = join(this.dir, name);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // removed between listing and reading
      }
      // An empty file is a save caught between its truncation and its write (or a file being made):
      // nothing to apply or refuse; its content comes with the next change or scan.
      if (text.trim() === '') continue;
      const hash = createHash('sha256').update(text).digest('hex');
      if (this.seen.get(file) === hash) continue;
      try {
        const { name: product, version, outcome } = await this.load(text, file);
        if (outcome !== 'unchanged') this.log.info({ file, product, version, outcome }, 'definition applied');
      } catch (error) {
        if (!(error instanceof DefinitionError || error instanceof IncompatibleDefinitionError)) {
          // The database, not the file: try again at the next scan.
          this.log.warn({ err: error, file }, 'cannot apply definition now; retrying');
          continue;
        }
        // A file that may pass later (at service start, the ETL it depends on may not have applied its
        // products yet) waits, tried again at every scan, and counts as refused only after a grace time.
        const waiting = error instanceof DefinitionError && error.mayPassLater;
        const since = this.waitingSince.get(file) ?? Date.now();
        if (waiting && Date.now() - since < waitGraceMs) {
          if (!this.waitingSince.has(file)) this.log.warn({ file }, `definition waits: ${error.message}`);
          this.waitingSince.set(file, since);
          continue;
        }
        if (this.reported.get(file) !== error.message) {
          this.reported.set(file, error.message);
          this.refused(name);
          this.log.error({ file, problems: error.message.split('\n') }, `definition refused: ${error.message}`);
        }
        if (waiting) continue;
      }
      this.reported.delete(file);
      this.waitingSince.delete(file);
      this.seen.set(file, hash);
    }
  }
}
