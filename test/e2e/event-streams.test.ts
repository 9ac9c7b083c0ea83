/**
 * Per-store event streams: each store's events are numbered 1, 2, 3 … in its own stream, gap-free,
 * whatever the other stores do; a store's numbering never waits for another store's; subscribers
 * get exactly their store's events, in order; and retention keeps the log at its size by dropping
 * whole partitions, at 5,000 events a second (PostgreSQL).
 */
import pg from 'pg';
import { createTestStore, stockedSku } from '../helpers/factories';
import { usingPostgres } from '../helpers/db';
import { makeClient, ok } from '../helpers/gql';
import { drains, eventually } from '../helpers/poll';
import { rng } from '../helpers/rng';
import { oneMoreSubscriber, startTestServer, type TestServer } from '../helpers/server';
import { subscribe } from '../helpers/ws';
import { tuningEnv } from '../../src/config/tuning';
import { SEQUENCER_LOCK } from '../../src/events/outbox';
import { partitionWidth } from '../../src/events/event-log';

jest.setTimeout(180_000);

const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { onHand } userErrors { code } } }`;
const CHANGED = `subscription($after: String) { inventoryChanged(after: $after) { cursor after { onHand } variant { sku } } }`;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 100 }) });
});
afterAll(async () => {
  await t?.stop();
});

const queued = async () => Number((await t.gateway.app.db.pool.query(`SELECT count(*) AS n FROM outbox_events`)).rows[0].n);
const seqsOf = async (storeId: string) =>
  (await t.gateway.app.db.pool.query(`SELECT seq FROM event_log WHERE store_id = $1 ORDER BY seq`, [storeId])).rows.map((r) =>
    Number(r.seq),
  );

const SEED = Number(process.env.TEST_SEED ?? 20261201);

test(`each store numbers its events 1, 2, 3 … with no gaps, whatever the other stores do; subscribers get their own store only (seed ${SEED})`, async () => {
  const random = rng(SEED);
  const stores = [t.store, await createTestStore(t.gateway.app), await createTestStore(t.gateway.app)];
  const clients = stores.map((s) => makeClient(t.url, s.adminKey));
  const skus = await Promise.all(clients.map((gql) => stockedSku(gql, 100)));
  const subs = [];
  for (const s of stores) subs.push(await subscribe(t.url, s.adminKey, CHANGED, {}, { registered: oneMoreSubscriber(t) }));
  const before = await Promise.all(stores.map((s) => seqsOf(s.storeId)));

  // Interleaved, concurrent changes of the three stores, in random amounts.
  const counts = stores.map(() => 5 + Math.floor(random() * 20));
  await Promise.all(
    stores.map(async (_, i) => {
      for (let n = 0; n < counts[i]; n++)
        await ok(clients[i](ADJUST, { input: { sku: skus[i].sku, warehouseCode: skus[i].warehouseCode, delta: 1, reason: 'RECEIVED' } }));
    }),
  );
  await eventually('every event numbered', async () => (await queued()) === 0);
  for (const [i, s] of stores.entries()) {
    const seqs = await seqsOf(s.storeId);
    // Gap-free from 1 in each store's own stream: nothing in it reveals the other stores' traffic.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
    expect(seqs.length).toBe(before[i].length + counts[i]);
    const got = await subs[i].waitFor(counts[i]);
    expect(got.map((e: { variant: { sku: string } }) => e.variant.sku)).toEqual(Array(counts[i]).fill(skus[i].sku));
    expect(got.map((e: { cursor: string }) => Number(e.cursor))).toEqual(seqs.slice(before[i].length));
    expect(got.map((e: { after: { onHand: number } }) => e.after.onHand)).toEqual(Array.from({ length: counts[i] }, (_, k) => 101 + k));
  }
  // Nothing else arrives: each subscriber saw exactly its store's events.
  await ok(clients[0](ADJUST, { input: { sku: skus[0].sku, warehouseCode: skus[0].warehouseCode, delta: 1, reason: 'RECEIVED' } }));
  await subs[0].waitFor(counts[0] + 1);
  expect(subs[1].events).toHaveLength(counts[1]);
  expect(subs[2].events).toHaveLength(counts[2]);
  for (const s of subs) await s.close();
});

// Embedded PGlite has one session: there is no second sequencer to hold a store's lock.
(usingPostgres ? test : test.skip)('a store whose numbering is held up does not hold up another store', async () => {
  const a = t.store;
  const b = await createTestStore(t.gateway.app);
  const gqlB = makeClient(t.url, b.adminKey);
  const skuA = await stockedSku(t.gql, 10);
  const skuB = await stockedSku(gqlB, 10);
  await eventually('setup numbered', async () => (await queued()) === 0);
  const headA = (await seqsOf(a.storeId)).length;
  // Another "instance" holds store A's sequencer lock (on PGlite the one session would own it too).
  const holder = new pg.Client({ connectionString: t.db.url! });
  await holder.connect();
  try {
    await holder.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [SEQUENCER_LOCK, a.storeId]);
    await ok(t.gql(ADJUST, { input: { sku: skuA.sku, warehouseCode: skuA.warehouseCode, delta: 1, reason: 'RECEIVED' } }));
    const subB = await subscribe(t.url, b.adminKey, CHANGED, {}, { registered: oneMoreSubscriber(t) });
    await ok(gqlB(ADJUST, { input: { sku: skuB.sku, warehouseCode: skuB.warehouseCode, delta: 1, reason: 'RECEIVED' } }));
    const [e] = await subB.waitFor(1);
    expect(e.after.onHand).toBe(11);
    // A's event waits in the queue, unnumbered, while B's went through.
    expect((await seqsOf(a.storeId)).length).toBe(headA);
    expect(await queued()).toBe(1);
    await subB.close();
  } finally {
    await holder.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [SEQUENCER_LOCK, a.storeId]);
    await holder.end();
  }
  await eventually('A numbered once the lock is free', async () => (await seqsOf(a.storeId)).length === headA + 1);
});

(usingPostgres ? test : test.skip)(
  'retention keeps the event log at its size at 5,000 events a second for 60 s, by dropping whole partitions',
  async () => {
    const RETENTION_MS = 10_000;
    const RATE = 5000;
    const SECONDS = 60;
    const p = await startTestServer({ INVENTORY_TUNING: tuningEnv({ OUTBOX_RETENTION_MS: RETENTION_MS, EVENTS_POLL_MS: 50 }) });
    const db = new pg.Client({ connectionString: p.db.url! });
    await db.connect();
    try {
      const stats = async () =>
        (
          await db.query(
            `SELECT (SELECT count(*) FROM event_log)::int AS logged, (SELECT count(*) FROM outbox_events)::int AS queued,
            (SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_log'::regclass)::int AS partitions,
            (SELECT purged_through FROM event_streams WHERE store_id = $1)::int AS purged`,
            [p.store.storeId],
          )
        ).rows[0] as { logged: number; queued: number; partitions: number; purged: number | null };
      // Events as the stock writer queues them (~300-byte payloads), RATE a second, in 200 ms ticks.
      const tick = RATE / 5;
      const insert = `INSERT INTO outbox_events (store_id, topic, payload)
        SELECT $1, 'INVENTORY_UPDATED', jsonb_build_object('reason', 'RECEIVED', 'n', g, 'variantId', gen_random_uuid(),
               'warehouseId', gen_random_uuid(), 'before', jsonb_build_object('onHand', g, 'reserved', 0), 'after', jsonb_build_object('onHand', g + 1, 'reserved', 0))
          FROM generate_series(1, $2) g`;
      const start = Date.now();
      let inserted = 0;
      let maxLogged = 0;
      const samples: { at: number; logged: number }[] = [];
      let maxQueued = 0;
      let maxPartitions = 0;
      while (Date.now() - start < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - start) / 1000) * RATE);
        if (inserted < due) {
          const n = Math.min(tick, due - inserted);
          await db.query(insert, [p.store.storeId, n]);
          inserted += n;
          p.gateway.app.events!.poke();
        } else await new Promise((r) => setTimeout(r, 20));
        const s = await stats();
        maxLogged = Math.max(maxLogged, s.logged);
        samples.push({ at: Date.now() - start, logged: s.logged });
        maxQueued = Math.max(maxQueued, s.queued);
        maxPartitions = Math.max(maxPartitions, s.partitions);
        if (process.env.DEBUG_PURGE) process.stdout.write(`${Date.now() - start} ms: ${JSON.stringify(s)} inserted ${inserted}\n`);
      }
      // Idle, the queue drains within seconds; with both cores busy elsewhere (a stressed CI run) the pump
      // fell behind and took over 60 s, once over 180 s: the purge is what is measured here, not the
      // pump's speed. So the wait fails only when the queue stops going down for a minute (a stalled pump).
      const queuedAtEnd = (await stats()).queued;
      const drainMs = await drains('the queue to drain', async () => (await stats()).queued, 60_000);
      const end = await stats();
      const width = partitionWidth(RETENTION_MS);
      // The log holds the retention window plus at most one partition and the upkeep's delay (~14 s of
      // events here). On a loaded machine the pump, which runs the upkeep, lags (a CI run under load saw
      // 20.6 s of events at the peak, with 47,000 queued): the bound allows 6 widths (25 s, 125,000 of the
      // 300,000 events). Held over 6 retention windows, the bound is also the check that the log does
      // not grow: without purging it would hold every event.
      const bound = RATE * ((RETENTION_MS + 6 * width) / 1000);
      // In the steady state (the last 40 s) it holds, on average, about the retention window: at most
      // 3 widths more (17.5 s of events). (A 10 % bound between the means of the two 20 s halves failed
      // under load, 57,929 then 66,940 rows, with the pump lagging 49,000 events behind.)
      const steady = RATE * ((RETENTION_MS + 3 * width) / 1000);
      const mean = (from: number, to: number) => {
        const xs = samples.filter((x) => x.at >= from && x.at < to).map((x) => x.logged);
        return xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
      };
      const [middle, last] = [mean(20_000, 40_000), mean(40_000, 60_000)];
      process.stdout.write(
        `purge: ${inserted} events in ${SECONDS} s; event_log max ${maxLogged} rows (bound ${bound}), mean ${Math.round(middle)} then ${Math.round(last)} (bound ${steady}), queue max ${maxQueued}, ${queuedAtEnd} at the end of the load (drained ${drainMs} ms after), partitions max ${maxPartitions}, purged through ${end.purged}\n`,
      );
      expect(inserted).toBeGreaterThanOrEqual(RATE * SECONDS * 0.95);
      expect(maxLogged).toBeLessThanOrEqual(bound);
      expect(middle).toBeLessThanOrEqual(steady);
      expect(last).toBeLessThanOrEqual(steady);
      expect(end.purged).toBeGreaterThan(inserted - bound);
      // Gap-free: what is left is exactly the numbers after the purge mark — both read in one statement
      // (one snapshot): the upkeep goes on dropping partitions after `end` was read.
      const left = await db.query(
        `SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi,
                (SELECT purged_through FROM event_streams WHERE store_id = $1)::int AS purged
           FROM event_log WHERE store_id = $1`,
        [p.store.storeId],
      );
      // The store is fresh: its stream holds exactly the inserted events, numbered 1 … inserted.
      expect(left.rows[0].hi).toBe(inserted);
      expect(left.rows[0].n).toBe(left.rows[0].hi - left.rows[0].lo + 1);
      expect(left.rows[0].lo).toBe((left.rows[0].purged ?? 0) + 1);
      expect(maxPartitions).toBeLessThanOrEqual(Math.ceil(RETENTION_MS / width) + 6); // as the row bound above: 2 widths of lag on a loaded machine
    } finally {
      await db.end();
      await p.stop();
    }
  },
  // 60 s of load, then the drain: seconds when idle, minutes on a loaded machine (see above).
  600_000,
);
