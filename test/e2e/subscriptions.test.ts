/**
 * Subscriptions over graphql-ws, fed from the outbox: order, no events for rolled-back changes,
 * resume after a disconnect, exact status crossings under 1,000 concurrent reservations, store
 * isolation, auth, expired cursors, slow consumers — and, on PostgreSQL, across two processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProduct, createTestStore, createWarehouse, setStock, stockedSku, uniq } from '../helpers/factories';
import { createTestDatabase, usingPostgres } from '../helpers/db';
import { isConnectionError, makeClient, ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { freePort } from '../helpers/observability';
import { printedDevKey, runCli, spawnGateway, type Spawned } from '../helpers/process';
import { oneMoreSubscriber, startTestServer, type TestServer } from '../helpers/server';
import { subscribe } from '../helpers/ws';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(180_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 200 }) });
});
afterAll(async () => {
  await t?.stop();
});

const CHANGED = `subscription($f: InventoryEventFilter, $after: String) { inventoryChanged(filter: $f, after: $after) {
  cursor reason actor expiredQuantity before { onHand reserved available status } after { onHand reserved available status }
  inventoryLevel { id } variant { sku } warehouse { code } } }`;
const STATUS = `subscription($f: StockStatusEventFilter, $after: String) { stockStatusChanged(filter: $f, after: $after) {
  cursor previousStatus status backInStock available variant { sku } } }`;
const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`;

test('changes arrive in order with before/after; rolled-back and refused changes send nothing', async () => {
  const s = await stockedSku(t.gql, 10);
  const sub = await subscribe(t.url, t.store.adminKey, CHANGED, { f: { skus: [s.sku] }, after: '0' });
  await sub.waitFor(1); // the initial RECEIVED
  // Refused (insufficient) and rolled back (bulk REJECT_EVERYTHING with one bad row): no events.
  expect(
    (await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: -50, reason: 'DAMAGED' } }))).inventoryAdjust
      .userErrors[0].code,
  ).toBe('INSUFFICIENT_STOCK');
  const bulk = await ok(
    t.gql(`mutation($i: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $i) { updatedCount } }`, {
      i: {
        errorPolicy: 'REJECT_EVERYTHING',
        items: [
          { mode: 'ADJUST', sku: s.sku, warehouseCode: s.warehouseCode, delta: 5 },
          { mode: 'SET', sku: 'nope', warehouseCode: s.warehouseCode, quantity: 1 },
        ],
      },
    }),
  );
  expect(bulk.inventoryBulkUpdate.updatedCount).toBe(0);
  await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: -3, reason: 'SALE' } }));
  // A sentinel: events arrive in commit order, so anything sent for the refused or rolled-back
  // changes would have come before it.
  await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RETURN' } }));
  const events = await sub.waitFor(3);
  expect(sub.events).toHaveLength(3);
  expect(events[2]).toMatchObject({ reason: 'RETURN', after: { onHand: 8 } });
  expect(events[0]).toMatchObject({
    reason: 'RECEIVED',
    after: { onHand: 10 },
    variant: { sku: s.sku },
    warehouse: { code: s.warehouseCode },
  });
  expect(events[1]).toMatchObject({
    reason: 'SALE',
    actor: expect.stringMatching(/^key:/),
    before: { onHand: 10, available: 10 },
    after: { onHand: 7, available: 7, status: 'IN_STOCK' },
  });
  expect(Number(events[1].cursor)).toBeGreaterThan(Number(events[0].cursor));
  await sub.close();
});

test('a reconnect with "after" receives exactly the missed events, then live ones', async () => {
  const s = await stockedSku(t.gql, 100);
  const first = await subscribe(t.url, t.store.adminKey, CHANGED, { f: { skus: [s.sku] }, after: '0' });
  const [initial] = await first.waitFor(1);
  await first.close();
  for (const d of [-1, -2, -3]) await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: d, reason: 'SALE' } }));
  const again = await subscribe(t.url, t.store.adminKey, CHANGED, { f: { skus: [s.sku] }, after: initial.cursor });
  const missed = await again.waitFor(3);
  expect(missed.map((e) => e.after.onHand)).toEqual([99, 97, 94]);
  await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 6, reason: 'RETURN' } }));
  const all = await again.waitFor(4);
  expect(all[3]).toMatchObject({ reason: 'RETURN', after: { onHand: 100 } });
  const cursors = all.map((e) => Number(e.cursor));
  expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
  expect(new Set(cursors).size).toBe(4);
  // A sentinel: a duplicate of a missed event would have come before it.
  await ok(t.gql(ADJUST, { i: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RETURN' } }));
  const [, , , , sentinel] = await again.waitFor(5);
  expect(sentinel).toMatchObject({ reason: 'RETURN', after: { onHand: 101 } });
  expect(again.events).toHaveLength(5);
  await again.close();
});

test('1,000 concurrent reservations crossing thresholds give exactly the expected status events, in order', async () => {
  const wh = await createWarehouse(t.gql);
  const p = await createProduct(t.gql);
  const sku = p.skus[0];
  await setStock(t.gql, sku, wh.code, 1000);
  await ok(
    t.gql(`mutation($i: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $i) { userErrors { code } } }`, {
      i: { sku, warehouseCode: wh.code, lowStockThreshold: 500, criticalThreshold: 100 },
    }),
  );
  const sub = await subscribe(t.url, t.store.adminKey, STATUS, { f: { skus: [sku] }, after: '0' });
  const RES = `mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { userErrors { code } } }`;
  // Like a real client, retry what the server marks retryable (pool saturation under 1,000 at once),
  // and a request whose connection was reset (ECONNRESET on a loaded machine), with the same
  // idempotency key: a retried reservation that had been made is answered from its key, never made
  // twice (the ledger and the exact status events below prove it).
  const reserve = async (_: unknown, n: number): Promise<boolean> => {
    for (;;) {
      const r = await t.gql(RES, { i: { lines: [{ sku, quantity: 1 }], idempotencyKey: `sub-1000-${sku}-${n}` } }).catch((e: unknown) => {
        if (isConnectionError(e)) return null;
        throw e;
      });
      if (!r) continue;
      const err = r.body.errors?.[0]?.extensions;
      if (err?.retryable) {
        await new Promise((res) => setTimeout(res, Number(err.retryAfterMs ?? 100)));
        continue;
      }
      return r.body.data?.inventoryReserve.userErrors.length === 0;
    }
  };
  const results = await Promise.all(Array.from({ length: 1000 }, reserve));
  expect(results.filter(Boolean)).toHaveLength(1000);
  await sub.waitFor(4, 60_000);
  // Releasing one unit is back in stock (CRITICAL, since 1 ≤ 100), flagged as such. It is also the
  // sentinel: any extra crossing of the 1,000 reservations would have come before it.
  const vid = (await ok(t.gql(`query($s: String) { variant(sku: $s) { id } }`, { s: sku }))).variant.id;
  const rid = (
    await ok(
      t.gql(`query($v: [ID!]) { reservations(first: 1, filter: { statuses: [ACTIVE], variantIds: $v }) { nodes { id } } }`, { v: [vid] }),
    )
  ).reservations.nodes[0].id;
  await ok(t.gql(`mutation($id: ID!) { reservationRelease(input: { reservationId: $id }) { userErrors { code } } }`, { id: rid }));
  const events = await sub.waitFor(5, 60_000);
  expect(sub.events.map((e) => [e.previousStatus, e.status, e.available])).toEqual([
    ['OUT_OF_STOCK', 'IN_STOCK', 1000], // the level was created empty, then stocked
    ['IN_STOCK', 'LOW_STOCK', 500],
    ['LOW_STOCK', 'CRITICAL', 100],
    ['CRITICAL', 'OUT_OF_STOCK', 0],
    ['OUT_OF_STOCK', 'CRITICAL', 1],
  ]);
  expect(events.map((e) => Number(e.cursor))).toEqual(events.map((e) => Number(e.cursor)).sort((a, b) => a - b));
  expect(events[4]).toMatchObject({ previousStatus: 'OUT_OF_STOCK', status: 'CRITICAL', backInStock: true, available: 1 });
  await sub.close();
});

test('expiring reservations cause their status crossing too', async () => {
  const s = await stockedSku(t.gql, 2);
  const sub = await subscribe(t.url, t.store.adminKey, STATUS, { f: { skus: [s.sku] }, after: '0' });
  await ok(
    t.gql(`mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { userErrors { code } } }`, {
      i: { lines: [{ sku: s.sku, quantity: 2 }], ttlSeconds: 1 },
    }),
  );
  const events = await sub.waitFor(3, 30_000);
  expect(events.map((e) => [e.previousStatus, e.status, e.backInStock])).toEqual([
    ['OUT_OF_STOCK', 'IN_STOCK', true], // stocked
    ['IN_STOCK', 'OUT_OF_STOCK', false],
    ['OUT_OF_STOCK', 'IN_STOCK', true],
  ]);
  await sub.close();
});

test('subscribers see only their own store; keys are checked in connection_init', async () => {
  const other = await createTestStore(t.gateway.app);
  const theirs = makeClient(t.url, other.adminKey);
  const mine = await stockedSku(t.gql, 5);
  const spy = await subscribe(t.url, other.adminKey, CHANGED, { after: '0' });
  await ok(t.gql(ADJUST, { i: { sku: mine.sku, warehouseCode: mine.warehouseCode, delta: 1, reason: 'RETURN' } }));
  const own = await stockedSku(theirs, 3); // their own change: the sentinel
  // Events arrive in commit order: mine (committed first) would have come before their sentinel.
  const [first] = await spy.waitFor(1);
  expect(first.variant.sku).toBe(own.sku);
  expect(spy.events.every((e) => e.variant.sku === own.sku)).toBe(true);
  await spy.close();

  // No key at all: refused at connection_init with 4401 (an invalid key: 4403, test/e2e/transports.test.ts).
  const anon = await subscribe(t.url, null, CHANGED, {});
  expect(anon.closeCode()).toBe(4401);
  expect(anon.events).toEqual([]);
  await anon.close().catch(() => undefined);
  const pk = await subscribe(t.url, await t.store.publishableKey(), CHANGED, {});
  await eventually('the refusal of the publishable key', () => pk.errors.length > 0);
  expect(JSON.stringify(pk.errors)).toMatch(/inventory:read/);
  expect(pk.events).toEqual([]);
  await pk.close();
});

test('a cursor older than the retention window is refused with CURSOR_EXPIRED', async () => {
  await t.gateway.app.db.pool.query(
    `INSERT INTO event_streams (store_id, head, purged_through) VALUES ($1, 5, 5)
     ON CONFLICT (store_id) DO UPDATE SET purged_through = greatest(event_streams.purged_through, 5), head = greatest(event_streams.head, 5)`,
    [t.store.storeId],
  );
  const sub = await subscribe(t.url, t.store.adminKey, CHANGED, { after: '1' });
  await eventually('CURSOR_EXPIRED', () => sub.errors.length > 0);
  expect(JSON.stringify(sub.errors)).toMatch(/CURSOR_EXPIRED|no longer retained/);
  const bad = await subscribe(t.url, t.store.adminKey, CHANGED, { after: 'yesterday' });
  await eventually('the refusal of the cursor', () => bad.errors.length > 0);
  expect(JSON.stringify(bad.errors)).toContain('must be a cursor received from this subscription');
  await sub.close();
  await bad.close();
});

test('a slow subscriber is cut off with close code 4290 while a healthy one gets everything', async () => {
  const small = await startTestServer({
    INVENTORY_TUNING: tuningEnv({ SUBSCRIPTION_STALL_MS: 2000, EVENTS_POLL_MS: 100, MAX_QUERY_ALIASES: 100 }),
  });
  try {
    const wh = await createWarehouse(small.gql);
    const skus: string[] = [];
    for (let i = 0; i < 5; i++)
      skus.push(...(await createProduct(small.gql, { skus: Array.from({ length: 100 }, () => uniq('SLOW')) })).skus);
    const BULK = `mutation($i: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $i) { updatedCount } }`;
    // A large payload per event without extra SQL: aliases of the event's own fields (~2 KB).
    const BIG = `subscription { inventoryChanged { cursor ${Array.from({ length: 25 }, (_, i) => `b${i}: before { onHand reserved safetyStock incoming available status } a${i}: after { onHand reserved available status }`).join(' ')} } }`;
    const healthy = await subscribe(
      small.url,
      small.store.adminKey,
      `subscription { inventoryChanged { cursor after { onHand } } }`,
      {},
      { registered: oneMoreSubscriber(small) },
    );
    const slow = await subscribe(small.url, small.store.adminKey, BIG, {}, { registered: oneMoreSubscriber(small) });
    slow.pauseReading(); // the client stops reading: its socket backs up, and 2 s later (SUBSCRIPTION_STALL_MS) it is cut off
    // The paused client cannot see its close yet: watch the server's side (subscribers on the hub).
    const hub = small.gateway.app.events!;
    expect(hub.fanout.subscriberCount).toBe(2);
    const t0 = Date.now();
    let rounds = 0;
    while (hub.fanout.subscriberCount > 1 && rounds < 40) {
      await ok(small.gql(BULK, { i: { items: skus.map((sku) => ({ mode: 'SET', sku, warehouseCode: wh.code, quantity: rounds + 1 })) } }));
      rounds++;
      // Paced by delivery, not by a timer: the next round goes out once the healthy subscriber has
      // the one before (one round in the database while the last is fanned out). So the slow client
      // resumes soon after its cut-off, with at most a round still to fan out, well within the
      // server's close handshake (30 s) and keep-alive (30 s + 30 s) limits, whose expiry would end
      // the socket without its close frame (1006) on a loaded machine.
      await healthy.waitFor((rounds - 1) * 500, 60_000);
    }
    const pausedMs = Date.now() - t0;
    slow.resumeReading();
    await eventually('the slow client to read its close frame', () => slow.closeCode() !== null, 30_000);
    expect({ closeCode: slow.closeCode(), rounds, pausedMs }).toMatchObject({ closeCode: 4290 }); // (rounds and time for context)
    const got = await healthy.waitFor(rounds * 500, 60_000);
    expect(got.at(-1).after.onHand).toBe(rounds);
    expect(healthy.closeCode()).toBeNull();
    await healthy.close();
    await slow.close().catch(() => undefined);
  } finally {
    await small.stop();
  }
});

(usingPostgres ? test : test.skip)('a mutation on gateway A reaches a subscriber on gateway B (two processes, one database)', async () => {
  const db = await createTestDatabase({ migrated: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-two-'));
  const procs: Spawned[] = [];
  try {
    // A poll once a minute: an event that arrives well before it came by LISTEN/NOTIFY.
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      SEED_DEMO: 'always',
      LOG_LEVEL: 'info',
      INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 60_000 }),
    };
    procs.push(spawnGateway(env));
    const urlA = await procs[0].ready();
    const metricsB = await freePort();
    procs.push(spawnGateway({ ...env, SEED_DEMO: 'never', METRICS_PORT: String(metricsB) }));
    const urlB = await procs[1].ready();
    const key = printedDevKey(procs[0]);
    // A live subscription (no "after"): registered on B (its inventory_subscribers gauge) before the change.
    const subscribersOnB = async () =>
      /^inventory_subscribers 1$/m.test(await (await fetch(`http://127.0.0.1:${metricsB}/metrics`)).text());
    const sub = await subscribe(urlB, key, CHANGED, { f: { skus: ['SKU-001'] } }, { registered: subscribersOnB });
    const started = Date.now();
    await ok(makeClient(urlA, key)(ADJUST, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', delta: -4, reason: 'SALE' } }));
    // (Events committed before the subscription but sequenced after it, like the demo seed, may come first.)
    let e: any;
    await eventually('the SALE on gateway B', () => (e = sub.events.find((x) => x.reason === 'SALE')) !== undefined, 30_000);
    // LISTEN/NOTIFY, not the 60 s poll, carried it across (with room for a loaded machine).
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(e).toMatchObject({ reason: 'SALE', before: { onHand: 350 }, after: { onHand: 346 }, warehouse: { code: 'BER-1' } });
    await sub.close();
  } finally {
    for (const p of procs) p.killGroup('SIGKILL');
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

(usingPostgres ? test : test.skip)(
  'a stock change by a command-line process reaches a gateway subscriber (woken by its NOTIFY, not the poll)',
  async () => {
    // Stock changes do not NOTIFY inside their transactions (src/modules/stock/statements.ts): a
    // process without an event hub wakes the gateways after its commits (src/events/wake.ts).
    const db = await createTestDatabase({ migrated: true });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
    let gw: Spawned | undefined;
    try {
      const metrics = await freePort();
      gw = spawnGateway({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        DATA_DIR: path.join(dataDir, 'gateway'),
        SEED_DEMO: 'always',
        LOG_LEVEL: 'info',
        METRICS_PORT: String(metrics),
        // A poll once a minute, and no periodic job whose commits would wake the hub (each commit of
        // the gateway does): an event that arrives well before a minute came by the wake-up.
        INVENTORY_TUNING: tuningEnv({
          EVENTS_POLL_MS: 60_000,
          SWEEP_INTERVAL_MS: 3_600_000,
          LEDGER_ROLLUP_INTERVAL_MS: 3_600_000,
          WEBHOOK_POLL_MS: 60_000,
        }),
      });
      const url = await gw.ready();
      const key = printedDevKey(gw);
      const registered = async () => /^inventory_subscribers 1$/m.test(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text());
      const sub = await subscribe(url, key, CHANGED, { f: { skus: ['SKU-001'] } }, { registered });
      const file = path.join(dataDir, 'stock.csv');
      fs.writeFileSync(file, 'sku,warehouse,quantity\nSKU-001,BER-1,123\n');
      const started = Date.now();
      // Its own DATA_DIR: the command runs in its own process, on its own connection to the database.
      const r = await runCli('import.js', [file, '--store', 'demo'], { dataDir: path.join(dataDir, 'cli'), url: db.url });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      let e: any;
      await eventually(
        'the import event on the gateway',
        () => (e = sub.events.find((x) => x.after?.onHand === 123)) !== undefined,
        30_000,
      );
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(e).toMatchObject({ variant: { sku: 'SKU-001' }, warehouse: { code: 'BER-1' }, after: { onHand: 123 } });
      await sub.close();
    } finally {
      gw?.killGroup('SIGKILL');
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
