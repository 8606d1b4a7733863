interface Batch<T> {
  items: T[];
  size: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Gathers items of many MQTT messages into one AMQP message, sent when its items add up to `maxSize`
 * (samples, or events) or `maxMs` after the first. `add` resolves once the batch holding the item is
 * confirmed, so the MQTT message behind it can be acknowledged then and not before.
 */
export class Batcher<T> {
  private current: Batch<T> | undefined;

  constructor(
    private readonly maxSize: number,
    private readonly maxMs: number,
    private readonly send: (items: T[], size: number) => Promise<void>,
  ) {}

  add(item: T, size = 1): Promise<void> {
    const batch = this.current ?? this.open();
    batch.items.push(item);
    batch.size += size;
    if (batch.size >= this.maxSize) this.flush();
    return batch.done;
  }

  /** Sends what is gathered now. */
  flush(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = undefined;
    clearTimeout(batch.timer);
    this.send(batch.items, batch.size).then(batch.resolve, batch.reject);
  }

  private open(): Batch<T> {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch whose send fails stays unacknowledged; the caller decides, no unhandled rejection here.
    done.catch(() => {});
    const batch: Batch<T> = { items: [], size: 0, done, resolve, reject };
    batch.timer = setTimeout(() => {
      if (this.current === batch) this.flush();
    }, this.maxMs);
    this.current = batch;
    return batch;
  }
}
