/**
 * The per-store intake of JetStream events (src/events/intake.ts) and the relay's pure parts
 * (src/events/relay.ts, the wire format of src/events/jetstream.ts): whatever order, duplicates and
 * gaps the stream brings, each store's events are emitted once, in seq order, gaps read from the log.
 */
import { StoreIntake } from '../../src/events/intake';
import { decodeEvent, encodeEvent, msgIdOf, subjectOf } from '../../src/events/jetstream';
import type { OutboxEvent } from '../../src/events/outbox';
import { advanceSql, positionsAfter } from '../../src/events/relay';
import { rng } from '../helpers/rng';

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

function harness(start: Record<string, number>) {
  const position = new Map(Object.entries(start));
  const emitted: OutboxEvent[] = [];
  const reads: [string, number, number][] = [];
  const intake = new StoreIntake(
    (s) => position.get(s),
    async (s, after, limit) => {
      reads.push([s, after, limit]);
      await new Promise((r) => setTimeout(r, 1));
      return Array.from({ length: limit }, (_, k) => ev(s, after + k + 1));
    },
    (events) => {
      for (const e of events) {
        if (e.seq <= position.get(e.storeId)!) continue;
        expect(e.seq).toBe(position.get(e.storeId)! + 1);
        position.set(e.storeId, e.seq);
        emitted.push(e);
      }
    },
    (e) => {
      throw e;
    },
  );
  return { intake, emitted, reads, position };
}

const settle = async (intake: StoreIntake) => {
  for (let i = 0; i < 1000 && intake.busy; i++) await new Promise((r) => setTimeout(r, 2));
};

test('in-order events pass straight through; duplicates and old ones are dropped; nothing is read', async () => {
  const h = harness({ [A]: 5 });
  for (const s of [4, 5, 6, 6, 7, 5, 8]) h.intake.offer(ev(A, s));
  await settle(h.intake);
  expect(h.emitted.map((e) => e.seq)).toEqual([6, 7, 8]);
  expect(h.reads).toEqual([]);
  expect(h.intake.counts).toEqual({ stream: 3, log: 0 });
});

test('a gap is read from the log before the event that revealed it; stores do not mix', async () => {
  const h = harness({ [A]: 0, [B]: 10 });
  h.intake.offer(ev(A, 4));
  h.intake.offer(ev(B, 11));
  h.intake.offer(ev(A, 5));
  await settle(h.intake);
  expect(h.emitted.filter((e) => e.storeId === A).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(h.emitted.filter((e) => e.storeId === B).map((e) => e.seq)).toEqual([11]);
  expect(h.reads).toEqual([[A, 0, 3]]);
});

test('repair reads up to the head when nothing more arrives; a store not followed is ignored', async () => {
  const h = harness({ [A]: 2 });
  h.intake.repair(A, 6);
  h.intake.repair(B, 6);
  h.intake.offer(ev(B, 1));
  await settle(h.intake);
  expect(h.emitted.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
  expect(h.intake.counts.log).toBe(4);
});

test('random order, duplicates and losses (seeded): every store gets 1..N once, in order', async () => {
  const random = rng(20261219);
  const h = harness({ [A]: 0, [B]: 0 });
  const stream: OutboxEvent[] = [];
  for (const s of [A, B]) for (let q = 1; q <= 200; q++) if (random() > 0.2) stream.push(ev(s, q));
  for (let i = 0; i < 100; i++) stream.push(stream[Math.floor(random() * stream.length)]);
  for (let i = stream.length - 1; i > 0; i--) {
    if (random() < 0.3) {
      const j = Math.max(0, i - Math.floor(random() * 5));
      [stream[i], stream[j]] = [stream[j], stream[i]];
    }
  }
  for (const e of stream) {
    h.intake.offer(e);
    if (random() < 0.1) await new Promise((r) => setTimeout(r, 1));
  }
  h.intake.repair(A, 200);
  h.intake.repair(B, 200);
  await settle(h.intake);
  for (const s of [A, B])
    expect(h.emitted.filter((e) => e.storeId === s).map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, k) => k + 1));
});

test('wire format, subjects and message ids', () => {
  const e = ev(A, 42);
  expect(decodeEvent(encodeEvent(e))).toEqual(e);
  expect(subjectOf(A, 'STOCK_STATUS_CHANGED')).toBe(`inventory.${A}.STOCK_STATUS_CHANGED`);
  expect(msgIdOf(e)).toBe(`${A}:42`);
});

test('relay positions move past the last event relayed, never back, and only for store ids', () => {
  expect(
    positionsAfter(
      new Map([
        [A, 3],
        [B, 7],
      ]),
      [ev(A, 4), ev(A, 5)],
    ),
  ).toEqual(
    new Map([
      [A, 5],
      [B, 7],
    ]),
  );
  expect(advanceSql(new Map([[A, 5]]))).toMatch(/greatest\(r\.relayed_through, excluded\.relayed_through\)/);
  expect(() => advanceSql(new Map([["x'); DROP TABLE t; --", 1]]))).toThrow(/bad relay position/);
});
