import type { ConsumeMessage, QuarantineEntry } from '@plantmesh/core';
import type pg from 'pg';

/** How one stream's messages become rows; the batch consumer does the rest (batching, retries, acks). */
export interface StreamWriter<T> {
  readonly stream: string;
  readonly queue: string;
  /** The tables it writes, which must exist before it consumes. */
  readonly tables: string[];
  /** Turns a delivery into what `write` takes; throws, with the reason, when it can never be written. */
  decode(message: ConsumeMessage): T;
  /** Rows the item becomes (for batch sizing and metrics). */
  rows(item: T): number;
  /** When the MQTT reader received each part of the item, epoch ms (for the lag metric). */
  receivedAt(item: T): number[];
  /** Writes inside the caller's transaction (several may run at once, on separate connections). */
  write(client: pg.ClientBase, items: T[]): Promise<WriteResult>;
  /**
   * Two halves of an item the database refused, so that the refused part can be found and the rest
   * stored; undefined for an item that is one payload of the plant's (the smallest quarantined part).
   */
  split(item: T): [T, T] | undefined;
  /** The quarantine rows of an item that cannot be split and that the database refuses. */
  refusals(item: T, message: ConsumeMessage, reason: string): QuarantineEntry[];
}

export interface WriteResult {
  /** Rows actually inserted (a second copy of an event is not). */
  rows: number;
  /** Runs once the transaction has committed, e.g. to cache what it created. */
  onCommit?: () => void;
}

/** The two halves of a list (of at least two). */
export function halves<T>(list: T[]): [T[], T[]] {
  const middle = Math.ceil(list.length / 2);
  return [list.slice(0, middle), list.slice(middle)];
}
