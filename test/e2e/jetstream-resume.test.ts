/**
 * Resume from JetStream (NATS_URL; docs/SCALING.md "Resume"): a subscriber resuming with `after`
 * gets the events after its cursor from the stream while JetStream holds them, from event_log only
 * for what it does not (older than the stream holds; NATS down), then the live feed: exact, in
 * order, nothing twice. Where the backlog came from is counted by the gateway at the only places
 * a subscriber's backlog is read: the resume's own counts (`replayCounts`: events from the stream,
 * events and statements from event_log) and the metric inventory_subscription_backlog_events_total
 * (by source, event_log including the path without JetStream); the hub's gap reads are counted by
 * its intake. The test's own nats-server on its own port (it is killed). PostgreSQL only.
 */
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../../src/config';
import { tuningEnv } from '../../src/config/tuning';
import { STREAM } from '../../src/events/jetstream';
import { createLogger } from '../../src/log';
import { m as metrics } from '../../src/observability/metrics';
import { startGateway, type Gateway } from '../../src/server';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { createTestStore, stockedSku, type TestStore } from '../helpers/factories';
import { makeClient, ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { subscribe, type Sub } from '../helpers/ws';
import { NATS_SERVER, startNatsServer, type NatsServer } from '../helpers/nats';

jest.setTimeout(180_000);

const runs = usingPostgres && NATS_SERVER !== null;
if (!runs)
  console.warn(
    !usingPostgres
      ? 'jetstream-resume.test.ts skipped: needs PostgreSQL (DATABASE_URL)'
      : 'jetstream-resume.test.ts SKIPPED: no nats-server binary installed',
  );
const maybe = runs ? test : test.skip;

const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`;
const CHANGED = `subscription($after: String) { inventoryChanged(after: $after) { cursor after { onHand } } }`;

let nats: NatsServer;
let db: TestDatabase;
let g: Gateway;
let admin: pg.Pool;

beforeAll(async () => {
  if (!runs) return;
  nats = await startNatsServer();
  db = await createTestDatabase({ migrated: true });
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    SEED_DEMO: 'never',
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    NATS_URL: nats.url,
    INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 200 }),
  });
  g = await startGateway(config, createLogger(config.logLevel));
  admin = new pg.Pool({ connectionString: db.url, max: 2 });
  // An idle connection terminated by the server (the forced drop at the end) is the pool's 'error' event.
  admin.on('error', () => undefined);
});
afterAll(async () => {
  await g?.stop();
  await admin?.end();
  await db?.drop();
  await nats?.stop();
});

interface Store {
  s: TestStore;
  sku: { sku: string; warehouseCode: string };
}

async function makeStore(): Promise<Store> {
  const s = await createTestStore(g.app);
  return { s, sku: await stockedSku(makeClient(g.url, s.adminKey), 1000) };
}

/** `n` committed changes of the store (four at a time). */
async function changes(st: Store, n: number): Promise<void> {
  const gql = makeClient(g.url, st.s.adminKey);
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const r = await ok(gql(ADJUST, { i: { sku: st.sku.sku, warehouseCode: st.sku.warehouseCode, delta: 1, reason: 'RECEIVED' } }));
      expect(r.inventoryAdjust.userErrors).toEqual([]);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

const one = async <T>(sql: string, storeId: string): Promise<T | undefined> => (await admin.query(sql, [storeId])).rows[0] as T | undefined;
/** The store's head once every change is numbered and relayed to JetStream. */
async function relayedHead(storeId: string): Promise<number> {
  let head = -1;
  await eventually(
    'every change numbered and relayed',
    async () => {
      const r = await one<{ queued: string; head: string; relayed: string | null }>(
        `SELECT (SELECT count(*) FROM outbox_events WHERE store_id = $1) AS queued,
                (SELECT head FROM event_streams WHERE store_id = $1) AS head,
                (SELECT relayed_through FROM event_relay WHERE store_id = $1) AS relayed`,
        storeId,
      );
      head = Number(r!.head);
      return Number(r!.queued) === 0 && Number(r!.relayed ?? 0) === head;
    },
    30_000,
  );
  return head;
}

async function consumerCount(): Promise<number> {
  const nc = await connect({ servers: nats.url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(STREAM)).state.consumer_count;
  } finally {
    await nc.close();
  }
}
/** The store's head once nothing of it is queued (numbered, relayed or not). */
async function numbered(storeId: string): Promise<number> {
  const r = await one<{ queued: string; head: string }>(
    `SELECT (SELECT count(*) FROM outbox_events WHERE store_id = $1) AS queued, (SELECT head FROM event_streams WHERE store_id = $1) AS head`,
    storeId,
  );
  return Number(r!.queued) === 0 ? Number(r!.head) : -1;
}
const counts = () => ({ ...g.app.events!.jetstream!.replayCounts });
/** Backlog events read by this process's subscribers, by source (the metric), and event_log reads of the hub's intake. */
async function reads(): Promise<{ jetstream: number; event_log: number; intake: number }> {
  const values = (await metrics.backlogEvents.get()).values;
  const of = (source: string) => values.find((v) => v.labels.source === source)?.value ?? 0;
  return { jetstream: of('jetstream'), event_log: of('event_log'), intake: g.app.events!.jetstream!.intake.counts.log };
}
const delta = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
const cursors = (sub: Sub) => sub.events.map((e: { cursor: string }) => Number(e.cursor));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k + 1);

/** Resumes after `after` and reads the backlog through `head`. */
async function resume(st: Store, after: number, head: number): Promise<Sub> {
  const sub = await subscribe(g.url, st.s.adminKey, CHANGED, { after: String(after) });
  await sub.waitFor(head - after, 60_000);
  expect(cursors(sub)).toEqual(range(after, head));
  return sub;
}

/** Then `live` changes arrive live, and after them exactly the next one (nothing twice across the switch). */
async function goesLive(st: Store, sub: Sub, after: number, head: number, live: number): Promise<void> {
  await changes(st, live);
  await sub.waitFor(head - after + live, 60_000);
  await changes(st, 1);
  await sub.waitFor(head - after + live + 1, 60_000);
  expect(cursors(sub)).toEqual(range(after, head + live + 1));
}

maybe('inside the stream: the backlog (two pages) comes from JetStream, with no read of event_log; then live', async () => {
  const st = await makeStore();
  await changes(st, 700);
  const head = await relayedHead(st.s.storeId);
  const [before, metric] = [counts(), await reads()];
  const after = head - 650;
  const sub = await resume(st, after, head);
  // Every backlog event from the stream, none from event_log: neither the resume nor the hub read it.
  expect(delta(before, counts())).toEqual({ stream: 650, log: 0, logReads: 0 });
  expect(delta(metric, await reads())).toEqual({ jetstream: 650, event_log: 0, intake: 0 });
  // The replay's consumer is deleted once the backlog is read: what remains are the hub's own (one per followed store).
  await eventually('the replay consumer deleted', async () => (await consumerCount()) === g.app.events!.jetstream!.bus.followed().size);
  await goesLive(st, sub, after, head, 5);
  await sub.close();
});

maybe('older than the stream holds: the old part from event_log, the rest from JetStream, then live; exact', async () => {
  const st = await makeStore();
  await changes(st, 60);
  const head = await relayedHead(st.s.storeId);
  // The stream keeps only the store's newest 15 messages (as if its retention had dropped the rest).
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(STREAM, { filter: `inventory.${st.s.storeId}.>`, keep: 15 });
  await nc.close();
  const [before, metric] = [counts(), await reads()];
  const after = head - 50;
  const sub = await resume(st, after, head);
  // One read of event_log for the 35 events the stream no longer holds, the 15 others from it.
  expect(delta(before, counts())).toEqual({ stream: 15, log: 35, logReads: 1 });
  expect(delta(metric, await reads())).toEqual({ jetstream: 15, event_log: 35, intake: 0 });
  await goesLive(st, sub, after, head, 5);
  await sub.close();
});

maybe('NATS down at resume time: the backlog comes from event_log, exact; live again once NATS is back', async () => {
  const st = await makeStore();
  await changes(st, 30);
  const head = await relayedHead(st.s.storeId);
  await nats.kill();
  let sub: Sub | undefined;
  try {
    await eventually('the gateway saw NATS go', () => !g.app.events!.jetstream!.bus.ready, 30_000);
    // Changes go on while NATS is down (numbered in PostgreSQL, delivered from event_log).
    await changes(st, 10);
    await eventually('every change numbered', async () => (await numbered(st.s.storeId)) === head + 10, 30_000);
    const [before, metric] = [counts(), await reads()];
    sub = await subscribe(g.url, st.s.adminKey, CHANGED, { after: String(head - 20) });
    await sub.waitFor(30, 60_000);
    expect(cursors(sub)).toEqual(range(head - 20, head + 10));
    // Not from the stream: the replay was not even tried (event_log, as without NATS_URL).
    expect(counts()).toEqual(before);
    expect(delta(metric, await reads())).toMatchObject({ jetstream: 0, event_log: 30 });
  } finally {
    await nats.restart();
  }
  await eventually('the gateway reconnected', () => g.app.events!.jetstream!.bus.ready, 30_000);
  await changes(st, 5);
  await sub!.waitFor(35, 60_000);
  expect(cursors(sub!)).toEqual(range(head - 20, head + 15));
  await sub.close();
});

maybe('NATS lost in the middle of a replay: the rest of the backlog comes from event_log, exact, without waiting for NATS', async () => {
  const st = await makeStore();
  await changes(st, 600);
  const head = await relayedHead(st.s.storeId);
  const after = head - 580;
  // The resume's reader itself (what a subscriber's EventSource pages through), on the gateway's bus.
  const backlog = g.app.events!.jetstream!.replay(st.s.storeId)!;
  expect(backlog).not.toBeNull();
  const before = counts();
  const got: number[] = [];
  let from = after;
  const first = await backlog.page(from, head);
  for (const e of first.events) got.push((from = e.seq));
  expect(delta(before, counts())).toEqual({ stream: 500, log: 0, logReads: 0 });
  // nats-server dies with the stream's cursor open: the next page must not wait for it to return.
  await nats.kill();
  try {
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      const p = await backlog.page(from, head);
      for (const e of p.events) got.push((from = e.seq));
      if (p.end) break;
    }
    backlog.close();
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(got).toEqual(range(after, head));
    expect(delta(before, counts())).toMatchObject({ stream: 500, log: 80 });
  } finally {
    await nats.restart();
  }
  await eventually('the gateway reconnected', () => g.app.events!.jetstream!.bus.ready, 30_000);
});
