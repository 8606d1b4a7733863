import type { Logger } from '@plantmesh/core';
import type { Namespace } from '@plantmesh/information-model';
import { storePlatform, syncCuratedProducts, syncEquipment } from '@plantmesh/information-model/store';
import type pg from 'pg';

export type { Namespace };

/** Stores the platform's own types once per process (they only change with a new version of the code). */
export async function storePlatformOnce(curated: pg.Pool): Promise<void> {
  const client = await curated.connect();
  try {
    await storePlatform(client);
  } finally {
    client.release();
  }
}

export interface ModelSyncOptions {
  curated: pg.Pool;
  metrics: pg.Pool;
  plant: Namespace;
  log: Logger;
  intervalMs: number;
  /** Called after the curated products' part changed (the API forgets its cached registry). */
  onProducts?: () => void;
}

export class ModelSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private registryStamp = '';
  private stopped = false;

  constructor(private readonly options: ModelSyncOptions) {}

  /** One round: new series, then the curated registry if it changed. */
  async round(): Promise<void> {
    const { curated, metrics, plant, log } = this.options;
    const client = await curated.connect();
    try {
      const equipment = await syncEquipment(metrics, client);
      if (equipment.series > 0) log.info(equipment, 'model: equipment and series objects added');
      const stamp = await client.query<{ stamp: string }>(
        `select coalesce(max(applied_at)::text, '') || '/' || count(*) as stamp from curated.definitions`,
      );
      const current = stamp.rows[0]?.stamp ?? '';
      if (current !== this.registryStamp) {
        const result = await syncCuratedProducts(client, plant);
        for (const warning of result.warnings) log.warn({ warning }, 'model: curated relationship left out');
        log.info({ types: result.objectTypes, removed: result.removed }, 'model: curated products synchronised');
        this.registryStamp = current;
        this.options.onProducts?.();
      }
    } finally {
      client.release();
    }
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((error) => this.options.log.warn({ err: error }, 'model sync failed; retried next round'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
