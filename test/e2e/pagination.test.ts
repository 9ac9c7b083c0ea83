/**
 * Relay connections over HTTP, data-driven over every connection (root and nested): the edge cases
 * of the Relay specification's algorithm (after + before together, first: 0 / last: 0, past either
 * end, crossed cursors, empty connections, full walks both ways), and sealed cursors (they reveal
 * nothing, alterations and cursors of another store, connection or sort key are refused, and the
 * key is shared by every instance on the database and survives a restart).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { usingPostgres } from '../helpers/db';
import { createProduct, createTestStore, createWarehouse, setStock } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { startGateway } from '../../src/server';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(180_000);

const CONN = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id }`;
const PAGE_VARS = `$first: Int, $after: String, $last: Int, $before: String`;
const PAGE_ARGS = `first: $first, after: $after, last: $last, before: $before`;

interface Spec {
  name: string;
  doc: string;
  /** The connection in the response data. */
  conn: (data: any) => any;
  /** Variables selecting this test's rows (at least 6), per sort variant. */
  sorts: Record<string, unknown>[];
  base: () => Record<string, unknown>;
  /** Variables giving an empty connection (none for Product.variants: a product always has a variant). */
  empty?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

let t: TestServer;
const hooks: { server?: http.Server } = {};
const ids = {
  warehouses: [] as { id: string; code: string }[],
  emptyWarehouse: '',
  product: '', // 6 variants
  variant: '', // levels in 6 warehouses
  emptyVariant: '',
  skus: [] as string[],
  subscription: '',
  hookUrl: '',
};

const root = (field: string, extraVars: string, extraArgs: string): Pick<Spec, 'doc' | 'conn'> => ({
  doc: `query(${PAGE_VARS}${extraVars}) { c: ${field}(${PAGE_ARGS}${extraArgs}) { ${CONN} } }`,
  conn: (d) => d.c,
});
const nested = (parent: string, field: string, extraVars: string, extraArgs: string): Pick<Spec, 'doc' | 'conn'> => ({
  doc: `query($id: ID!, ${PAGE_VARS}${extraVars}) { p: ${parent}(id: $id) { c: ${field}(${PAGE_ARGS}${extraArgs}) { ${CONN} } } }`,
  conn: (d) => d.p.c,
});
const LEVEL_VARS = `, $filter: InventoryLevelFilter, $sortKey: InventoryLevelSortKey, $reverse: Boolean`;
const LEVEL_ARGS = `, filter: $filter, sortKey: $sortKey, reverse: $reverse`;

const SPECS: Spec[] = [
  {
    name: 'products',
    ...root(
      'products',
      ', $filter: ProductFilter, $sortKey: ProductSortKey, $reverse: Boolean',
      ', filter: $filter, sortKey: $sortKey, reverse: $reverse',
    ),
    sorts: [{}, { sortKey: 'TOTAL_ON_HAND' }, { sortKey: 'UPDATED_AT', reverse: true }],
    base: () => ({ filter: { search: 'relaytest' } }),
    empty: () => ({ filter: { search: 'no-such-product' } }),
  },
  {
    name: 'variants',
    ...root(
      'variants',
      ', $filter: VariantFilter, $sortKey: VariantSortKey, $reverse: Boolean',
      ', filter: $filter, sortKey: $sortKey, reverse: $reverse',
    ),
    sorts: [{}, { reverse: true }, { sortKey: 'UPDATED_AT' }],
    base: () => ({ filter: { skus: ids.skus } }),
    empty: () => ({ filter: { skus: ['NO-SUCH-SKU'] } }),
  },
  {
    name: 'warehouses',
    ...root(
      'warehouses',
      ', $filter: WarehouseFilter, $sortKey: WarehouseSortKey, $reverse: Boolean',
      ', filter: $filter, sortKey: $sortKey, reverse: $reverse',
    ),
    sorts: [{}, { sortKey: 'CODE', reverse: true }],
    base: () => ({ filter: { search: 'RLY' } }),
    empty: () => ({ filter: { search: 'no-such-warehouse' } }),
  },
  {
    name: 'inventoryLevels',
    ...root('inventoryLevels', LEVEL_VARS, LEVEL_ARGS),
    sorts: [{}, { sortKey: 'ON_HAND' }, { sortKey: 'AVAILABLE', reverse: true }, { sortKey: 'UPDATED_AT' }],
    base: () => ({ filter: { skus: ids.skus } }),
    empty: () => ({ filter: { skus: ['NO-SUCH-SKU'] } }),
  },
  {
    name: 'stockMovements',
    ...root('stockMovements', ', $filter: StockMovementFilter, $reverse: Boolean', ', filter: $filter, reverse: $reverse'),
    sorts: [{}, { reverse: true }],
    base: () => ({ filter: { skus: ids.skus } }),
    empty: () => ({ filter: { skus: ['NO-SUCH-SKU'] } }),
  },
  {
    name: 'reservations',
    ...root('reservations', ', $filter: ReservationFilter, $reverse: Boolean', ', filter: $filter, reverse: $reverse'),
    sorts: [{}, { reverse: true }],
    base: () => ({ filter: { reference: 'relay-res' } }),
    empty: () => ({ filter: { reference: 'no-such-reference' } }),
  },
  {
    name: 'webhookDeliveries',
    ...root('webhookDeliveries', ', $subscriptionId: ID', ', subscriptionId: $subscriptionId'),
    sorts: [{}],
    base: () => ({ subscriptionId: ids.subscription }),
    // A subscription that never received anything.
    empty: async () => {
      const sub = await ok(
        t.gql(
          `mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { webhookSubscription { id } userErrors { message } } }`,
          {
            i: { url: ids.hookUrl, topics: ['STOCK_OUT'], active: false },
          },
        ),
      );
      return { subscriptionId: sub.webhookSubscriptionCreate.webhookSubscription.id };
    },
  },
  {
    name: 'Product.variants',
    ...nested('product', 'variants', ', $sortKey: VariantSortKey, $reverse: Boolean', ', sortKey: $sortKey, reverse: $reverse'),
    sorts: [{}, { reverse: true }, { sortKey: 'UPDATED_AT' }],
    base: () => ({ id: ids.product }),
  },
  {
    name: 'Variant.inventoryLevels',
    ...nested('variant', 'inventoryLevels', LEVEL_VARS, LEVEL_ARGS),
    sorts: [{}, { sortKey: 'ON_HAND', reverse: true }],
    base: () => ({ id: ids.variant }),
    empty: () => ({ id: ids.emptyVariant }),
  },
  {
    name: 'Warehouse.inventoryLevels',
    ...nested('warehouse', 'inventoryLevels', LEVEL_VARS, LEVEL_ARGS),
    sorts: [{}, { sortKey: 'AVAILABLE' }],
    base: () => ({ id: ids.warehouses[0].id }),
    empty: () => ({ id: ids.emptyWarehouse }),
  },
];

async function until<T>(f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  // The webhook receiver is on 127.0.0.1, which the SSRF guard refuses unless told otherwise.
  t = await startTestServer({
    INVENTORY_TUNING: tuningEnv({ WEBHOOK_POLL_MS: 50, EVENTS_POLL_MS: 100, WEBHOOK_RETRY_BASE_MS: 50 }),
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  });
  // A receiver that accepts every webhook delivery.
  hooks.server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => hooks.server!.listen(0, '127.0.0.1', () => r()));
  const hookUrl = (ids.hookUrl = `http://127.0.0.1:${(hooks.server.address() as { port: number }).port}/hooks`);
  const sub = await ok(
    t.gql(
      `mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { webhookSubscription { id } userErrors { message } } }`,
      {
        i: { url: hookUrl, topics: ['INVENTORY_UPDATED'] },
      },
    ),
  );
  ids.subscription = sub.webhookSubscriptionCreate.webhookSubscription.id;

  // Six warehouses (two share a priority: ties are broken by id).
  for (let i = 0; i < 6; i++)
    ids.warehouses.push(await createWarehouse(t.gql, { code: `RLY-${i}`, name: `RLY warehouse ${i}`, priority: i === 3 ? 2 : i }));
  ids.emptyWarehouse = (await createWarehouse(t.gql, { code: 'EMPTY-WH', name: 'Empty' })).id;
  // One product with six variants, five more with one each; equal stock on purpose (ties).
  const big = await createProduct(t.gql, { skus: ['RT-A0', 'RT-A1', 'RT-A2', 'RT-A3', 'RT-A4', 'RT-A5'], externalId: 'relaytest-big' });
  ids.product = big.id;
  ids.skus.push(...big.skus);
  for (let i = 0; i < 5; i++) {
    const p = await createProduct(t.gql, { skus: [`RT-B${i}`], externalId: `relaytest-${i}` });
    ids.skus.push(...p.skus);
  }
  await createProduct(t.gql, { skus: ['RT-LONELY'] }); // no stock: no levels
  ids.emptyVariant = (await ok(t.gql(`{ variant(sku: "RT-LONELY") { id } }`))).variant.id;
  for (const [i, sku] of ids.skus.entries()) await setStock(t.gql, sku, ids.warehouses[0].code, 10 + (i % 3));
  for (let w = 1; w < 6; w++) await setStock(t.gql, 'RT-A0', ids.warehouses[w].code, 5 * (w % 2));
  ids.variant = (await ok(t.gql(`{ variant(sku: "RT-A0") { id } }`))).variant.id;
  for (let i = 0; i < 6; i++) {
    const r = await ok(
      t.gql(`mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { userErrors { code message } } }`, {
        i: { lines: [{ sku: ids.skus[i], warehouseCode: ids.warehouses[0].code, quantity: 1 }], reference: 'relay-res' },
      }),
    );
    expect(r.inventoryReserve.userErrors).toEqual([]);
  }
  // Deliveries are created when the event hub numbers the events: wait until every event is numbered.
  await until(
    async () => (await t.gateway.app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n === 0,
  );
});

afterAll(async () => {
  await t?.stop();
  await new Promise((r) => hooks.server?.close(r));
});

async function page(spec: Spec, vars: Record<string, unknown>, gql: GqlClient = t.gql) {
  const r = await gql(spec.doc, vars);
  if (r.body.errors?.length) throw new Error(`${spec.name} ${JSON.stringify(vars)}: ${JSON.stringify(r.body.errors)}`);
  return spec.conn(r.body.data);
}

function expectPage(
  c: any,
  all: { id: string; cursor: string }[],
  from: number,
  to: number,
  hasPrev: boolean,
  hasNext: boolean,
  label: string,
) {
  const want = all.slice(from, to);
  expect({ label, ids: c.edges.map((e: any) => e.node.id), nodes: c.nodes.map((n: any) => n.id) }).toEqual({
    label,
    ids: want.map((e) => e.id),
    nodes: want.map((e) => e.id),
  });
  expect({ label, ...c.pageInfo }).toEqual({
    label,
    hasPreviousPage: hasPrev,
    hasNextPage: hasNext,
    startCursor: c.edges[0]?.cursor ?? null,
    endCursor: c.edges[c.edges.length - 1]?.cursor ?? null,
  });
  if (!c.edges.length) expect([c.pageInfo.startCursor, c.pageInfo.endCursor]).toEqual([null, null]);
}

describe.each(SPECS)('$name', (spec) => {
  test.each(spec.sorts.map((s) => [JSON.stringify(s), s]))('Relay edge cases, sort %s', async (_label, sort) => {
    const v = { ...spec.base(), ...(sort as object) };
    const full = await page(spec, { ...v, first: 250 });
    const all: { id: string; cursor: string }[] = full.edges.map((e: any) => ({ id: e.node.id, cursor: e.cursor }));
    const n = all.length;
    expect(n).toBeGreaterThanOrEqual(6);
    expect(full.totalCount).toBe(n);
    expectPage(full, all, 0, n, false, false, 'first: 250');
    const c = (i: number) => all[i].cursor;

    // after + before: the edges strictly between them, with first, last or neither.
    expectPage(await page(spec, { ...v, after: c(1), before: c(4) }), all, 2, 4, true, true, 'after #1 before #4');
    expectPage(await page(spec, { ...v, after: c(1), before: c(5), first: 2 }), all, 2, 4, true, true, 'after #1 before #5 first 2');
    expectPage(await page(spec, { ...v, after: c(1), before: c(5), last: 2 }), all, 3, 5, true, true, 'after #1 before #5 last 2');
    expectPage(await page(spec, { ...v, after: c(1), before: c(4), first: 10 }), all, 2, 4, true, true, 'after #1 before #4 first 10');
    expectPage(await page(spec, { ...v, after: c(1), before: c(4), last: 10 }), all, 2, 4, true, true, 'after #1 before #4 last 10');
    expectPage(await page(spec, { ...v, after: c(0), before: c(n - 1) }), all, 1, n - 1, true, true, 'after first before last');
    expectPage(await page(spec, { ...v, after: c(2), before: c(3) }), all, 3, 3, true, true, 'adjacent cursors');
    expectPage(await page(spec, { ...v, after: c(3), before: c(3) }), all, 3, 3, true, true, 'same cursor');
    expectPage(await page(spec, { ...v, after: c(4), before: c(1) }), all, 3, 3, true, true, 'crossed cursors');
    // after with last, before with first (allowed by the specification).
    expectPage(await page(spec, { ...v, after: c(1), last: 2 }), all, n - 2, n, true, false, 'after #1 last 2');
    expectPage(await page(spec, { ...v, before: c(n - 2), first: 2 }), all, 0, 2, false, true, 'before #n-2 first 2');

    // first: 0 and last: 0: empty pages whose page info says what lies beyond.
    expectPage(await page(spec, { ...v, first: 0 }), all, 0, 0, false, true, 'first 0');
    expectPage(await page(spec, { ...v, last: 0 }), all, 0, 0, true, false, 'last 0');
    expectPage(await page(spec, { ...v, first: 0, after: c(n - 1) }), all, 0, 0, true, false, 'first 0 after last');
    expectPage(await page(spec, { ...v, first: 0, after: c(2) }), all, 0, 0, true, true, 'first 0 after #2');
    expectPage(await page(spec, { ...v, last: 0, before: c(0) }), all, 0, 0, false, true, 'last 0 before first');
    expectPage(await page(spec, { ...v, last: 0, before: c(2) }), all, 0, 0, true, true, 'last 0 before #2');

    // Past either end, and up to it.
    expectPage(await page(spec, { ...v, first: 3, after: c(n - 1) }), all, n, n, true, false, 'after last');
    expectPage(await page(spec, { ...v, last: 3, before: c(0) }), all, 0, 0, false, true, 'before first');
    expectPage(await page(spec, { ...v, first: 5, after: c(n - 2) }), all, n - 1, n, true, false, 'after second to last');
    expectPage(await page(spec, { ...v, last: 5, before: c(1) }), all, 0, 1, false, true, 'before second');
    expectPage(await page(spec, { ...v, first: n }), all, 0, n, false, false, 'first n');
    expectPage(await page(spec, { ...v, first: n - 1 }), all, 0, n - 1, false, true, 'first n-1');
    expectPage(await page(spec, { ...v, last: n }), all, 0, n, false, false, 'last n');
    expectPage(await page(spec, { ...v, last: n - 1 }), all, 1, n, true, false, 'last n-1');
    expectPage(await page(spec, { ...v, before: c(n - 1) }), all, 0, n - 1, false, true, 'before last, no size');

    // Full walks, forward and backward, give every edge once, in order.
    const fwd: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const p: any = await page(spec, { ...v, first: 2, after });
      fwd.push(...p.edges.map((e: any) => e.node.id));
      expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(fwd).toEqual(all.map((e) => e.id));
    const back: string[] = [];
    let before: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const p: any = await page(spec, { ...v, last: 4, before });
      back.unshift(...p.edges.map((e: any) => e.node.id));
      expect(p.pageInfo.hasNextPage).toBe(before !== null);
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    expect(back).toEqual(all.map((e) => e.id));
  });

  (spec.empty ? test : test.skip)('an empty connection: no edges, no cursors, nothing before or after', async () => {
    const vars = await spec.empty!();
    for (const args of [{}, { first: 0 }, { last: 0 }, { first: 10 }, { last: 10 }]) {
      const c = await page(spec, { ...vars, ...args });
      expectPage(c, [], 0, 0, false, false, `empty ${JSON.stringify(args)}`);
      expect(c.totalCount).toBe(0);
    }
  });
});

describe('page info when the cursor row has moved', () => {
  test('hasPreviousPage / hasNextPage look at the rows, not at whether a cursor was given (root and nested)', async () => {
    // Own rows: three levels of one variant in three new warehouses, onHand 1, 2, 3.
    const whs = [];
    for (let i = 0; i < 3; i++) whs.push(await createWarehouse(t.gql, { code: `MV-${i}`, name: `Move ${i}` }));
    await createProduct(t.gql, { skus: ['RT-MOVE'] });
    for (const [i, w] of whs.entries()) await setStock(t.gql, 'RT-MOVE', w.code, i + 1);
    const variantId = (await ok(t.gql(`{ variant(sku: "RT-MOVE") { id } }`))).variant.id;
    const root = { ...SPECS[3], vars: { filter: { skus: ['RT-MOVE'] }, sortKey: 'ON_HAND' } as Record<string, unknown> };
    const nestedSpec = { ...SPECS[8], vars: { id: variantId, sortKey: 'ON_HAND' } as Record<string, unknown> };
    const specs = [root, nestedSpec];
    const ids3 = async (spec: (typeof specs)[number], extra: Record<string, unknown>) => page(spec, { ...spec.vars, ...extra });
    // After: the cursor of the lowest row (onHand 1), then that row moves to the top (9).
    const lowest = await Promise.all(specs.map(async (spec) => (await ids3(spec, { first: 1 })).pageInfo.endCursor));
    for (const [i, spec] of specs.entries()) {
      expect((await ids3(spec, { first: 10, after: lowest[i] })).pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    }
    await setStock(t.gql, 'RT-MOVE', whs[0].code, 9);
    for (const [i, spec] of specs.entries()) {
      const p = await ids3(spec, { first: 10, after: lowest[i] });
      expect(p.edges.length).toBe(3); // 2, 3 and the moved row, now 9
      expect(p.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: false });
    }
    // Before: the cursor of the highest row (9), then that row moves to the bottom (1).
    const highest = await Promise.all(specs.map(async (spec) => (await ids3(spec, { last: 1 })).pageInfo.startCursor));
    for (const [i, spec] of specs.entries()) {
      expect((await ids3(spec, { last: 10, before: highest[i] })).pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    }
    await setStock(t.gql, 'RT-MOVE', whs[0].code, 1);
    for (const [i, spec] of specs.entries()) {
      const p = await ids3(spec, { last: 10, before: highest[i] });
      expect(p.edges.length).toBe(3);
      expect(p.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: false });
    }
  });
});

describe('arguments', () => {
  const products = SPECS[0];
  test('first and last together, and sizes out of 0..250, are BAD_USER_INPUT naming the argument', async () => {
    for (const [vars, message, argument] of [
      [{ first: 1, last: 1 }, /either "first" or "last", not both/, undefined],
      [{ first: 251 }, /"first" must be between 0 and 250, got 251/, 'first'],
      [{ last: -1 }, /"last" must be between 0 and 250, got -1/, 'last'],
    ] as const) {
      const r = await t.gql(products.doc, { ...products.base(), ...vars });
      expect(r.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
      if (argument) expect(r.body.errors?.[0].extensions?.argument).toBe(argument);
    }
  });
});

describe('sealed cursors', () => {
  const LEVELS = SPECS[3];

  test('a cursor reveals nothing: not the sort value (TOTAL_ON_HAND), not the id; the same row gets a new cursor each time', async () => {
    // Publishable keys may not even sort by a private field (test/e2e/transports.test.ts); a cursor
    // given to a secret key reveals nothing either.
    const pk = await t.store.publishableKey();
    expect(
      (await makeClient(t.url, pk)(`{ products(first: 10, sortKey: TOTAL_ON_HAND) { edges { cursor } } }`)).body.errors?.[0]?.extensions
        ?.code,
    ).toBe('FORBIDDEN');
    const pkGql = t.gql;
    const r = await pkGql(
      `{ products(first: 10, sortKey: TOTAL_ON_HAND, filter: { search: "relaytest" }) { edges { cursor node { id name } } } }`,
    );
    expect(r.body.errors).toBeUndefined();
    const edges = r.body.data.products.edges;
    expect(edges.length).toBeGreaterThanOrEqual(6);
    const totals = (
      await ok(t.gql(`{ products(first: 10, sortKey: TOTAL_ON_HAND, filter: { search: "relaytest" }) { nodes { totalOnHand } } }`))
    ).products.nodes.map((n: any) => n.totalOnHand);
    for (const [i, e] of edges.entries()) {
      expect(e.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(e.cursor.length).toBeLessThanOrEqual(80);
      const raw = Buffer.from(e.cursor, 'base64url');
      const text = raw.toString('latin1');
      expect(() => JSON.parse(raw.toString('utf8'))).toThrow();
      const total = Buffer.alloc(8);
      total.writeBigInt64BE(BigInt(totals[i]));
      expect(raw.includes(total)).toBe(false);
      // The value's decimal text: checked below against this row's second cursor too (random
      // ciphertext bytes read as text hold a short number like "10" now and then; a leak is in both).
      expect(text).not.toMatch(/TOTAL_ON_HAND|Product/);
      const uuid = Buffer.from(Buffer.from(e.node.id, 'base64').toString('utf8').split(':').pop()!.replace(/-/g, ''), 'hex');
      if (uuid.length === 16) expect(raw.includes(uuid)).toBe(false);
    }
    const again = (await ok(pkGql(`{ products(first: 10, sortKey: TOTAL_ON_HAND, filter: { search: "relaytest" }) { edges { cursor } } }`)))
      .products.edges;
    expect(again.map((e: any) => e.cursor)).not.toEqual(edges.map((e: any) => e.cursor));
    const asText = (c: string) => Buffer.from(c, 'base64url').toString('latin1');
    for (const [i, e] of edges.entries()) {
      const inBoth = asText(e.cursor).includes(String(totals[i])) && asText(again[i].cursor).includes(String(totals[i]));
      expect(inBoth).toBe(false);
    }
    // …and they page the same.
    const next = await ok(
      pkGql(
        `query($a: String) { products(first: 2, after: $a, sortKey: TOTAL_ON_HAND, filter: { search: "relaytest" }) { nodes { id } } }`,
        { a: again[1].cursor },
      ),
    );
    expect(next.products.nodes.map((n: any) => n.id)).toEqual(edges.slice(2, 4).map((e: any) => e.node.id));
  });

  test('tampered, truncated, garbage and legacy cursors are BAD_USER_INPUT naming the argument, never a 500', async () => {
    const base = LEVELS.base();
    const cursor = (await page(LEVELS, { ...base, first: 2 })).pageInfo.endCursor as string;
    const raw = Buffer.from(cursor, 'base64url');
    const flipped = (i: number) => {
      const b = Buffer.from(raw);
      b[i] ^= 0x40;
      return b.toString('base64url');
    };
    const legacy = Buffer.from(
      JSON.stringify({ c: 'InventoryLevel', s: 'SKU', v: 'RT-A0', i: '00000000-0000-0000-0000-000000000000' }),
    ).toString('base64url');
    const bad = [
      flipped(0),
      flipped(5),
      flipped(raw.length - 1),
      flipped(20),
      cursor.slice(0, -1),
      cursor.slice(0, 20),
      `${cursor}A`,
      cursor.slice(1),
      'garbage!',
      '',
      ' ',
      legacy,
      'x'.repeat(5000),
      '\u00e9\u00e9',
    ];
    for (const c of bad) {
      for (const [arg, vars] of [
        ['after', { first: 2, after: c }],
        ['before', { last: 2, before: c }],
      ] as const) {
        const r = await t.gql(LEVELS.doc, { ...base, ...vars });
        expect({ c, status: r.status, error: r.body.errors?.[0] }).toMatchObject({
          c,
          error: {
            message: expect.stringContaining(`"${arg}" is not a valid cursor`),
            extensions: { code: 'BAD_USER_INPUT', argument: arg },
          },
        });
        expect(r.status).toBeLessThan(500);
      }
    }
    // The untouched cursor still works.
    expect((await page(LEVELS, { ...base, first: 2, after: cursor })).edges.length).toBe(2);
  });

  test('a cursor of another connection, sort key, nested field or store is refused', async () => {
    const levelCursor = (await page(LEVELS, { ...LEVELS.base(), first: 1 })).pageInfo.endCursor;
    const productCursor = (await page(SPECS[0], { ...SPECS[0].base(), first: 1 })).pageInfo.endCursor;
    const refused = async (spec: Spec, vars: Record<string, unknown>, gql: GqlClient = t.gql) => {
      const r = await gql(spec.doc, vars);
      expect(r.body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/"after" is not a valid cursor here/),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    };
    await refused(SPECS[0], { ...SPECS[0].base(), first: 1, after: levelCursor });
    await refused(LEVELS, { ...LEVELS.base(), first: 1, after: productCursor });
    await refused(LEVELS, { ...LEVELS.base(), first: 1, after: levelCursor, sortKey: 'ON_HAND' });
    await refused(SPECS[1], { ...SPECS[1].base(), first: 1, after: productCursor });
    // The nested Variant.inventoryLevels is the same connection and sort: the cursor is valid there.
    expect(await page(SPECS[8], { id: ids.variant, first: 1, after: levelCursor })).toBeTruthy();
    // Another store: same connection, same sort, refused.
    const other = await createTestStore(t.gateway.app);
    await refused(LEVELS, { first: 1, after: levelCursor }, makeClient(t.url, other.adminKey));
    await refused(SPECS[0], { first: 1, after: productCursor }, makeClient(t.url, other.adminKey));
  });

  test('every instance on the database shares the key, and it survives a restart; CURSOR_SECRET replaces it', async () => {
    const base = LEVELS.base();
    const first = await page(LEVELS, { ...base, first: 3 });
    const expected = (await page(LEVELS, { ...base, first: 3, after: first.pageInfo.endCursor })).edges.map((e: any) => e.node.id);
    if (usingPostgres) {
      // A second instance on the same database accepts the first's cursors.
      const second = await startGateway(
        loadConfig({
          NODE_ENV: 'test',
          PORT: '0',
          HOST: '127.0.0.1',
          SEED_DEMO: 'never',
          LOG_LEVEL: 'error',
          DATABASE_URL: t.config.databaseUrl!,
        }),
        createLogger('error'),
      );
      try {
        const p = await page(LEVELS, { ...base, first: 3, after: first.pageInfo.endCursor }, makeClient(second.url, t.store.adminKey));
        expect(p.edges.map((e: any) => e.node.id)).toEqual(expected);
      } finally {
        await second.stop();
      }
    }
    // An embedded database on disk, restarted: the key was stored with the data.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-key-'));
    const env = { NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', SEED_DEMO: 'never', LOG_LEVEL: 'error', DATA_DIR: dir, DATABASE_URL: '' };
    try {
      let gw = await startGateway(loadConfig(env), createLogger('error'));
      const store = await createTestStore(gw.app);
      const wh = await createWarehouse(makeClient(gw.url, store.adminKey), { code: 'K-1' });
      for (const sku of ['K-A', 'K-B', 'K-C']) {
        await createProduct(makeClient(gw.url, store.adminKey), { skus: [sku] });
        await setStock(makeClient(gw.url, store.adminKey), sku, wh.code, 1);
      }
      const c1 = (await page(LEVELS, { first: 1 }, makeClient(gw.url, store.adminKey))).pageInfo.endCursor;
      await gw.stop();
      gw = await startGateway(loadConfig(env), createLogger('error'));
      try {
        const p = await page(LEVELS, { first: 5, after: c1 }, makeClient(gw.url, store.adminKey));
        expect(p.edges.length).toBe(2);
      } finally {
        await gw.stop();
      }
      // With CURSOR_SECRET the stored key is not used: the old cursor is refused, new ones work.
      gw = await startGateway(loadConfig({ ...env, CURSOR_SECRET: 'test-secret-0123456789-0123456789-abcdef' }), createLogger('error'));
      try {
        const gql = makeClient(gw.url, store.adminKey);
        const r = await gql(LEVELS.doc, { first: 5, after: c1 });
        expect(r.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
        const c2 = (await page(LEVELS, { first: 1 }, gql)).pageInfo.endCursor;
        expect((await page(LEVELS, { first: 5, after: c2 }, gql)).edges.length).toBe(2);
      } finally {
        await gw.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
