/**
 * Backorders and preorders (issue 22): the DENY / CONTINUE / PREORDER policies per variant and per
 * level, their guards on every write path (one change, the group-committed reservation batch, the
 * general reservation path, the set-based bulk), under concurrency on two gateway instances
 * (PostgreSQL; one instance on PGlite), the figures in events, and what publishable keys see.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from '../../src/server';
import { decodeId } from '../../src/graphql/ids';
import { ALL_EVENTS } from '../helpers/events';
import { createProduct, createWarehouse, setStock, uniq } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { checkInvariants } from '../helpers/invariants';
import { eventually } from '../helpers/poll';
import { rng } from '../helpers/rng';
import { tuningEnv } from '../../src/config/tuning';
import { startPeerGateway, startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(180_000);

let t: TestServer;
let other: Gateway | null = null;
let gateways: GqlClient[];

beforeAll(async () => {
  const env = { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', INVENTORY_TUNING: tuningEnv({ WEBHOOK_POLL_MS: 50, EVENTS_POLL_MS: 100 }) };
  t = await startTestServer(env);
  if (t.db.url) {
    other = await startPeerGateway(t, env);
  }
  gateways = [t.gql, other ? makeClient(other.url, t.store.adminKey) : t.gql];
});
const afterAllClose: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of afterAllClose) await close();
  await other?.stop();
  await t?.stop();
});

const LEVEL = `id onHand reserved available incoming status sellable backordered inventoryPolicy backorderLimit inventoryPolicyOverridden`;
const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id } userErrors { code message field } } }`;
const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { ${LEVEL} } userErrors { code message field } } }`;
const LEVEL_UPDATE = `mutation($input: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $input) { inventoryLevel { ${LEVEL} } userErrors { code message field } } }`;
const VARIANT_UPDATE = `mutation($id: ID!, $input: VariantUpdateInput!) { variantUpdate(id: $id, input: $input) { variant { id inventoryPolicy backorderLimit } userErrors { code message field } } }`;
const VARIANT_CREATE = `mutation($p: ID!, $input: VariantInput!) { variantCreate(productId: $p, input: $input) { variant { id inventoryPolicy backorderLimit } userErrors { code message field } } }`;
const COMMIT = `mutation($input: ReservationSettleInput!) { reservationCommit(input: $input) { userErrors { code } } }`;
const BULK = `mutation($input: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $input) { updatedCount failedCount results { index inventoryLevel { onHand } userErrors { code message } } userErrors { code message } } }`;

async function variantId(sku: string): Promise<string> {
  const d = await ok(t.gql(`query($s: String!) { variant(sku: $s) { id } }`, { s: sku }));
  return d.variant.id;
}

async function level(sku: string, warehouseCode: string) {
  const d = await ok(
    t.gql(`query($s: String!) { variant(sku: $s) { sellable inventoryLevels(first: 10) { nodes { ${LEVEL} warehouse { code } } } } }`, {
      s: sku,
    }),
  );
  return d.variant.inventoryLevels.nodes.find((n: { warehouse: { code: string } }) => n.warehouse.code === warehouseCode);
}

/** A variant in a new warehouse with `onHand` units and the given policy. */
async function stocked(onHand: number, policy?: { inventoryPolicy: string; backorderLimit?: number | null }) {
  const wh = await createWarehouse(t.gql);
  const p = await createProduct(t.gql);
  const sku = p.skus[0];
  await setStock(t.gql, sku, wh.code, onHand);
  if (policy) {
    const d = await ok(t.gql(VARIANT_UPDATE, { id: await variantId(sku), input: policy }));
    expect(d.variantUpdate.userErrors).toEqual([]);
  }
  return { sku, wh: wh.code, product: p };
}

/**
 * A request as a client sends it under load: retried (with the same input) while the gateway
 * answers UNAVAILABLE with `retryable` (a lock or pool wait timed out under 400 racing requests);
 * the change was then not applied, so a retry cannot apply it twice.
 */
async function send(gql: GqlClient, query: string, variables: Record<string, unknown>) {
  for (let attempt = 0; ; attempt++) {
    const r = await gql(query, variables);
    const e = r.body.errors?.[0];
    if (!e || attempt >= 20 || e.extensions?.code !== 'UNAVAILABLE') return ok(Promise.resolve(r));
    await new Promise((res) => setTimeout(res, 50 + attempt * 50));
  }
}

const reserve = (gql: GqlClient, sku: string, quantity: number, warehouseCode?: string) =>
  send(gql, RESERVE, { input: { lines: [{ sku, quantity, ...(warehouseCode ? { warehouseCode } : {}) }], ttlSeconds: 600 } });

test('DENY (the default) is unchanged: nothing below zero, INSUFFICIENT_STOCK', async () => {
  const { sku, wh } = await stocked(3);
  expect((await level(sku, wh)).inventoryPolicy).toBe('DENY');
  expect((await reserve(t.gql, sku, 4)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect((await reserve(t.gql, sku, 3)).inventoryReserve.userErrors).toEqual([]);
  const l = await level(sku, wh);
  expect(l).toMatchObject({ available: 0, status: 'OUT_OF_STOCK', sellable: false, backordered: 0 });
  const adj = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: -1, reason: 'SALE' } }));
  expect(adj.inventoryAdjust.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
});

test('CONTINUE with a limit: reservations and adjustments go down to −limit, never past it; commit and receipts work below zero', async () => {
  const { sku, wh } = await stocked(2, { inventoryPolicy: 'CONTINUE', backorderLimit: 5 });
  let l = await level(sku, wh);
  expect(l).toMatchObject({ inventoryPolicy: 'CONTINUE', backorderLimit: 5, sellable: true, inventoryPolicyOverridden: false });
  const r = await reserve(t.gql, sku, 6);
  expect(r.inventoryReserve.userErrors).toEqual([]);
  l = await level(sku, wh);
  // Out of stock, but still sellable: 1 more unit may be backordered.
  expect(l).toMatchObject({ onHand: 2, reserved: 6, available: 0, status: 'OUT_OF_STOCK', sellable: true, backordered: 4 });
  const over = await reserve(t.gql, sku, 2);
  expect(over.inventoryReserve.userErrors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK' });
  expect((await reserve(t.gql, sku, 1, wh)).inventoryReserve.userErrors).toEqual([]);
  l = await level(sku, wh);
  expect(l).toMatchObject({ reserved: 7, backordered: 5, sellable: false });
  const byFilter = async (sellable: boolean) =>
    (
      await ok(
        t.gql(`query($f: InventoryLevelFilter) { inventoryLevels(first: 5, filter: $f) { nodes { id } } }`, {
          f: { skus: [sku], sellable },
        }),
      )
    ).inventoryLevels.nodes;
  expect(await byFilter(false)).toEqual([{ id: l.id }]);
  expect(await byFilter(true)).toEqual([]);
  // An adjustment may not go past the limit either (the writer's BACKORDER_LIMIT guard).
  const adj = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: -1, reason: 'SALE' } }));
  expect(adj.inventoryAdjust.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect(adj.inventoryAdjust.userErrors[0].message).toMatch(/Backorder limit/);
  // Committing a backordered reservation takes onHand below zero (the units are owed).
  const c = await ok(t.gql(COMMIT, { input: { reservationId: r.inventoryReserve.reservation.id } }));
  expect(c.reservationCommit.userErrors).toEqual([]);
  l = await level(sku, wh);
  expect(l).toMatchObject({ onHand: -4, reserved: 1, backordered: 5, sellable: false });
  // A receipt raises it again.
  const rec = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 10, reason: 'RECEIVED' } }));
  expect(rec.inventoryAdjust.inventoryLevel).toMatchObject({ onHand: 6, reserved: 1, available: 5, backordered: 0, sellable: true });
  // The ledger shows the backordered units.
  const m = await ok(
    t.gql(
      `query($s: [String!]) { stockMovements(filter: { skus: $s }, first: 20) { nodes { reason onHandAfter reservedAfter backordered } } }`,
      {
        s: [sku],
      },
    ),
  );
  const rows = m.stockMovements.nodes as { reason: string; backordered: number }[];
  expect(rows.map((x) => x.backordered)).toEqual([0, 4, 5, 5, 0]);
  expect((await checkInvariants(t.gateway.app, t.store.storeId)).bounds).toEqual([]);
});

test('CONTINUE without a limit is unbounded; a move still moves only units on hand', async () => {
  const { sku, wh } = await stocked(2, { inventoryPolicy: 'CONTINUE' });
  const to = await createWarehouse(t.gql);
  await setStock(t.gql, sku, to.code, 0);
  const MOVE = `mutation($input: InventoryMoveInput!) { inventoryMove(input: $input) { source { onHand } userErrors { code } } }`;
  const move = async (quantity: number) =>
    (await ok(t.gql(MOVE, { input: { sku, fromWarehouseCode: wh, toWarehouseCode: to.code, quantity } }))).inventoryMove;
  expect((await move(3)).userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect((await reserve(t.gql, sku, 100_000, wh)).inventoryReserve.userErrors).toEqual([]);
  expect(await level(sku, wh)).toMatchObject({ backordered: 99_998, sellable: true, backorderLimit: null });
  expect((await move(1)).userErrors[0].code).toBe('INSUFFICIENT_STOCK');
});

test('PREORDER: up to incoming (and never past a limit when one is set)', async () => {
  const { sku, wh } = await stocked(1, { inventoryPolicy: 'PREORDER' });
  expect((await level(sku, wh)).sellable).toBe(true);
  expect((await reserve(t.gql, sku, 2)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  const u = await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: wh, incoming: 4 } }));
  expect(u.inventoryLevelUpdate.inventoryLevel).toMatchObject({ sellable: true, incoming: 4 });
  expect((await reserve(t.gql, sku, 5)).inventoryReserve.userErrors).toEqual([]);
  expect((await reserve(t.gql, sku, 1)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect(await level(sku, wh)).toMatchObject({ backordered: 4, sellable: false });
  // With a limit of 2 below incoming, the limit caps it.
  const b = await stocked(0, { inventoryPolicy: 'PREORDER', backorderLimit: 2 });
  await ok(t.gql(LEVEL_UPDATE, { input: { sku: b.sku, warehouseCode: b.wh, incoming: 10 } }));
  expect((await reserve(t.gql, b.sku, 3)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect((await reserve(t.gql, b.sku, 2)).inventoryReserve.userErrors).toEqual([]);
});

test('a level overrides its variant, and inherits again; allocation backorders only where no stock is left', async () => {
  const { sku, wh } = await stocked(1);
  const wh2 = await createWarehouse(t.gql);
  await setStock(t.gql, sku, wh2.code, 2);
  const u = await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: wh, inventoryPolicy: 'CONTINUE', backorderLimit: 3 } }));
  expect(u.inventoryLevelUpdate.userErrors).toEqual([]);
  expect(u.inventoryLevelUpdate.inventoryLevel).toMatchObject({
    inventoryPolicy: 'CONTINUE',
    backorderLimit: 3,
    inventoryPolicyOverridden: true,
  });
  // 3 in stock across both warehouses + 3 on backorder at wh: a reservation of 6 without a warehouse.
  expect((await reserve(t.gql, sku, 7)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  expect((await reserve(t.gql, sku, 6)).inventoryReserve.userErrors).toEqual([]);
  expect(await level(sku, wh2.code)).toMatchObject({ reserved: 2, backordered: 0 });
  expect(await level(sku, wh)).toMatchObject({ reserved: 4, backordered: 3 });
  const back = await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: wh, inheritInventoryPolicy: true } }));
  expect(back.inventoryLevelUpdate.inventoryLevel).toMatchObject({
    inventoryPolicy: 'DENY',
    inventoryPolicyOverridden: false,
    backordered: 3,
  });
  // Under DENY again: nothing more, but the existing backorders stay and can still be received.
  expect((await reserve(t.gql, sku, 1, wh)).inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  const rec = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 1, reason: 'RECEIVED' } }));
  expect(rec.inventoryAdjust.inventoryLevel).toMatchObject({ onHand: 2, reserved: 4, backordered: 2 });
  // A sale under DENY while backordered is still refused; receiving the rest clears the backorder.
  const sale = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: -1, reason: 'SALE' } }));
  expect(sale.inventoryAdjust.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  const rest = await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 2, reason: 'RECEIVED' } }));
  expect(rest.inventoryAdjust.inventoryLevel).toMatchObject({ onHand: 4, reserved: 4, backordered: 0 });
});

test('every allocation strategy takes stock everywhere before backordering; FEWEST_SPLITS prefers stock; snapshots agree', async () => {
  const p = await createProduct(t.gql, { skus: [uniq('SKU'), uniq('SKU')] });
  const [s1, s2] = p.skus;
  const w1 = (await createWarehouse(t.gql, { priority: 1 })).code;
  const w2 = (await createWarehouse(t.gql, { priority: 2 })).code;
  for (const [sku, wh, n] of [
    [s1, w1, 1],
    [s2, w1, 5],
    [s1, w2, 3],
    [s2, w2, 3],
  ] as const)
    await setStock(t.gql, sku, wh, n);
  for (const sku of [s1, s2]) {
    const d = await ok(t.gql(VARIANT_UPDATE, { id: await variantId(sku), input: { inventoryPolicy: 'CONTINUE', backorderLimit: 10 } }));
    expect(d.variantUpdate.userErrors).toEqual([]);
  }
  const cart = (allocationStrategy: string, lines: { sku: string; quantity: number }[]) =>
    send(t.gql, RESERVE, { input: { lines, allocationStrategy, ttlSeconds: 600 } });
  const held = async (sku: string) => [(await level(sku, w1)).reserved, (await level(sku, w2)).reserved];
  // FEWEST_SPLITS: w1 comes first and could fill the cart only by backordering s1; w2 has the stock.
  const fs = await cart('FEWEST_SPLITS', [
    { sku: s1, quantity: 3 },
    { sku: s2, quantity: 2 },
  ]);
  expect(fs.inventoryReserve.userErrors).toEqual([]);
  expect([await held(s1), await held(s2)]).toEqual([
    [0, 3],
    [0, 2],
  ]);
  // MOST_AVAILABLE: s1 has 1 left at w1, 0 at w2. The stock first, then a backorder at the least
  // backordered level (a tie: priority, w1); the next unit backorders at w2, now the least backordered.
  expect((await cart('MOST_AVAILABLE', [{ sku: s1, quantity: 2 }])).inventoryReserve.userErrors).toEqual([]);
  expect(await held(s1)).toEqual([2, 3]);
  expect((await cart('MOST_AVAILABLE', [{ sku: s1, quantity: 1 }])).inventoryReserve.userErrors).toEqual([]);
  expect(await held(s1)).toEqual([2, 4]);
  expect([(await level(s1, w1)).backordered, (await level(s1, w2)).backordered]).toEqual([1, 1]);
  // FEWEST_SPLITS when the stock of all warehouses cannot fill the cart (s2: 5 + 1 left): as PRIORITY.
  expect((await cart('FEWEST_SPLITS', [{ sku: s2, quantity: 7 }])).inventoryReserve.userErrors).toEqual([]);
  expect(await held(s2)).toEqual([6, 3]);
  expect([(await level(s2, w1)).backordered, (await level(s2, w2)).backordered]).toEqual([1, 0]);
  // The snapshot of a backordered level needs no policy: available floored at 0, OUT_OF_STOCK.
  const at = new Date().toISOString();
  const snap = await ok(
    t.gql(
      `query($s: String!, $at: DateTimeISO!) { variant(sku: $s) { inventoryLevels(first: 5) { nodes { warehouse { code } available status
         snapshot(at: $at) { onHand reserved available status } } } } }`,
      { s: s1, at },
    ),
  );
  for (const n of snap.variant.inventoryLevels.nodes) {
    expect(n.snapshot).toMatchObject({ available: 0, status: 'OUT_OF_STOCK' });
    expect(n.snapshot.reserved - n.snapshot.onHand).toBe(1);
    expect([n.available, n.status]).toEqual([0, 'OUT_OF_STOCK']);
  }
  expect(await checkInvariants(t.gateway.app, t.store.storeId)).toMatchObject({ ledger: [], reservedLedger: [], bounds: [] });
});

test('settings are validated with clear userErrors', async () => {
  const { sku, wh, product } = await stocked(0);
  const id = await variantId(sku);
  const bad = async (input: Record<string, unknown>) => (await ok(t.gql(VARIANT_UPDATE, { id, input }))).variantUpdate.userErrors;
  expect(await bad({ backorderLimit: 3 })).toEqual([
    expect.objectContaining({ code: 'INVALID_INPUT', field: ['input', 'backorderLimit'] }),
  ]);
  expect(await bad({ inventoryPolicy: 'DENY', backorderLimit: 3 })).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);
  expect(await bad({ inventoryPolicy: 'CONTINUE', backorderLimit: -1 })).toEqual([expect.objectContaining({ code: 'NEGATIVE_QUANTITY' })]);
  const created = await ok(
    t.gql(VARIANT_CREATE, { p: product.id, input: { sku: uniq('BO'), inventoryPolicy: 'PREORDER', backorderLimit: 0 } }),
  );
  expect(created.variantCreate.variant).toMatchObject({ inventoryPolicy: 'PREORDER', backorderLimit: 0 });
  const badCreate = await ok(t.gql(VARIANT_CREATE, { p: product.id, input: { sku: uniq('BO'), backorderLimit: 1 } }));
  expect(badCreate.variantCreate.userErrors[0].code).toBe('INVALID_INPUT');
  const lvl = async (input: Record<string, unknown>) =>
    (await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: wh, ...input } }))).inventoryLevelUpdate.userErrors;
  expect(await lvl({ backorderLimit: 2 })).toEqual([expect.objectContaining({ code: 'INVALID_INPUT' })]);
  expect(await lvl({ inventoryPolicy: 'CONTINUE', inheritInventoryPolicy: true })).toEqual([
    expect.objectContaining({ code: 'INVALID_INPUT' }),
  ]);
  expect(await lvl({ inventoryPolicy: 'CONTINUE', backorderLimit: -5 })).toEqual([expect.objectContaining({ code: 'NEGATIVE_QUANTITY' })]);
});

test('publishable keys see sellable, never the policy, the limit or the backordered units', async () => {
  const { sku } = await stocked(0, { inventoryPolicy: 'CONTINUE', backorderLimit: 2 });
  const pk = makeClient(t.url, await t.store.publishableKey());
  const d = await ok(
    pk(`query($s: String!) { variant(sku: $s) { sellable inventoryLevels(first: 5) { nodes { sellable status } } } }`, { s: sku }),
  );
  expect(d.variant).toMatchObject({ sellable: true, inventoryLevels: { nodes: [{ sellable: true, status: 'OUT_OF_STOCK' }] } });
  for (const f of ['inventoryPolicy', 'backorderLimit']) {
    const r = await pk(`query($s: String!) { variant(sku: $s) { ${f} } }`, { s: sku });
    expect(r.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }
  const r = await pk(`query($s: String!) { variant(sku: $s) { inventoryLevels(first: 5) { nodes { backordered } } } }`, { s: sku });
  expect(r.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
});

test('events carry backordered and sellable; a sellable flip is announced as STOCK_STATUS_CHANGED', async () => {
  const { sku, wh } = await stocked(1, { inventoryPolicy: 'CONTINUE', backorderLimit: 2 });
  const lv = await level(sku, wh);
  await reserve(t.gql, sku, 3);
  const rows = (
    await t.gateway.app.db.pool.query(`SELECT topic, payload FROM ${ALL_EVENTS} e WHERE level_id = $1 ORDER BY queued, ord`, [
      decodeId(lv.id, 'InventoryLevel'),
    ])
  ).rows as { topic: string; payload: Record<string, any> }[];
  const last = rows.filter((r) => r.topic === 'INVENTORY_UPDATED').pop()!;
  expect(last.payload.after).toMatchObject({ onHand: 1, reserved: 3, available: 0, backordered: 2, sellable: false });
  const flips = rows.filter((r) => r.topic === 'STOCK_STATUS_CHANGED').map((r) => r.payload);
  expect(flips.pop()).toMatchObject({
    previousStatus: 'IN_STOCK',
    status: 'OUT_OF_STOCK',
    previousSellable: true,
    sellable: false,
    backordered: 2,
  });
  // Receiving 1 unit: still out of stock, sellable again (status unchanged, sellable flipped).
  await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 1, reason: 'RECEIVED' } }));
  const again = (
    await t.gateway.app.db.pool.query(
      `SELECT payload FROM ${ALL_EVENTS} e WHERE level_id = $1 AND topic = 'STOCK_STATUS_CHANGED' ORDER BY queued DESC, ord DESC LIMIT 1`,
      [decodeId(lv.id, 'InventoryLevel')],
    )
  ).rows[0].payload;
  expect(again).toMatchObject({
    previousStatus: 'OUT_OF_STOCK',
    status: 'OUT_OF_STOCK',
    backInStock: false,
    previousSellable: false,
    sellable: true,
  });
});

test('bulk: ADJUST and SET honour the policy exactly as one change after the other', async () => {
  const { sku, wh } = await stocked(3, { inventoryPolicy: 'CONTINUE', backorderLimit: 5 });
  const items = [-4, -4, -1, 2, -3].map((delta) => ({ sku, warehouseCode: wh, mode: 'ADJUST', delta }));
  const d = await ok(t.gql(BULK, { input: { items, errorPolicy: 'REJECT_FAILED_ROWS', reason: 'SALE' } }));
  const res = d.inventoryBulkUpdate.results as { inventoryLevel: { onHand: number } | null; userErrors: { code: string }[] }[];
  expect(res.map((r) => r.userErrors[0]?.code ?? r.inventoryLevel!.onHand)).toEqual([
    -1,
    -5,
    'INSUFFICIENT_STOCK',
    -3,
    'INSUFFICIENT_STOCK',
  ]);
  expect(await level(sku, wh)).toMatchObject({ onHand: -3, backordered: 3 });
  expect((await checkInvariants(t.gateway.app, t.store.storeId)).ledger).toEqual([]);
});

test('400 concurrent reservations on two instances never take available past −limit; adjustments likewise', async () => {
  const LIMIT = 25;
  const { sku, wh } = await stocked(10, { inventoryPolicy: 'CONTINUE', backorderLimit: LIMIT });
  const rand = rng(22);
  const sizes = Array.from({ length: 400 }, () => (rand() < 0.8 ? 1 : 2));
  const results = await Promise.all(sizes.map((q, i) => reserve(gateways[i % 2], sku, q)));
  const granted = results.reduce((s, r, i) => s + (r.inventoryReserve.reservation ? sizes[i] : 0), 0);
  for (const r of results) if (!r.inventoryReserve.reservation) expect(r.inventoryReserve.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
  const l = await level(sku, wh);
  expect(l.reserved).toBe(granted);
  // Exactly down to the limit (a refused 2 may leave one unit when only 1s could still fit).
  expect(10 - granted).toBeGreaterThanOrEqual(-LIMIT);
  expect(10 - granted).toBeLessThanOrEqual(-LIMIT + 1);

  const b = await stocked(10, { inventoryPolicy: 'CONTINUE', backorderLimit: LIMIT });
  const adj = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      send(gateways[i % 2], ADJUST, { input: { sku: b.sku, warehouseCode: b.wh, delta: -1, reason: 'SALE' } }),
    ),
  );
  expect(adj.filter((r) => r.inventoryAdjust.userErrors.length === 0)).toHaveLength(10 + LIMIT);
  expect(await level(b.sku, b.wh)).toMatchObject({ onHand: -LIMIT, backordered: LIMIT, sellable: false });
  const inv = await checkInvariants(t.gateway.app, t.store.storeId);
  expect(inv).toEqual({ ledger: [], reservedLedger: [], bounds: [], reservedVsLines: [], dupKeys: [] });
});

test('webhooks: a sellable flip without a status change is SELLABLE_CHANGED, not another STOCK_OUT', async () => {
  const { sku, wh } = await stocked(1, { inventoryPolicy: 'CONTINUE', backorderLimit: 1 });
  const vid = await variantId(sku);
  // A receiver that accepts everything (a failing one gets the subscription disabled).
  const rx = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end('ok')));
  await new Promise<void>((res) => rx.listen(0, '127.0.0.1', res));
  afterAllClose.push(() => new Promise<void>((res) => rx.close(() => res())));
  const url = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`;
  const d = await ok(
    t.gql(
      `mutation($input: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $input) { webhookSubscription { id } userErrors { code message } } }`,
      { input: { url, topics: ['STOCK_OUT', 'BACK_IN_STOCK', 'SELLABLE_CHANGED'], variantIds: [vid] } },
    ),
  );
  expect(d.webhookSubscriptionCreate.userErrors).toEqual([]);
  const sub = decodeId(d.webhookSubscriptionCreate.webhookSubscription.id, 'WebhookSubscription');
  // 1 → 0 available: STOCK_OUT (still sellable); → −1: sellable flips (SELLABLE_CHANGED only);
  // a receipt of 1 → 0: sellable again (SELLABLE_CHANGED only); of 2 more: back in stock.
  await reserve(t.gql, sku, 1, wh);
  await reserve(t.gql, sku, 1, wh);
  await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 1, reason: 'RECEIVED' } }));
  await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh, delta: 2, reason: 'RECEIVED' } }));
  const topics = async () =>
    (
      await t.gateway.app.db.pool.query(`SELECT topic FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY event_seq, topic`, [sub])
    ).rows.map((r: { topic: string }) => r.topic);
  await eventually('four deliveries', async () => (await topics()).length >= 4, 60_000);
  expect(await topics()).toEqual(['STOCK_OUT', 'SELLABLE_CHANGED', 'SELLABLE_CHANGED', 'BACK_IN_STOCK']);
});
