/**
 * The pure parts of subscription flow control: the render budget, the choice of whom to cut off
 * over the memory cap, the queue, the close reason, and the per-socket / per-key limits.
 */
import { RenderBudget } from '../../src/graphql/render-budget';
import { CLOSE_REASON_MAX, Fifo, pickVictims, slowReason } from '../../src/graphql/subscription-flow';
import { SubscriptionLimits } from '../../src/graphql/subscription-limits';
import { rng, withSeed } from '../helpers/rng';

/** A budget on a fake clock, whose deferred turns run when the test says. */
function fakeBudget(maxInFlight: number, sliceMs: number) {
  let now = 0;
  let turns: (() => void)[] = [];
  const budget = new RenderBudget(
    maxInFlight,
    sliceMs,
    () => now,
    (fn) => void turns.push(fn),
  );
  return {
    budget,
    advance: (ms: number) => (now += ms),
    /** Ends this turn: runs what was deferred to the next one. */
    nextTurn: () => {
      const t = turns;
      turns = [];
      for (const fn of t) fn();
    },
  };
}

describe('RenderBudget', () => {
  test('at most maxInFlight executions at once; a finished one lets the next start, in order', () => {
    const { budget } = fakeBudget(2, 1000);
    const started: number[] = [];
    for (let i = 0; i < 5; i++) budget.submit(() => started.push(i));
    expect(started).toEqual([0, 1]);
    expect(budget.stats).toEqual({ running: 2, waiting: 3 });
    budget.finished();
    expect(started).toEqual([0, 1, 2]);
    budget.finished();
    budget.finished();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(budget.stats).toEqual({ running: 2, waiting: 0 });
  });

  test('past sliceMs of synchronous work in a turn, the rest waits for the next turn', () => {
    const f = fakeBudget(100, 10);
    const started: number[] = [];
    // Each execution takes 4 ms of synchronous work and finishes at once.
    for (let i = 0; i < 8; i++)
      f.budget.submit(() => {
        started.push(i);
        f.advance(4);
        f.budget.finished();
      });
    expect(started).toEqual([0, 1, 2]); // 12 ms ≥ 10 ms: the turn is used up
    f.nextTurn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    f.nextTurn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(f.budget.stats).toEqual({ running: 0, waiting: 0 });
  });

  test('time charged for serializing counts against the turn', () => {
    const f = fakeBudget(100, 10);
    const started: number[] = [];
    f.budget.charge(10);
    f.budget.submit(() => started.push(1));
    expect(started).toEqual([]);
    f.nextTurn();
    expect(started).toEqual([1]);
  });

  test('random workloads: never more than the limit at once, every submission starts exactly once, in order', async () => {
    await withSeed(async (rand) => {
      const max = 1 + Math.floor(rand() * 8);
      const f = fakeBudget(max, 5 + Math.floor(rand() * 20));
      const started: number[] = [];
      const running: number[] = [];
      let peak = 0;
      const N = 500;
      let submitted = 0;
      while (started.length < N) {
        const r = rand();
        if (r < 0.4 && submitted < N) {
          const id = submitted++;
          f.budget.submit(() => {
            started.push(id);
            running.push(id);
            peak = Math.max(peak, running.length);
            f.advance(rand() * 3);
          });
        } else if (r < 0.8 && running.length > 0) {
          running.splice(Math.floor(rand() * running.length), 1);
          f.budget.finished();
        } else f.nextTurn();
      }
      expect(peak).toBeLessThanOrEqual(max);
      expect(started).toEqual(Array.from({ length: N }, (_, i) => i));
    });
  });
});

describe('pickVictims', () => {
  const subs = [
    { id: 'a', bytes: 100, since: 5 },
    { id: 'b', bytes: 900, since: 9 },
    { id: 'c', bytes: 0, since: 0 },
    { id: 'd', bytes: 500, since: 1 },
    { id: 'e', bytes: 500, since: 3 },
  ];
  const pick = (excess: number) =>
    pickVictims(
      subs,
      excess,
      (s) => s.bytes,
      (s) => s.since,
    ).map((s) => s.id);

  test('largest backlog first, as few as free the excess; ties: the one backlogged longest', () => {
    expect(pick(0)).toEqual([]);
    expect(pick(-5)).toEqual([]);
    expect(pick(1)).toEqual(['b']);
    expect(pick(900)).toEqual(['b']);
    expect(pick(901)).toEqual(['b', 'd']);
    expect(pick(1400)).toEqual(['b', 'd']);
    expect(pick(1401)).toEqual(['b', 'd', 'e']);
  });

  test('a subscriber with nothing unsent is never picked, even when all backlogs together do not cover the excess', () => {
    expect(pick(10_000)).toEqual(['b', 'd', 'e', 'a']);
  });

  test('random sets: the victims are the largest backlogs and free at least the excess (or everything there is)', () => {
    const rand = rng(19);
    for (let n = 0; n < 200; n++) {
      const list = Array.from({ length: 1 + Math.floor(rand() * 30) }, (_, i) => ({ i, bytes: Math.floor(rand() * 1000), since: rand() }));
      const excess = Math.floor(rand() * 8000) - 1000;
      const v = pickVictims(
        list,
        excess,
        (s) => s.bytes,
        (s) => s.since,
      );
      const freed = v.reduce((a, s) => a + s.bytes, 0);
      const total = list.reduce((a, s) => a + s.bytes, 0);
      if (excess <= 0) expect(v).toEqual([]);
      else expect(freed >= excess || freed === total).toBe(true);
      const smallestVictim = Math.min(...v.map((s) => s.bytes));
      for (const s of list) if (!v.includes(s) && s.bytes > 0) expect(s.bytes).toBeLessThanOrEqual(smallestVictim);
      // Minimal: without the last victim the excess would not be covered.
      if (v.length > 0) expect(freed - v[v.length - 1].bytes).toBeLessThan(excess);
    }
  });
});

test('Fifo: push, shift and indexed reads in order, across compactions', () => {
  const q = new Fifo<number>();
  const ref: number[] = [];
  const rand = rng(7);
  // Every step's observations against the reference's, compared once (an expect per step took seconds).
  const seen: (number | undefined)[] = [];
  const want: (number | undefined)[] = [];
  for (let i = 0; i < 20_000; i++) {
    if (rand() < 0.55) {
      q.push(i);
      ref.push(i);
    } else {
      seen.push(q.shift());
      want.push(ref.shift());
    }
    seen.push(q.length, ref.length > 0 ? q.at(ref.length - 1) : undefined);
    want.push(ref.length, ref.length > 0 ? ref[ref.length - 1] : undefined);
  }
  expect(seen).toEqual(want);
  expect(q.at(0)).toBe(ref[0]);
  q.clear();
  expect(q.length).toBe(0);
  expect(q.shift()).toBeUndefined();
});

test('the 4290 close reason carries the resume cursor and fits a close frame', () => {
  expect(slowReason('Subscriber too slow: its socket was not read for 15 s', '1234')).toBe(
    'Subscriber too slow: its socket was not read for 15 s; resume with after: "1234"',
  );
  const long = slowReason('x'.repeat(500), '123456789012345678');
  expect(Buffer.byteLength(long)).toBeLessThanOrEqual(CLOSE_REASON_MAX);
  expect(long.endsWith('; resume with after: "123456789012345678"')).toBe(true);
});

test('SubscriptionLimits: per socket and per key, with the reason; slots come back once', () => {
  const limits = new SubscriptionLimits(2, 3);
  const s1 = {};
  const s2 = {};
  const s3 = {};
  const a = limits.take(s1, 'k');
  const b = limits.take(s1, 'k');
  expect(typeof a).toBe('function');
  expect(typeof b).toBe('function');
  expect(limits.take(s1, 'k')).toMatchObject({ scope: 'socket', limit: 2, message: expect.stringMatching(/at most 2 at once/) });
  const c = limits.take(s2, 'k');
  expect(typeof c).toBe('function');
  expect(limits.take(s2, 'k')).toMatchObject({ scope: 'key', limit: 3, message: expect.stringMatching(/at most 3 at once/) });
  expect(typeof limits.take(s3, 'other')).toBe('function'); // another key counts apart
  (a as () => void)();
  (a as () => void)(); // twice: given back once
  expect(limits.count(s1, 'k')).toEqual({ socket: 1, key: 2 });
  expect(typeof limits.take(s2, 'k')).toBe('function');
  expect(limits.take(s1, 'k')).toMatchObject({ scope: 'key' });
});
