/**
 * Resume from JetStream, its pure parts (src/events/stream-replay.ts) over an in-memory model of the
 * stream: several stores' messages interleaved, the oldest dropped by retention, some lost,
 * duplicates. `locateAfter` finds the store's first message past the cursor with about log2(stream)
 * probes; `StreamBacklog` hands out every event after the cursor once, in order, reading from the
 * "event_log" only what the stream does not hold.
 */
import type { OutboxEvent } from '../../src/events/outbox';
import { locateAfter, StreamBacklog, type ReplayCounts, type ReplaySource, type StreamProbe } from '../../src/events/stream-replay';
import { rng, testSeed } from '../helpers/rng';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const ev = (storeId: string, seq: number): OutboxEvent => ({
  seq,
  storeId,
  topic: 'INVENTORY_UPDATED',
  levelId: null,
  payload: { n: seq },
  createdAt: new Date(1_700_000_000_000 + seq),
});

/** A stream: messages at stream sequences from `first` on (deleted ones are absent). */
interface Model {
  msgs: Map<number, OutboxEvent>;
  lastSeq: number;
}

/** Store A's events 1..n and B's interleaved at random, A's first `dropped` gone (retention), `lost` of A's missing. */
function model(random: () => number, n: number, dropped: number, lost: Set<number>, dupes: Set<number>): Model {
  const msgs = new Map<number, OutboxEvent>();
  let sseq = 0;
  let b = 0;
  for (let a = 1; a <= n; a++) {
    while (random() < 0.6) msgs.set(++sseq, ev(B, ++b));
    sseq++;
    if (a > dropped && !lost.has(a)) msgs.set(sseq, ev(A, a));
    if (dupes.has(a)) msgs.set(++sseq, ev(A, a));
  }
  return { msgs, lastSeq: sseq };
}

function probeOf(m: Model, storeId: string, calls: { n: number }): StreamProbe {
  const at = (s: number) => ({ streamSeq: s, seq: m.msgs.get(s)!.seq });
  return {
    async next(from) {
      calls.n++;
      for (let s = Math.max(1, from); s <= m.lastSeq; s++) if (m.msgs.get(s)?.storeId === storeId) return at(s);
      return null;
    },
    async last() {
      calls.n++;
      for (let s = m.lastSeq; s >= 1; s--) if (m.msgs.get(s)?.storeId === storeId) return at(s);
      return null;
    },
  };
}

function sourceOf(m: Model, storeId: string, calls: { n: number }): ReplaySource {
  const probe = probeOf(m, storeId, calls);
  return {
    locate: (after) => locateAfter(probe, after),
    async open(streamSeq) {
      let next = streamSeq;
      return {
        async fetch(max) {
          const events: OutboxEvent[] = [];
          for (; next <= m.lastSeq && events.length < max; next++) {
            const e = m.msgs.get(next);
            if (e?.storeId === storeId) events.push(e);
          }
          let more = false;
          for (let s = next; s <= m.lastSeq && !more; s++) more = m.msgs.get(s)?.storeId === storeId;
          return { events, end: !more };
        },
        close() {},
      };
    },
  };
}

/** Reads a whole backlog as EventSource does: pages until `end`, each event handed out after `from`. */
async function drain(source: ReplaySource, after: number, liveFrom: number, log: (a: number, l: number) => OutboxEvent[]) {
  const counts: ReplayCounts = { stream: 0, log: 0, logReads: 0 };
  const reads: [number, number][] = [];
  const b = new StreamBacklog(
    source,
    async (a, l) => (reads.push([a, l]), log(a, l)),
    counts,
    (e) => {
      throw e;
    },
  );
  const got: number[] = [];
  let from = after;
  for (let i = 0; i < 10_000; i++) {
    const p = await b.page(from, liveFrom);
    for (const e of p.events) got.push((from = e.seq));
    if (p.end) break;
  }
  b.close();
  return { got, counts, reads };
}

const logOf =
  (retainedAfter: number) =>
  (after: number, limit: number): OutboxEvent[] =>
    Array.from({ length: limit }, (_, k) => ev(A, after + k + 1)).filter((e) => e.seq > retainedAfter);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k + 1);

const SEED = testSeed();

test(`locateAfter finds the store's first message past the cursor in about log2(stream) probes (seed ${SEED})`, async () => {
  const random = rng(SEED);
  const m = model(random, 2000, 300, new Set(), new Set());
  for (const after of [0, 299, 300, 301, 1000, 1999, 2000, 2500]) {
    const calls = { n: 0 };
    const got = await locateAfter(probeOf(m, A, calls), after);
    const want = [...m.msgs].find(([, e]) => e.storeId === A && e.seq > after);
    expect({ after, at: got?.streamSeq ?? null }).toEqual({ after, at: want?.[0] ?? null });
    expect(calls.n).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(m.lastSeq)) + 1);
  }
});

test(`inside retention: every event after the cursor from the stream, nothing from the log (seed ${SEED})`, async () => {
  const m = model(rng(SEED), 1500, 100, new Set(), new Set([700]));
  const { got, counts, reads } = await drain(sourceOf(m, A, { n: 0 }), 400, 1500, logOf(0));
  expect(got).toEqual(range(400, 1500));
  expect(reads).toEqual([]);
  expect(counts).toEqual({ stream: 1100, log: 0, logReads: 0 });
});

test(`older than the stream holds: the old part from the log, the rest from the stream; lost messages from the log (seed ${SEED})`, async () => {
  const lost = new Set([900, 901, 1200]);
  const m = model(rng(SEED + 1), 1500, 600, lost, new Set());
  const { got, counts } = await drain(sourceOf(m, A, { n: 0 }), 50, 1500, logOf(0));
  expect(got).toEqual(range(50, 1500));
  expect(counts.log).toBe(600 - 50 + lost.size);
  expect(counts.stream).toBe(1500 - 600 - lost.size);
});

test('the stream ends before the live position (relay behind, NATS trouble): the rest from the log, up to it only', async () => {
  const m = model(rng(SEED + 2), 300, 0, new Set(), new Set());
  const { got, counts, reads } = await drain(sourceOf(m, A, { n: 0 }), 10, 340, logOf(0));
  expect(got).toEqual(range(10, 340));
  expect(counts).toEqual({ stream: 290, log: 40, logReads: 1 });
  expect(reads).toEqual([[300, 40]]);
});

test('a cursor at the live position reads nothing at all; a failing stream falls back to the log', async () => {
  const m = model(rng(SEED + 3), 100, 0, new Set(), new Set());
  const calls = { n: 0 };
  expect(await drain(sourceOf(m, A, calls), 100, 100, logOf(0))).toMatchObject({ got: [], reads: [] });
  expect(calls.n).toBe(0);
  const failing: ReplaySource = {
    locate: async () => {
      throw new Error('NATS not connected');
    },
    open: async () => {
      throw new Error('unreachable');
    },
  };
  const errors: Error[] = [];
  const counts: ReplayCounts = { stream: 0, log: 0, logReads: 0 };
  const b = new StreamBacklog(
    failing,
    async (a, l) => logOf(0)(a, l),
    counts,
    (e) => errors.push(e),
  );
  const p = await b.page(20, 30);
  expect(p.events.map((e) => e.seq)).toEqual(range(20, 30));
  expect(errors.map((e) => e.message)).toEqual(['NATS not connected']);
});
