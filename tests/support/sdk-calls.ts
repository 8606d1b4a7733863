import { PlantmeshError } from '@plantmesh/sdk';
import { expect } from 'vitest';

/** Everything an async iterable gives, in order. */
export async function all<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const list: T[] = [];
  for await (const row of rows) list.push(row);
  return list;
}

/** The PlantmeshError a call fails with (and a failed test when it does not fail). */
export async function failure(call: () => Promise<unknown>): Promise<PlantmeshError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(PlantmeshError);
    return error as PlantmeshError;
  }
  throw new Error('the call did not fail');
}
