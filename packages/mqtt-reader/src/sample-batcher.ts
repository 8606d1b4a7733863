import { encodeSampleBatch, type SampleGroup } from '@plantmesh/core';

interface Batch {
  groups: SampleGroup[];
  samples: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Gathers the samples of many MQTT messages into one AMQP message, sent when it holds `maxSamples`
 * or `maxMs` after its first sample. `add` resolves once the batch holding the samples is confirmed.
 */
export class SampleBatcher {
  private current: Batch | undefined;

  constructor(
    private readonly maxSamples: number,
    private readonly maxMs: number,
    private readonly send: (body: Buffer, samples: number) => Promise<void>,
  ) {}

  add(group: SampleGroup): Promise<void> {
    const batch = this.current ?? this.open();
    batch.groups.push(group);
    batch.samples += group.samples.length;
    if (batch.samples >= this.maxSamples) this.flush();
    return batch.done;
  }

  /** Sends what is gathered now. */
  flush(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = undefined;
    clearTimeout(batch.timer);
    this.send(encodeSampleBatch(batch.groups), batch.samples).then(batch.resolve, batch.reject);
  }

  private open(): Batch {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch whose send fails stays unacknowledged; the caller decides, no unhandled rejection here.
    done.catch(() => {});
    const batch: Batch = { groups: [], samples: 0, done, resolve, reject };
    batch.timer = setTimeout(() => {
      if (this.current === batch) this.flush();
    }, this.maxMs);
    this.current = batch;
    return batch;
  }
}
