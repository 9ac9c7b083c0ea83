/**
 * Subscription flow control (docs/EVENTS.md, "Flow control"): a subscriber is cut off (4290, with
 * the cursor to resume from) only when it does not drain its own socket; the server's rendering
 * lag is never blamed on it; memory for all subscriptions stays bounded; subscriptions per socket
 * and per key are limited. Real gateways, real graphql-ws clients, real database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createProduct, createWarehouse, uniq } from '../helpers/factories';
import { createTestDatabase, usingPostgres } from '../helpers/db';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { freePort } from '../helpers/observability';
import { printedDevKey, spawnGateway, type Spawned } from '../helpers/process';
import { oneMoreSubscriber, startTestServer, type TestServer } from '../helpers/server';
import { subscribe, wsUrl, type Sub } from '../helpers/ws';
import { tuningEnv } from '../../src/config/tuning';
import { ON_CHANGE } from '../../web/board/queries';

jest.setTimeout(300_000);

const LEVEL = `{ id onHand reserved incoming safetyStock available status lowStockThreshold criticalThreshold version updatedAt
    variant { id sku label externalId isDefault createdAt updatedAt options { name value }
      product { id name externalId active createdAt updatedAt } }
    warehouse { id code name address type readOnly active marketplace } }`;
/** A wide query: the event with its level, variant, product and warehouse (about 2 KB per event). */
const WIDE = `subscription Wide($after: String) { inventoryChanged(after: $after) {
  cursor occurredAt reason actor expiredQuantity
  before { onHand reserved safetyStock incoming available status }
  after { onHand reserved safetyStock incoming available status }
  inventoryLevel ${LEVEL}
  variant { id sku label product { id name externalId } }
  warehouse { id code name type active }
} }`;
/** The same, about 3 KB per event (the level twice). */
const WIDE_3K = WIDE.replace('inventoryLevel {', `again: inventoryLevel ${LEVEL} inventoryLevel {`);
const BULK = `mutation($i: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $i) { updatedCount userErrors { code message } } }`;

/** `n` SKUs (products of 100 variants) in a new warehouse. */
async function catalogue(gql: GqlClient, n: number): Promise<{ wh: string; skus: string[] }> {
  const wh = await createWarehouse(gql);
  const skus: string[] = [];
  while (skus.length < n)
    skus.push(...(await createProduct(gql, { skus: Array.from({ length: Math.min(100, n - skus.length) }, () => uniq('FLOW')) })).skus);
  return { wh: wh.code, skus };
}

/** One bulk round: every SKU set to `quantity` (one INVENTORY_UPDATED event each). */
async function round(gql: GqlClient, c: { wh: string; skus: string[] }, quantity: number): Promise<void> {
  const r = await ok(gql(BULK, { i: { items: c.skus.map((sku) => ({ mode: 'SET', sku, warehouseCode: c.wh, quantity })) } }));
  expect(r.inventoryBulkUpdate).toEqual({ updatedCount: c.skus.length, userErrors: [] });
}

const cursors = (s: Sub) => s.events.map((e) => Number(e.cursor));
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);
const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const note = (line: string) => process.stderr.write(`flow-control: ${line}\n`);

async function settled(t: TestServer): Promise<void> {
  const hub = t.gateway.app.events!;
  hub.poke();
  await hub.settle();
}

test('a burst of 10,000 events in ~10 s: the board and a wide query, reading promptly, get every event once, in order; nobody is cut off', async () => {
  // The defaults: what a burst meets in production.
  const t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 100 }) });
  try {
    const c = await catalogue(t.gql, 500);
    await round(t.gql, c, 1000);
    await settled(t);
    const board = await subscribe(t.url, t.store.adminKey, ON_CHANGE, { after: null }, { registered: oneMoreSubscriber(t) });
    const wide = await subscribe(t.url, t.store.adminKey, WIDE, {}, { registered: oneMoreSubscriber(t) });
    const ROUNDS = 20;
    const t0 = Date.now();
    for (let r = 0; r < ROUNDS; r++) {
      await pause(t0 + r * 500 - Date.now()); // paced: 500 events every 500 ms
      await round(t.gql, c, 1001 + r);
    }
    const committedMs = Date.now() - t0;
    const total = ROUNDS * c.skus.length;
    await Promise.all([board.waitFor(total, 240_000), wide.waitFor(total, 240_000)]);
    const receivedMs = Date.now() - t0;
    await settled(t);
    const stats = t.gateway.subscriptions.stats;
    note(
      `burst: ${total} events committed in ${committedMs} ms, all received by both after ${receivedMs} ms; ` +
        `${stats.executions} executions, cut off ${JSON.stringify(t.gateway.subscriptions.cutOffs)}, ` +
        `wide frame ${JSON.stringify(wide.events[0]).length} B`,
    );
    for (const s of [board, wide]) {
      expect(s.closeCode()).toBeNull();
      expect(s.errors).toEqual([]);
      expect(s.events).toHaveLength(total);
      expect(increasing(cursors(s))).toBe(true);
    }
    expect(cursors(board)).toEqual(cursors(wide));
    // Every change, once: each SKU's 20 quantities.
    const expected = c.skus.flatMap((sku) => Array.from({ length: ROUNDS }, (_, r) => `${sku}:${1001 + r}`)).sort();
    expect(board.events.map((e) => `${e.inventoryLevel.variant.sku}:${e.after.onHand}`).sort()).toEqual(expected);
    expect(wide.events.map((e) => `${e.variant.sku}:${e.after.onHand}`).sort()).toEqual(expected);
    expect(wide.events.every((e) => e.inventoryLevel.variant.product.id === e.variant.product.id)).toBe(true);
    expect(t.gateway.subscriptions.cutOffs).toEqual({ stall: 0, memory: 0 });
    await board.close();
    await wide.close();
    await eventually('both to leave', () => t.gateway.subscriptions.stats.subscribers === 0);
    expect(t.gateway.subscriptions.stats.memory).toBe(0);
  } finally {
    await t.stop();
  }
});

test('a subscriber that stops reading is cut off with 4290 and its resume cursor; resuming with "after" loses nothing', async () => {
  const t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 100, SUBSCRIPTION_STALL_MS: 3000 }) });
  try {
    const c = await catalogue(t.gql, 500);
    await settled(t);
    const healthy = await subscribe(t.url, t.store.adminKey, WIDE, {}, { registered: oneMoreSubscriber(t) });
    const paused = await subscribe(t.url, t.store.adminKey, WIDE, {}, { registered: oneMoreSubscriber(t) });
    paused.pauseReading();
    const shared = t.gateway.subscriptions;
    let rounds = 0;
    // Paced by the healthy reader: rounds go on until the server cut the paused one off.
    while (shared.cutOffs.stall === 0 && rounds < 60) {
      await round(t.gql, c, ++rounds);
      await healthy.waitFor((rounds - 1) * c.skus.length, 60_000);
    }
    expect(shared.cutOffs.stall).toBe(1);
    expect(shared.stats.subscribers).toBe(1);
    paused.resumeReading();
    await eventually('the paused client to read its close frame', () => paused.closeCode() !== null, 60_000);
    expect(paused.closeCode()).toBe(4290);
    const m = /resume with after: "(\d+)"/.exec(paused.closeReason() ?? '');
    expect(m).not.toBeNull();
    const cursor = m![1];
    // The close frame came after every frame written before it: the cursor is the last event received.
    expect(paused.events.length).toBeGreaterThan(0);
    expect(paused.events.at(-1).cursor).toBe(cursor);
    const resumed = await subscribe(t.url, t.store.adminKey, WIDE, { after: cursor });
    await round(t.gql, c, ++rounds);
    const total = rounds * c.skus.length;
    await healthy.waitFor(total, 120_000);
    await resumed.waitFor(total - paused.events.length, 120_000);
    note(`paused: cut off after ${paused.events.length} events (${rounds - 1} rounds), resumed after ${cursor}`);
    expect([...cursors(paused), ...cursors(resumed)]).toEqual(cursors(healthy));
    expect(resumed.events.at(-1)).toEqual(healthy.events.at(-1));
    expect(healthy.closeCode()).toBeNull();
    expect(shared.cutOffs).toEqual({ stall: 1, memory: 0 });
    await healthy.close();
    await resumed.close();
    await paused.close().catch(() => undefined);
  } finally {
    await t.stop();
  }
});

test('over SUBSCRIPTION_MEMORY_MB the largest backlog is cut off first (4290, its cursor); the others lose nothing', async () => {
  // A 1 MB cap, and sockets that may hold 4 MB: only the cap can cut anyone off here.
  const t = await startTestServer({
    SUBSCRIPTION_MEMORY_MB: '1',
    INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 100, SUBSCRIPTION_STALL_MS: 600_000, SUBSCRIPTION_SOCKET_HIGH_WATER_BYTES: 4 << 20 }),
  });
  try {
    const c = await catalogue(t.gql, 500);
    await settled(t);
    const SMALL = `subscription { inventoryChanged { cursor } }`;
    const healthy = await subscribe(t.url, t.store.adminKey, WIDE, {}, { registered: oneMoreSubscriber(t) });
    const big = await subscribe(t.url, t.store.adminKey, WIDE_3K, {}, { registered: oneMoreSubscriber(t) });
    const small = await subscribe(t.url, t.store.adminKey, SMALL, {}, { registered: oneMoreSubscriber(t) });
    big.pauseReading();
    small.pauseReading();
    const shared = t.gateway.subscriptions;
    let rounds = 0;
    while (shared.cutOffs.memory === 0 && rounds < 60) {
      await round(t.gql, c, ++rounds);
      await healthy.waitFor((rounds - 1) * c.skus.length, 120_000);
    }
    expect(shared.cutOffs).toEqual({ stall: 0, memory: 1 });
    await round(t.gql, c, ++rounds);
    const total = rounds * c.skus.length;
    big.resumeReading();
    small.resumeReading();
    await eventually('the big client to read its close frame', () => big.closeCode() !== null, 60_000);
    expect(big.closeCode()).toBe(4290);
    const m = /subscription memory is full.*resume with after: "(\d+)"/.exec(big.closeReason() ?? '');
    expect(m).not.toBeNull();
    expect(big.events.at(-1).cursor).toBe(m![1]);
    // Queues over the cap were read back from the outbox: the others still get everything, once, in order.
    await healthy.waitFor(total, 120_000);
    await small.waitFor(total, 120_000);
    note(`memory cap: the big paused subscriber cut off after ${big.events.length} events (${rounds - 1} rounds)`);
    for (const s of [healthy, small]) {
      expect(s.closeCode()).toBeNull();
      expect(s.events).toHaveLength(total);
      expect(increasing(cursors(s))).toBe(true);
    }
    expect(cursors(small)).toEqual(cursors(healthy));
    expect(shared.cutOffs).toEqual({ stall: 0, memory: 1 });
    for (const s of [healthy, small]) await s.close();
    await big.close().catch(() => undefined);
    await eventually('everyone to leave', () => shared.stats.subscribers === 0);
    expect(shared.stats.memory).toBe(0);
  } finally {
    await t.stop();
  }
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

(usingPostgres ? test : test.skip)(
  '10 paused wide subscribers: gateway RSS stays under 250 MB, and memory is released after they leave',
  async () => {
    const db = await createTestDatabase({ migrated: true });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-flow-'));
    const metrics = await freePort();
    let gw: Spawned | null = null;
    const subs: Sub[] = [];
    try {
      gw = spawnGateway({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        SEED_DEMO: 'always',
        LOG_LEVEL: 'info',
        METRICS_PORT: String(metrics),
        // Paused subscribers stay for the whole burst: their memory is what is measured.
        INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 100, SUBSCRIPTION_STALL_MS: 600_000 }),
      });
      const url = await gw.ready();
      const key = printedDevKey(gw);
      const pid = gw.child.pid!;
      const gql = makeClient(url, key);
      const gauge = async (name: string) =>
        Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text())?.[1]);
      const subscribers = () => gauge('inventory_subscribers');
      const c = await catalogue(gql, 500);
      const healthy = await subscribe(url, key, WIDE, {}, { registered: async () => (await subscribers()) === 1 });
      subs.push(healthy);
      await round(gql, c, 1); // warm-up: every code path once
      await healthy.waitFor(c.skus.length, 60_000);
      const before = rssMb(pid);
      for (let i = 0; i < 10; i++) {
        const s = await subscribe(url, key, WIDE_3K, {}, { registered: async () => (await subscribers()) === i + 2 });
        s.pauseReading();
        subs.push(s);
      }
      let peak = rssMb(pid);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
      const ROUNDS = 20;
      try {
        for (let r = 2; r <= ROUNDS + 1; r++) {
          await round(gql, c, r);
          await healthy.waitFor(r * c.skus.length - c.skus.length, 120_000);
        }
        await healthy.waitFor((ROUNDS + 1) * c.skus.length, 120_000);
      } finally {
        clearInterval(sampler);
      }
      const during = rssMb(pid);
      // What the paused subscribers hold, as the gateway counts it (queued events and unsent frames).
      const held = await gauge('inventory_subscription_memory_bytes');
      for (const s of subs.slice(1)) {
        s.resumeReading();
        await s.close();
      }
      await eventually('the paused subscribers to leave', async () => (await subscribers()) === 1, 60_000);
      await eventually(
        'their subscription memory to be given back',
        async () => (await gauge('inventory_subscription_memory_bytes')) === 0,
      );
      let after = rssMb(pid);
      // Released: back near where it started (the heap shrinks after a collection or two).
      await eventually(
        'memory to be released',
        () => {
          after = rssMb(pid);
          return after < before + 50;
        },
        60_000,
        500,
      ).catch(() => undefined);
      const frame = JSON.stringify(subs[1].events[0] ?? {}).length;
      note(
        `RSS: ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB with 10 paused wide subscribers (${frame} B per event) over ${ROUNDS * c.skus.length} events, ` +
          `${during.toFixed(0)} MB at the end (subscription memory ${(held / 1048576).toFixed(1)} MB), ${after.toFixed(0)} MB after they left`,
      );
      expect(held).toBeGreaterThan(0);
      expect(peak).toBeLessThan(250);
      expect(after).toBeLessThan(before + 50);
      expect(healthy.closeCode()).toBeNull();
      expect(increasing(cursors(healthy))).toBe(true);
    } finally {
      for (const s of subs) await s.close().catch(() => undefined);
      gw?.killGroup('SIGKILL');
      await gw?.exited;
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  },
);

/** One graphql-ws connection carrying several subscriptions. */
function connection(url: string, key: string): Client {
  return createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

interface Opened {
  errors: { message: string; extensions?: Record<string, unknown> }[];
  stop: () => void;
}

function open(client: Client): Opened {
  const o: Opened = { errors: [], stop: () => undefined };
  o.stop = client.subscribe(
    { query: `subscription { inventoryChanged { cursor } }` },
    {
      next: (v) => void (v.errors && o.errors.push(...(v.errors as Opened['errors']))),
      error: (e) => o.errors.push(...(Array.isArray(e) ? e : [{ message: String(e) }])),
      complete: () => undefined,
    },
  );
  return o;
}

test('subscriptions per socket and per key are limited, with SUBSCRIPTION_LIMIT; a slot comes back when one ends', async () => {
  const t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ SUBSCRIPTIONS_PER_SOCKET_MAX: 2, SUBSCRIPTIONS_PER_KEY_MAX: 3 }) });
  const clients: Client[] = [];
  try {
    const shared = t.gateway.subscriptions;
    const served = (n: number) => eventually(`${n} subscriptions`, () => shared.stats.subscribers === n);
    const a = connection(t.url, t.store.adminKey);
    const b = connection(t.url, t.store.adminKey);
    clients.push(a, b);
    const a1 = open(a);
    const a2 = open(a);
    await served(2);
    const a3 = open(a);
    await eventually('the third on one socket to be refused', () => a3.errors.length > 0);
    expect(a3.errors[0].extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', scope: 'socket', limit: 2 });
    expect(a3.errors[0].message).toMatch(/at most 2 at once/);
    const b1 = open(b);
    await served(3);
    const b2 = open(b);
    await eventually('the fourth of the key to be refused', () => b2.errors.length > 0);
    expect(b2.errors[0].extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', scope: 'key', limit: 3 });
    expect(b2.errors[0].message).toMatch(/for this API key: at most 3/);
    // Another key has its own count.
    const other = connection(t.url, await t.store.keyWith(['inventory:read']));
    clients.push(other);
    const o1 = open(other);
    await served(4);
    // Completing one gives its slot back.
    a1.stop();
    await served(3);
    const b3 = open(b);
    await served(4);
    for (const x of [a1, a2, b1, o1, b3]) expect(x.errors).toEqual([]);
  } finally {
    for (const c of clients) await c.dispose();
    await t.stop();
  }
});
