/**
 * The group-commit batcher (src/db/batcher.ts): an item runs at once while a slot is free; items
 * arriving while every slot is busy go together in the next batch (at most maxBatch), in arrival
 * order; each caller gets its own answer; a failed batch rejects only its own items.
 */
import { Batcher } from '../../src/db/batcher';

/** A controllable exec: records every batch it is given and answers when the test says so. */
function controlled<I>() {
  const calls: { items: I[]; answer: (out: unknown[]) => void; fail: (e: unknown) => void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const exec = (items: I[]) =>
    new Promise<unknown[]>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const done = () => running--;
      calls.push({
        items,
        answer: (out) => (done(), resolve(out)),
        fail: (e) => (done(), reject(e)),
      });
    });
  return { calls, exec, maxRunning: () => maxRunning };
}

/** Lets queued promise callbacks run (the batcher's drain loop continues on a microtask). */
const flush = () => new Promise((r) => setImmediate(r));

test('under no load every item runs alone, at once', async () => {
  const seen: number[][] = [];
  const b = new Batcher<number, string>(async (items) => (seen.push(items), items.map((i) => `#${i}`)), { maxInFlight: 1, maxBatch: 10 });
  expect(await b.add(1)).toBe('#1');
  expect(await b.add(2)).toBe('#2');
  expect(seen).toEqual([[1], [2]]);
});

test('items arriving while the slot is busy go together, in arrival order, each with its own answer', async () => {
  const c = controlled<string>();
  const b = new Batcher<string, unknown>(c.exec, { maxInFlight: 1, maxBatch: 100 });
  const first = b.add('a');
  const rest = ['b', 'c', 'd'].map((x) => b.add(x));
  await flush();
  expect(c.calls.map((x) => x.items)).toEqual([['a']]); // the others wait for the slot
  c.calls[0].answer(['A']);
  await flush();
  expect(c.calls.map((x) => x.items)).toEqual([['a'], ['b', 'c', 'd']]);
  c.calls[1].answer(['B', 'C', 'D']);
  expect(await first).toBe('A');
  expect(await Promise.all(rest)).toEqual(['B', 'C', 'D']);
  expect(c.maxRunning()).toBe(1);
});

test('a batch holds at most maxBatch items; the rest follow in the next batch', async () => {
  const c = controlled<number>();
  const b = new Batcher<number, unknown>(c.exec, { maxInFlight: 1, maxBatch: 3 });
  const all = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => b.add(i));
  await flush();
  c.calls[0].answer([0]);
  await flush();
  expect(c.calls[1].items).toEqual([1, 2, 3]);
  c.calls[1].answer([1, 2, 3]);
  await flush();
  expect(c.calls[2].items).toEqual([4, 5, 6]);
  c.calls[2].answer([4, 5, 6]);
  await flush();
  expect(c.calls[3].items).toEqual([7]);
  c.calls[3].answer([7]);
  expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(c.calls).toHaveLength(4);
});

test('never more than maxInFlight batches at once; a free slot starts with everything queued', async () => {
  const c = controlled<number>();
  const b = new Batcher<number, unknown>(c.exec, { maxInFlight: 2, maxBatch: 100 });
  const p = [1, 2, 3, 4, 5].map((i) => b.add(i));
  await flush();
  // Two slots: 1 and 2 start alone (each found a free slot), 3, 4, 5 wait.
  expect(c.calls.map((x) => x.items)).toEqual([[1], [2]]);
  c.calls[1].answer([20]);
  await flush();
  expect(c.calls.map((x) => x.items)).toEqual([[1], [2], [3, 4, 5]]);
  expect(c.maxRunning()).toBe(2);
  c.calls[2].answer([30, 40, 50]);
  c.calls[0].answer([10]);
  expect(await Promise.all(p)).toEqual([10, 20, 30, 40, 50]);
});

test('a failed batch rejects its own items only; the batcher goes on with the next', async () => {
  const c = controlled<string>();
  const b = new Batcher<string, unknown>(c.exec, { maxInFlight: 1, maxBatch: 10 });
  const a = b.add('a');
  const bc = [b.add('b'), b.add('c')];
  await flush();
  const boom = new Error('deadlock detected');
  c.calls[0].fail(boom);
  await expect(a).rejects.toBe(boom);
  await flush();
  expect(c.calls[1].items).toEqual(['b', 'c']);
  c.calls[1].answer(['B', 'C']);
  expect(await Promise.all(bc)).toEqual(['B', 'C']);
  // And a later item runs again at once.
  const d = b.add('d');
  await flush();
  expect(c.calls[2].items).toEqual(['d']);
  c.calls[2].answer(['D']);
  expect(await d).toBe('D');
});

test('an answer of the wrong length rejects the whole batch rather than mismatching answers', async () => {
  const b = new Batcher<number, number>(async (items) => items.slice(1), { maxInFlight: 1, maxBatch: 10 });
  await expect(b.add(1)).rejects.toThrow('batch answered 0 of 1 items');
  const c = controlled<number>();
  const b2 = new Batcher<number, unknown>(c.exec, { maxInFlight: 1, maxBatch: 10 });
  const first = b2.add(0);
  const two = [b2.add(1), b2.add(2)];
  await flush();
  c.calls[0].answer([0]);
  await flush();
  c.calls[1].answer([1, 2, 3]);
  await expect(first).resolves.toBe(0);
  for (const p of two) await expect(p).rejects.toThrow('batch answered 3 of 2 items');
});

test('an exec that throws synchronously is a failed batch too', async () => {
  const b = new Batcher<number, number>(
    (() => {
      throw new Error('bad statement');
    }) as unknown as (items: number[]) => Promise<number[]>,
    { maxInFlight: 1, maxBatch: 10 },
  );
  await expect(b.add(1)).rejects.toThrow('bad statement');
  // The slot was given back: another item is attempted (and fails the same way) instead of hanging.
  await expect(b.add(2)).rejects.toThrow('bad statement');
});
