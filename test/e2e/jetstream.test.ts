/**
 * Fan-out through NATS JetStream (NATS_URL): several gateway processes on one PostgreSQL and one
 * JetStream (the test's own nats-server, on its own port). Subscribers on every gateway get exactly
 * their store's events, once, in order; through a killed gateway (its subscribers resume elsewhere
 * with `after`), a killed and restarted nats-server, and a relay killed mid-batch; webhooks are
 * unaffected. PostgreSQL only (several processes on one database).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../../src/config';
import { tuningEnv } from '../../src/config/tuning';
import { JetStreamBus, STREAM } from '../../src/events/jetstream';
import { eventsAfter } from '../../src/events/outbox';
import { RELAY_LOCK } from '../../src/events/relay';
import { createLogger } from '../../src/log';
import { startGateway, type Gateway } from '../../src/server';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { createTestStore, stockedSku, type TestStore } from '../helpers/factories';
import { makeClient, ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { spawnGateway, type Spawned } from '../helpers/process';
import { rng } from '../helpers/rng';
import { subscribe, type Sub } from '../helpers/ws';
import { NATS_SERVER, startNatsServer, type NatsServer } from '../helpers/nats';

jest.setTimeout(240_000);

const runs = usingPostgres && NATS_SERVER !== null;
if (!runs)
  console.warn(
    !usingPostgres
      ? 'jetstream.test.ts skipped: needs PostgreSQL (DATABASE_URL)'
      : 'jetstream.test.ts SKIPPED: no nats-server binary installed',
  );
const maybe = runs ? test : test.skip;

const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`;
const CHANGED = `subscription($after: String) { inventoryChanged(after: $after) { cursor after { onHand } variant { sku } } }`;
const SEED = Number(process.env.TEST_SEED ?? 20261219);

let nats: NatsServer;
let db: TestDatabase;
let g0: Gateway;
let admin: pg.Pool;
const procs: Spawned[] = [];
// Made in beforeAll: when every test is skipped (no PostgreSQL or no nats-server), jest runs no hook.
let dataDir: string;

const env = () => ({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: db.url,
  DATA_DIR: dataDir,
  SEED_DEMO: 'never',
  LOG_LEVEL: 'info',
  NATS_URL: nats.url,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 200, WEBHOOK_POLL_MS: 200 }),
});

async function spawnOne(): Promise<{ url: string; proc: Spawned }> {
  const proc = spawnGateway(env());
  procs.push(proc);
  return { url: await proc.ready(), proc };
}

beforeAll(async () => {
  if (!runs) return;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-js-'));
  nats = await startNatsServer();
  db = await createTestDatabase({ migrated: true });
  const config = loadConfig({ ...env(), NODE_ENV: 'test', LOG_LEVEL: 'error', DATABASE_POOL_SIZE: '5' });
  g0 = await startGateway(config, createLogger(config.logLevel));
  admin = new pg.Pool({ connectionString: db.url, max: 2 });
  // An idle connection of this pool terminated by the server (the database's forced drop at the end)
  // is the pool's 'error' event: without a listener it would fail whichever test runs then.
  admin.on('error', () => undefined);
});
afterAll(async () => {
  for (const p of procs) p.killGroup('SIGKILL');
  await g0?.stop();
  await admin?.end();
  await db?.drop();
  await nats?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const headOf = async (storeId: string) =>
  Number((await admin.query(`SELECT head FROM event_streams WHERE store_id = $1`, [storeId])).rows[0]?.head ?? 0);
/** The store's head once every committed change of it is numbered. */
async function settledHead(storeId: string): Promise<number> {
  const queued = async () =>
    Number((await admin.query(`SELECT count(*) AS n FROM outbox_events WHERE store_id = $1`, [storeId])).rows[0].n);
  await eventually('every change numbered', async () => (await queued()) === 0, 30_000);
  return headOf(storeId);
}

/** The store's messages in the JetStream stream (subject inventory.<store>.>), by their seq. */
async function streamSeqs(storeId: string): Promise<number[]> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM, { subjects_filter: `inventory.${storeId}.>` });
    const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    const c = await jetstream(nc).consumers.get(STREAM, { filter_subjects: `inventory.${storeId}.>`, deliver_policy: DeliverPolicy.All });
    const seqs: number[] = [];
    if (total === 0) return seqs;
    for await (const m of await c.fetch({ max_messages: total, expires: 5_000 })) seqs.push((m.json() as { seq: number }).seq);
    return seqs;
  } finally {
    await nc.close();
  }
}

interface Store {
  s: TestStore;
  sku: { sku: string; warehouseCode: string };
}

async function makeStores(n: number): Promise<Store[]> {
  const out: Store[] = [];
  for (let i = 0; i < n; i++) {
    const s = await createTestStore(g0.app);
    out.push({ s, sku: await stockedSku(makeClient(g0.url, s.adminKey), 1000) });
  }
  return out;
}

const adjust = (url: string, st: Store) =>
  ok(makeClient(url, st.s.adminKey)(ADJUST, { i: { sku: st.sku.sku, warehouseCode: st.sku.warehouseCode, delta: 1, reason: 'RECEIVED' } }));

/** Subscribes from the store's current head: nothing replayed, every later event live. */
async function subscribeFromHead(url: string, st: Store): Promise<{ sub: Sub; from: number }> {
  const from = await headOf(st.s.storeId);
  return { sub: await subscribe(url, st.s.adminKey, CHANGED, { after: String(from) }), from };
}

const cursors = (sub: Sub) => sub.events.map((e: { cursor: string }) => Number(e.cursor));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k + 1);

maybe(
  `three gateways on one PostgreSQL and one JetStream: every subscriber gets its store's events once, in order (seed ${SEED})`,
  async () => {
    const random = rng(SEED);
    const gateways = [g0.url, (await spawnOne()).url, (await spawnOne()).url];
    const stores = await makeStores(3);
    const subs: { sub: Sub; from: number; store: number }[] = [];
    for (const url of gateways) for (const [i, st] of stores.entries()) subs.push({ ...(await subscribeFromHead(url, st)), store: i });
    const counts = stores.map(() => 10 + Math.floor(random() * 15));
    // Interleaved changes of the stores, each through a random gateway.
    await Promise.all(
      stores.map(async (st, i) => {
        for (let n = 0; n < counts[i]; n++) await adjust(gateways[Math.floor(random() * gateways.length)], st);
      }),
    );
    const heads = await Promise.all(stores.map((st) => settledHead(st.s.storeId)));
    for (const { sub, from, store } of subs) {
      await sub.waitFor(heads[store] - from, 30_000);
      expect(cursors(sub)).toEqual(range(from, heads[store]));
      expect(new Set(sub.events.map((e: { variant: { sku: string } }) => e.variant.sku))).toEqual(new Set([stores[store].sku.sku]));
    }
    // The events went through JetStream: each seq once on the store's subjects.
    for (const [i, st] of stores.entries()) {
      await eventually('relayed', async () => (await streamSeqs(st.s.storeId)).includes(heads[i]), 30_000);
      const seqs = await streamSeqs(st.s.storeId);
      expect(seqs.filter((q) => q > heads[i] - counts[i])).toEqual(range(heads[i] - counts[i], heads[i]));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
    // On the in-process gateway: the events came from JetStream, not from reading event_log.
    const { stream, log } = g0.app.events!.jetstream!.intake.counts;
    expect({ stream, log, relayedHere: g0.app.events!.jetstream!.relayed }).toMatchObject({ stream: expect.any(Number) });
    expect(stream).toBeGreaterThan(log);
    for (const { sub } of subs) await sub.close();
  },
);

/** A local webhook receiver: every event id it was sent. */
async function receiver(): Promise<{ url: string; ids: number[]; close(): void }> {
  const ids: number[] = [];
  const server = http.createServer((req, res) => {
    ids.push(Number(req.headers['x-inventory-event-id']));
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, ids, close: () => server.close() };
}

maybe(
  'faults: a killed gateway (resume elsewhere with after), nats-server killed and restarted, a relay killed mid-batch; webhooks unaffected',
  async () => {
    const a = await spawnOne();
    const b = await spawnOne();
    const [st] = await makeStores(1);
    const hook = await receiver();
    const created = await ok(
      makeClient(g0.url, st.s.adminKey)(
        `mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { webhookSubscription { id } userErrors { code } } }`,
        { i: { url: hook.url, topics: ['INVENTORY_UPDATED'] } },
      ),
    );
    expect(created.webhookSubscriptionCreate.userErrors).toEqual([]);
    const start = await settledHead(st.s.storeId);
    // One subscriber on A (killed later; it resumes on B), one on B, one on the in-process gateway.
    const onA = await subscribeFromHead(a.url, st);
    const onB = await subscribeFromHead(b.url, st);
    const onG0 = await subscribeFromHead(g0.url, st);
    const writers = [g0.url, b.url];
    let n = 0;
    const burst = async (k: number) => {
      for (let i = 0; i < k; i++, n++) await adjust(writers[n % writers.length], st);
    };

    // 1. Kill gateway A mid-stream; its subscriber resumes on B from the last cursor it received.
    await burst(10);
    await onA.sub.waitFor(3, 30_000);
    a.proc.killGroup('SIGKILL');
    await a.proc.exited;
    const seenOnA = cursors(onA.sub);
    await burst(10);
    const resumed = await subscribe(b.url, st.s.adminKey, CHANGED, { after: String(seenOnA.at(-1)) });

    // 2. Kill nats-server; changes go on (delivered from PostgreSQL meanwhile); restart it.
    await nats.kill();
    await burst(10);
    await nats.restart();
    await burst(10);

    // 3. A relay killed mid-batch: this test holds the store's relay lock (so no gateway relays it),
    //    publishes half of the unrelayed batch to JetStream, and dies (its connection is terminated).
    const relay = new pg.Client({ connectionString: db.url });
    relay.on('error', () => undefined); // terminated below, on purpose
    await relay.connect();
    await relay.query('BEGIN');
    await relay.query(`SELECT pg_advisory_xact_lock(${RELAY_LOCK}, hashtext($1::text))`, [st.s.storeId]);
    const relayedBefore = Number(
      (await relay.query(`SELECT relayed_through FROM event_relay WHERE store_id = $1`, [st.s.storeId])).rows[0]?.relayed_through ?? 0,
    );
    await burst(10);
    const head = await settledHead(st.s.storeId);
    const batch = await eventsAfter(
      { query: async <T>(sql: string, p?: unknown[]) => (await relay.query(sql, p)).rows as T[] },
      st.s.storeId,
      relayedBefore,
      500,
    );
    expect(batch.length).toBeGreaterThanOrEqual(10);
    const bus = new JetStreamBus([nats.url], createLogger('silent'), () => undefined);
    await bus.start();
    await eventually('the bus ready', () => bus.ready);
    await bus.publish(batch.slice(0, Math.ceil(batch.length / 2)));
    await bus.stop();
    await admin.query(`SELECT pg_terminate_backend($1)`, [(relay as unknown as { processID: number }).processID]);
    await relay.end().catch(() => undefined);
    await burst(5);
    const final = await settledHead(st.s.storeId);
    expect(final).toBe(head + 5);

    // Every subscriber: its store's events once, in order, no gap (A's subscriber across A and B).
    await onB.sub.waitFor(final - onB.from, 60_000);
    await onG0.sub.waitFor(final - onG0.from, 60_000);
    expect(cursors(onB.sub)).toEqual(range(start, final));
    expect(cursors(onG0.sub)).toEqual(range(start, final));
    await resumed.waitFor(final - seenOnA.at(-1)!, 60_000);
    expect([...seenOnA, ...cursors(resumed)]).toEqual(range(start, final));
    // JetStream holds each seq of the store once, although half a batch was published twice.
    await eventually('everything relayed', async () => (await streamSeqs(st.s.storeId)).includes(final), 30_000);
    const inStream = await streamSeqs(st.s.storeId);
    expect(new Set(inStream).size).toBe(inStream.length);
    // Webhooks: a delivery for every event, whatever happened to NATS and the gateways.
    await eventually('every webhook delivered', () => range(start, final).every((id) => hook.ids.includes(id)), 60_000);
    hook.close();
    for (const s of [onB.sub, onG0.sub, resumed]) await s.close();
    await onA.sub.close().catch(() => undefined);
  },
);
