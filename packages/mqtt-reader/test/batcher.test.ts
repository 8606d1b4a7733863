import { describe, expect, it } from 'vitest';
import { Batcher } from '../src/index.js';

const group = (topic: string, n: number) => ({
  topic,
  unit: 'CEL',
  receivedAt: 1,
  samples: Array.from({ length: n }, (_, i) => [i, i * 1.5, 0] as [number, number, number]),
});

describe('Batcher', () => {
  it('sends a batch once it holds enough samples, and resolves its messages when the send is confirmed', async () => {
    const sent: Array<{ topics: string[]; samples: number }> = [];
    const batcher = new Batcher<ReturnType<typeof group>>(10, 60_000, async (items, samples) => {
      sent.push({ topics: items.map((g) => g.topic), samples });
    });
    const first = batcher.add(group('a', 4), 4);
    const second = batcher.add(group('b', 6), 6);
    await Promise.all([first, second]);
    expect(sent).toEqual([{ topics: ['a', 'b'], samples: 10 }]);
  });

  it('sends a partial batch after the time limit', async () => {
    const sent: number[] = [];
    const batcher = new Batcher<ReturnType<typeof group>>(1_000, 20, async (_items, samples) => {
      sent.push(samples);
    });
    await batcher.add(group('a', 3), 3);
    expect(sent).toEqual([3]);
  });

  it('leaves the messages of a failed send unresolved-with-error, for the reader not to acknowledge', async () => {
    const batcher = new Batcher<ReturnType<typeof group>>(1, 60_000, async () => {
      throw new Error('broker away');
    });
    await expect(batcher.add(group('a', 1), 1)).rejects.toThrow('broker away');
  });
});
