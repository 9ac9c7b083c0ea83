/**
 * Stock mutations over HTTP: set, adjust, move, thresholds, reserve/release/commit, bulk and the
 * catalogue. Every ErrorCode is triggered, each by a test of its own (the last describe).
 */
import { ErrorCode } from '../../src/graphql/errors';
import { DUE_LEVELS_SQL, SPENT_RESERVATIONS_SQL } from '../../src/modules/reservations/expiry';
import { usingPostgres } from '../helpers/db';
import { createProduct, createWarehouse, LEVEL_FIELDS, setStock, stockedSku, uniq } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { checkInvariants } from '../helpers/invariants';
import { eventually, pastInDatabase } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(60_000);

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ RESERVATION_TTL_MAX_SECONDS: 3600, RESERVATION_TTL_DEFAULT_SECONDS: 600 }) });
});
afterAll(async () => {
  await t?.stop();
});

type UE = { code: string; field: string[] | null; message: string };

/** Runs a mutation and returns its payload. */
async function m<T = any>(name: string, query: string, variables: Record<string, unknown>): Promise<T & { userErrors: UE[] }> {
  const data = await ok(t.gql(query, variables));
  return data[name];
}

const SET = `mutation($input: InventorySetInput!) { inventorySet(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } idempotentReplay userErrors { code field message } } }`;
const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } idempotentReplay userErrors { code field message } } }`;
const MOVE = `mutation($input: InventoryMoveInput!) { inventoryMove(input: $input) {
  source { ${LEVEL_FIELDS} } destination { ${LEVEL_FIELDS} } userErrors { code field message } } }`;
const LEVEL_UPDATE = `mutation($input: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } userErrors { code field message } } }`;
const RES_FIELDS = `id status reference expiresAt lines { id status quantity originalQuantity committedQuantity releasedQuantity expiredQuantity
  inventoryLevel { id onHand reserved available warehouse { code } } }`;
const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { ${RES_FIELDS} } idempotentReplay userErrors { code field message } } }`;
const RELEASE = `mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { reservation { ${RES_FIELDS} } userErrors { code field message } } }`;
const COMMIT = `mutation($input: ReservationSettleInput!) { reservationCommit(input: $input) { reservation { ${RES_FIELDS} } userErrors { code field message } } }`;
const BULK = `mutation($input: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $input) {
  updatedCount failedCount results { index inventoryLevel { id onHand available } userErrors { code field message } } userErrors { code field message } idempotentReplay } }`;

async function level(id: string) {
  return (await ok(t.gql(`query($id: ID!) { inventoryLevel(id: $id) { ${LEVEL_FIELDS} } }`, { id }))).inventoryLevel;
}

async function movements(levelGid: string) {
  const r = await t.gateway.app.db.pool.query(
    `SELECT m.reason::text, m.quantity_delta AS "quantityDelta", m.reserved_delta AS "reservedDelta", m.on_hand_before AS "onHandBefore",
            m.on_hand_after AS "onHandAfter", m.note, m.actor, m.idempotency_key AS "idempotencyKey"
       FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id
      WHERE l.id = (SELECT id FROM inventory_levels WHERE id::text = $1) ORDER BY m.id`,
    [rawId(levelGid)],
  );
  return r.rows;
}

function rawId(gid: string): string {
  return Buffer.from(gid, 'base64url').toString('utf8').split(':').pop()!;
}

/** Until the database's clock is past a reservation's expiry (the sweeper may or may not have run). */
const pastExpiry = (reservation: { expiresAt: string }) => pastInDatabase(t.gateway.app.db.pool, reservation.expiresAt);

async function expectInvariants() {
  const inv = await checkInvariants(t.gateway.app, t.store.storeId);
  expect(inv).toEqual({ ledger: [], reservedLedger: [], bounds: [], reservedVsLines: [], dupKeys: [] });
}

describe('inventorySet', () => {
  test('sets onHand absolutely, creates the level, writes the ledger with before/after, reason, note and actor', async () => {
    const wh = await createWarehouse(t.gql);
    const p = await createProduct(t.gql);
    const r = await m('inventorySet', SET, {
      input: { sku: p.skus[0], warehouseCode: wh.code, quantity: 40, reason: 'RECEIVED', note: 'PO-1' },
    });
    expect(r.userErrors).toEqual([]);
    expect(r.inventoryLevel).toMatchObject({ onHand: 40, reserved: 0, available: 40, status: 'IN_STOCK', version: 1 });
    const r2 = await m('inventorySet', SET, { input: { inventoryLevelId: r.inventoryLevel.id, quantity: 25, reason: 'CYCLE_COUNT' } });
    expect(r2.inventoryLevel).toMatchObject({ onHand: 25, version: 2 });
    const mv = await movements(r.inventoryLevel.id);
    expect(mv).toEqual([
      expect.objectContaining({
        reason: 'RECEIVED',
        quantityDelta: 40,
        onHandBefore: 0,
        onHandAfter: 40,
        note: 'PO-1',
        actor: expect.stringMatching(/^key:sk_/),
      }),
      expect.objectContaining({ reason: 'CYCLE_COUNT', quantityDelta: -15, onHandBefore: 40, onHandAfter: 25, note: null }),
    ]);
  });

  test('compareQuantity is compare-and-set: a stale value fails with the current onHand and changes nothing', async () => {
    const s = await stockedSku(t.gql, 10);
    const stale = await m('inventorySet', SET, { input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 50, compareQuantity: 9 } });
    expect(stale.inventoryLevel).toBeNull();
    expect(stale.userErrors).toEqual([
      { code: 'COMPARE_QUANTITY_STALE', field: ['input', 'compareQuantity'], message: 'onHand is 10, not 9; re-read and retry' },
    ]);
    const good = await m('inventorySet', SET, { input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 50, compareQuantity: 10 } });
    expect(good.inventoryLevel.onHand).toBe(50);
  });

  test('below reserved, negative, out of range, bad note and unknown entities are refused with precise codes', async () => {
    const s = await stockedSku(t.gql, 10);
    await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 4 }] } });
    const a = { sku: s.sku, warehouseCode: s.warehouseCode };
    const below = await m('inventorySet', SET, { input: { ...a, quantity: 3 } });
    expect(below.userErrors).toEqual([
      { code: 'QUANTITY_BELOW_RESERVED', field: ['input', 'quantity'], message: 'Quantity 3 is below the reserved quantity 4' },
    ]);
    const neg = await m('inventorySet', SET, { input: { ...a, quantity: -1 } });
    expect(neg.userErrors[0]).toMatchObject({ code: 'NEGATIVE_QUANTITY', field: ['input', 'quantity'] });
    const note = await m('inventorySet', SET, { input: { ...a, quantity: 5, note: 'x'.repeat(256) } });
    expect(note.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'note'] });
    const noVariant = await m('inventorySet', SET, { input: { sku: 'NOPE-' + uniq('x'), warehouseCode: 'NOPE', quantity: 1 } });
    expect(noVariant.userErrors.map((e: UE) => e.code).sort()).toEqual(['VARIANT_NOT_FOUND', 'WAREHOUSE_NOT_FOUND']);
    const noLevel = await m('inventorySet', SET, {
      input: { inventoryLevelId: 'SW52ZW50b3J5TGV2ZWw6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw', quantity: 1 },
    });
    expect(noLevel.userErrors[0]).toMatchObject({ code: 'INVENTORY_NOT_FOUND' });
    const both = await m('inventorySet', SET, { input: { ...a, variantId: 'x', quantity: 1 } });
    expect(both.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'sku'] });
    // Nothing above changed the level.
    expect((await level(s.level.id)).onHand).toBe(10);
    // GraphQL Int is 32-bit: a larger literal is refused before any resolver runs, with a clear error.
    const huge = await t.gql(SET, { input: { ...a, quantity: 2147483648 } });
    expect(huge.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(huge.body.errors?.[0].message).toMatch(/Int cannot represent non 32-bit signed integer/);
  });

  test('read-only warehouses refuse every stock write', async () => {
    const ro = await createWarehouse(t.gql, { readOnly: true, type: 'FBA' });
    const p = await createProduct(t.gql);
    const r = await m('inventorySet', SET, { input: { sku: p.skus[0], warehouseCode: ro.code, quantity: 5 } });
    expect(r.userErrors).toEqual([
      { code: 'READONLY_WAREHOUSE', field: ['input'], message: 'This warehouse is read-only; its stock is managed externally' },
    ]);
    const adj = await m('inventoryAdjust', ADJUST, { input: { sku: p.skus[0], warehouseCode: ro.code, delta: 5, reason: 'RECEIVED' } });
    expect(adj.userErrors[0].code).toBe('READONLY_WAREHOUSE');
  });
});

describe('inventoryAdjust', () => {
  test('applies a signed delta and refuses one that would make available negative, with the seed message', async () => {
    const s = await stockedSku(t.gql, 12);
    const a = { sku: s.sku, warehouseCode: s.warehouseCode };
    const up = await m('inventoryAdjust', ADJUST, { input: { ...a, delta: 8, reason: 'RETURN', note: 'RMA-7' } });
    expect(up.inventoryLevel).toMatchObject({ onHand: 20, available: 20 });
    await m('inventoryReserve', RESERVE, { input: { lines: [{ ...a, quantity: 5 }] } });
    const tooMuch = await m('inventoryAdjust', ADJUST, { input: { ...a, delta: -16, reason: 'DAMAGED' } });
    expect(tooMuch.inventoryLevel).toBeNull();
    expect(tooMuch.userErrors).toEqual([
      {
        code: 'INSUFFICIENT_STOCK',
        field: ['input'],
        message: 'Adjustment would result in negative available quantity. Current: 20 on hand, 15 available, adjustment: -16',
      },
    ]);
    const fine = await m('inventoryAdjust', ADJUST, { input: { ...a, delta: -15, reason: 'SHRINKAGE' } });
    expect(fine.inventoryLevel).toMatchObject({ onHand: 5, reserved: 5, available: 0, status: 'OUT_OF_STOCK' });
    const zero = await m('inventoryAdjust', ADJUST, { input: { ...a, delta: 0, reason: 'OTHER' } });
    expect(zero.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'delta'], message: 'delta must not be 0' });
    await expectInvariants();
  });

  test('a result above 2,147,483,647 is QUANTITY_OUT_OF_RANGE, never a database error', async () => {
    const s = await stockedSku(t.gql, 2147483647);
    const r = await m('inventoryAdjust', ADJUST, { input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RECEIVED' } });
    expect(r.userErrors).toEqual([
      { code: 'QUANTITY_OUT_OF_RANGE', field: ['input'], message: 'The result would be outside 0..2147483647. Current onHand: 2147483647' },
    ]);
    const lu = await m('inventoryLevelUpdate', LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: -1 } });
    expect(lu.userErrors[0]).toMatchObject({ code: 'NEGATIVE_QUANTITY', field: ['input', 'safetyStock'] });
  });
});

describe('inventoryMove', () => {
  test('moves atomically between warehouses with TRANSFER_OUT and TRANSFER_IN ledger rows', async () => {
    const s = await stockedSku(t.gql, 30);
    const to = await createWarehouse(t.gql);
    // Only inventorySet (and bulk SET) creates a level: a move needs the destination level.
    const noLevel = await m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: to.code, quantity: 12 },
    });
    expect(noLevel.userErrors[0]).toMatchObject({ code: 'INVENTORY_NOT_FOUND', field: ['input', 'to'] });
    await setStock(t.gql, s.sku, to.code, 0);
    const r = await m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: to.code, quantity: 12, note: 'rebalance' },
    });
    expect(r.userErrors).toEqual([]);
    expect(r.source).toMatchObject({ onHand: 18 });
    expect(r.destination).toMatchObject({ onHand: 12 });
    expect((await movements(r.source.id)).at(-1)).toMatchObject({ reason: 'TRANSFER_OUT', quantityDelta: -12, note: 'rebalance' });
    expect((await movements(r.destination.id)).at(-1)).toEqual(
      expect.objectContaining({ reason: 'TRANSFER_IN', quantityDelta: 12, onHandBefore: 0, onHandAfter: 12 }),
    );

    const tooMuch = await m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: to.code, quantity: 19 },
    });
    expect(tooMuch.userErrors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK', field: ['input', 'from'] });
    const same = await m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: s.warehouseCode, quantity: 1 },
    });
    expect(same.userErrors[0].code).toBe('SAME_WAREHOUSE');
    const ro = await createWarehouse(t.gql, { readOnly: true });
    const toRo = await m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: ro.code, quantity: 1 },
    });
    expect(toRo.userErrors[0]).toMatchObject({ code: 'READONLY_WAREHOUSE', field: ['input', 'to'] });
    // Failed moves changed nothing.
    expect((await level(s.level.id)).onHand).toBe(18);
    await expectInvariants();
  });
});

describe('inventoryLevelUpdate', () => {
  test('thresholds, safety stock and incoming recompute available and status at once (seed 001)', async () => {
    const s = await stockedSku(t.gql, 12);
    const r = await m('inventoryLevelUpdate', LEVEL_UPDATE, {
      input: { inventoryLevelId: s.level.id, lowStockThreshold: 15, criticalThreshold: 5, incoming: 40 },
    });
    expect(r.inventoryLevel).toMatchObject({
      onHand: 12,
      available: 12,
      lowStockThreshold: 15,
      criticalThreshold: 5,
      incoming: 40,
      status: 'LOW_STOCK',
    });
    const r2 = await m('inventoryLevelUpdate', LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: 8 } });
    expect(r2.inventoryLevel).toMatchObject({ available: 4, status: 'CRITICAL' });
    const r3 = await m('inventoryLevelUpdate', LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: 12 } });
    expect(r3.inventoryLevel).toMatchObject({ available: 0, status: 'OUT_OF_STOCK' });
    const r4 = await m('inventoryLevelUpdate', LEVEL_UPDATE, {
      input: { inventoryLevelId: s.level.id, safetyStock: 0, lowStockThreshold: 0, criticalThreshold: 0 },
    });
    expect(r4.inventoryLevel).toMatchObject({ available: 12, status: 'IN_STOCK' });
    // Safety stock protects against adjustments too.
    await m('inventoryLevelUpdate', LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: 10 } });
    const adj = await m('inventoryAdjust', ADJUST, { input: { inventoryLevelId: s.level.id, delta: -3, reason: 'DAMAGED' } });
    expect(adj.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
    // Every settings change is a movement (reason OTHER, quantityDelta 0): onHand stays the sum of the ledger.
    const moves = await movements(s.level.id);
    expect(moves.map((x) => x.reason)).toEqual(['RECEIVED', 'OTHER', 'OTHER', 'OTHER', 'OTHER', 'OTHER']);
    expect(moves.reduce((sum, x) => sum + x.quantityDelta, 0)).toBe(12);
  });
});

describe('reservations', () => {
  test('reserve holds stock; all lines or none; partial release and commit; then closed', async () => {
    const s = await stockedSku(t.gql, 10);
    const other = await stockedSku(t.gql, 2);
    const none = await m('inventoryReserve', RESERVE, {
      input: {
        lines: [
          { sku: s.sku, quantity: 3 },
          { sku: other.sku, quantity: 5 },
        ],
        reference: 'order-0',
      },
    });
    expect(none.reservation).toBeNull();
    expect(none.userErrors).toEqual([
      { code: 'INSUFFICIENT_STOCK', field: ['input', 'lines', '1', 'quantity'], message: 'Line 1: requested 5, only 2 available' },
    ]);
    expect((await level(s.level.id)).reserved).toBe(0);

    const r = await m('inventoryReserve', RESERVE, {
      input: {
        lines: [
          { sku: s.sku, quantity: 6 },
          { sku: other.sku, quantity: 2 },
        ],
        reference: 'order-1',
        ttlSeconds: 300,
      },
    });
    expect(r.userErrors).toEqual([]);
    expect(r.reservation).toMatchObject({ status: 'ACTIVE', reference: 'order-1' });
    expect(Date.parse(r.reservation.expiresAt) - Date.now()).toBeGreaterThan(290_000);
    const [l0] = r.reservation.lines;
    expect(l0).toMatchObject({ quantity: 6, status: 'ACTIVE', inventoryLevel: { onHand: 10, reserved: 6, available: 4 } });

    const rel = await m('reservationRelease', RELEASE, {
      input: { reservationId: r.reservation.id, lines: [{ lineId: l0.id, quantity: 2 }] },
    });
    expect(rel.reservation.lines[0]).toMatchObject({
      quantity: 4,
      releasedQuantity: 2,
      status: 'ACTIVE',
      inventoryLevel: { reserved: 4, available: 6 },
    });
    const over = await m('reservationCommit', COMMIT, {
      input: { reservationId: r.reservation.id, lines: [{ lineId: l0.id, quantity: 5 }] },
    });
    expect(over.userErrors).toEqual([
      { code: 'EXCEEDS_RESERVED', field: ['input', 'lines'], message: 'Cannot commit 5: the line holds 4' },
    ]);
    const wrongLine = await m('reservationCommit', COMMIT, {
      input: { reservationId: r.reservation.id, lines: [{ lineId: 'UmVzZXJ2YXRpb25MaW5lOm5vcGU', quantity: 1 }] },
    });
    expect(wrongLine.userErrors[0].code).toBe('RESERVATION_LINE_NOT_FOUND');

    const com = await m('reservationCommit', COMMIT, {
      input: { reservationId: r.reservation.id, lines: [{ lineId: l0.id, quantity: 3 }] },
    });
    expect(com.reservation.lines[0]).toMatchObject({
      quantity: 1,
      committedQuantity: 3,
      inventoryLevel: { onHand: 7, reserved: 1, available: 6 },
    });
    const all = await m('reservationCommit', COMMIT, { input: { reservationId: r.reservation.id } });
    expect(all.reservation.status).toBe('COMMITTED');
    expect(all.reservation.lines.map((l: any) => l.status)).toEqual(['COMMITTED', 'COMMITTED']);
    expect(all.reservation.lines[1]).toMatchObject({ committedQuantity: 2, inventoryLevel: { onHand: 0, reserved: 0 } });
    const again = await m('reservationRelease', RELEASE, { input: { reservationId: r.reservation.id } });
    expect(again.userErrors[0].code).toBe('RESERVATION_NOT_ACTIVE');
    const missing = await m('reservationRelease', RELEASE, {
      input: { reservationId: 'UmVzZXJ2YXRpb246MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw' },
    });
    expect(missing.userErrors[0].code).toBe('RESERVATION_NOT_FOUND');
    expect((await movements(l0.inventoryLevel.id)).map((x) => [x.reason, x.quantityDelta, x.reservedDelta])).toEqual([
      ['RECEIVED', 10, 0],
      ['RESERVATION', 0, 6],
      ['RELEASE', 0, -2],
      ['COMMIT', -3, -3],
      ['COMMIT', -1, -1],
    ]);
    await expectInvariants();
  });

  test('a line without a warehouse is allocated by priority and may split; read-only and inactive warehouses are skipped', async () => {
    const first = await createWarehouse(t.gql, { priority: 1 });
    const second = await createWarehouse(t.gql, { priority: 2 });
    const ro = await createWarehouse(t.gql, { priority: 0, readOnly: true });
    const off = await createWarehouse(t.gql, { priority: 0 });
    const p = await createProduct(t.gql);
    const sku = p.skus[0];
    await setStock(t.gql, sku, first.code, 3);
    await setStock(t.gql, sku, second.code, 10);
    await setStock(t.gql, sku, off.code, 50);
    await ok(t.gql(`mutation($id: ID!) { warehouseUpdate(id: $id, input: { active: false }) { userErrors { code } } }`, { id: off.id }));
    const r = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku, quantity: 5 }] } });
    expect(r.userErrors).toEqual([]);
    expect(r.reservation.lines.map((l: any) => [l.inventoryLevel.warehouse.code, l.quantity])).toEqual([
      [first.code, 3],
      [second.code, 2],
    ]);
    const inactive = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku, warehouseCode: off.code, quantity: 1 }] } });
    expect(inactive.userErrors[0]).toMatchObject({ code: 'INACTIVE_WAREHOUSE', field: ['input', 'lines', '0', 'warehouseCode'] });
    const readOnly = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku, warehouseCode: ro.code, quantity: 1 }] } });
    expect(readOnly.userErrors[0].code).toMatch(/READONLY_WAREHOUSE|INVENTORY_NOT_FOUND/);
    const tooMuch = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku, quantity: 9 }] } });
    expect(tooMuch.userErrors[0].message).toBe('Line 0: requested 9, only 8 available');
  });

  test('bad reservation input: ttl, empty lines, unknown sku, zero quantity', async () => {
    const s = await stockedSku(t.gql, 5);
    const ttl = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 1 }], ttlSeconds: 3601 } });
    expect(ttl.userErrors).toEqual([
      { code: 'INVALID_TTL', field: ['input', 'ttlSeconds'], message: 'ttlSeconds must be between 1 and 3600' },
    ]);
    const empty = await m('inventoryReserve', RESERVE, { input: { lines: [] } });
    expect(empty.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'lines'] });
    const unknown = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: 'nope-' + uniq('s'), quantity: 1 }] } });
    expect(unknown.userErrors[0]).toMatchObject({ code: 'VARIANT_NOT_FOUND', field: ['input', 'lines', '0', 'sku'] });
    const zero = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 0 }] } });
    expect(zero.userErrors[0]).toMatchObject({ code: 'NEGATIVE_QUANTITY' });
    const many = await m('inventoryReserve', RESERVE, {
      input: { lines: Array.from({ length: 101 }, () => ({ sku: s.sku, quantity: 1 })) },
    });
    expect(many.userErrors.map((e: UE) => e.code)).toContain('TOO_MANY_ITEMS');
  });

  test('expired holds stop counting at once; the sweeper marks them EXPIRED with ledger rows; late commit only from available stock', async () => {
    const s = await stockedSku(t.gql, 5);
    const r = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 4 }], ttlSeconds: 1 } });
    expect((await level(s.level.id)).reserved).toBe(4);
    await pastExpiry(r.reservation);
    // Before or after the sweeper: reads no longer count the hold.
    expect(await level(s.level.id)).toMatchObject({ reserved: 0, available: 5 });
    const rel = await m('reservationRelease', RELEASE, { input: { reservationId: r.reservation.id } });
    expect(rel.userErrors[0].code).toBe('RESERVATION_EXPIRED');

    // Someone else takes 3 of the 5: the late commit of 4 can no longer be served.
    await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 3 }] } });
    const late = await m('reservationCommit', COMMIT, { input: { reservationId: r.reservation.id } });
    expect(late.userErrors).toEqual([
      {
        code: 'RESERVATION_EXPIRED',
        field: ['input', 'reservationId'],
        message: 'The reservation expired and the stock is no longer available',
      },
    ]);

    // The sweeper (every 200 ms here) has written the EXPIRY movement.
    await eventually('the EXPIRY movement', async () => (await movements(s.level.id)).some((x) => x.reason === 'EXPIRY'));
    expect((await movements(s.level.id)).find((x) => x.reason === 'EXPIRY')).toMatchObject({
      quantityDelta: 0,
      reservedDelta: -4,
      actor: 'system:expiry',
    });
    const status = await ok(
      t.gql(`query($id: ID!) { reservation(id: $id) { status lines { status expiredQuantity } } }`, { id: r.reservation.id }),
    );
    expect(status.reservation).toEqual({ status: 'EXPIRED', lines: [{ status: 'EXPIRED', expiredQuantity: 4 }] });

    // With stock available again, a late commit succeeds as a sale from available stock.
    const r2 = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 2 }], ttlSeconds: 1 } });
    await pastExpiry(r2.reservation);
    const ok2 = await m('reservationCommit', COMMIT, { input: { reservationId: r2.reservation.id } });
    expect(ok2.userErrors).toEqual([]);
    expect(ok2.reservation.status).toBe('COMMITTED');
    expect(await level(s.level.id)).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
    await expectInvariants();
  });

  test("the sweeper's queries read only due rows through an index, never a whole table", async () => {
    // It runs every few hundred milliseconds on every instance: a sequential scan of reservations
    // or reservation_lines there grows with the whole history (this is how one was found).
    const c = await t.gateway.app.db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off');
      for (const sql of [DUE_LEVELS_SQL, SPENT_RESERVATIONS_SQL]) {
        const plan = JSON.stringify((await c.query(`EXPLAIN (FORMAT JSON) ${sql}`, [500])).rows[0]);
        const scans = [...plan.matchAll(/"Node Type":"([^"]*Scan)"[^{}]*?"Relation Name":"(reservations|reservation_lines)"/g)].map(
          (x) => `${x[1]} on ${x[2]}`,
        );
        expect(scans.length).toBeGreaterThan(0);
        expect(scans.filter((x) => x.startsWith('Seq Scan'))).toEqual([]);
      }
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
  });
});

describe('idempotency keys', () => {
  test('same key + same input replays without applying; a different input is IDEMPOTENCY_KEY_REUSED', async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('idem');
    const input = { sku: s.sku, warehouseCode: s.warehouseCode, delta: -2, reason: 'SALE', idempotencyKey: key };
    const first = await m('inventoryAdjust', ADJUST, { input });
    const again = await m('inventoryAdjust', ADJUST, { input });
    expect(first.idempotentReplay).toBe(false);
    expect(again.idempotentReplay).toBe(true);
    expect(again.inventoryLevel).toEqual(first.inventoryLevel);
    expect((await level(s.level.id)).onHand).toBe(8);
    const reused = await m('inventoryAdjust', ADJUST, { input: { ...input, delta: -3 } });
    expect(reused.userErrors).toEqual([
      {
        code: 'IDEMPOTENCY_KEY_REUSED',
        field: ['input', 'idempotencyKey'],
        message: 'This idempotency key was already used for a different request',
      },
    ]);
    const otherOp = await m('inventorySet', SET, {
      input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 1, idempotencyKey: key },
    });
    expect(otherOp.userErrors[0]).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: 'This idempotency key was already used for a different operation',
    });
    expect((await movements(s.level.id)).filter((x) => x.idempotencyKey === key)).toHaveLength(1);

    // A business failure is a result too: it replays, and does not apply later even if it could.
    const rkey = uniq('idem');
    const failed = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 9 }], idempotencyKey: rkey } });
    expect(failed.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
    await m('inventoryAdjust', ADJUST, { input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 5, reason: 'RECEIVED' } });
    const replayFail = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 9 }], idempotencyKey: rkey } });
    expect(replayFail).toMatchObject({
      idempotentReplay: true,
      reservation: null,
      userErrors: [expect.objectContaining({ code: 'INSUFFICIENT_STOCK' })],
    });
  });

  test('concurrent requests with one key: one applies, the others are in progress or replays', async () => {
    const s = await stockedSku(t.gql, 100);
    const key = uniq('idem');
    const input = { lines: [{ sku: s.sku, quantity: 1 }], idempotencyKey: key };
    const rs = await Promise.all(Array.from({ length: 12 }, () => m('inventoryReserve', RESERVE, { input })));
    const applied = rs.filter((r) => r.reservation && !r.idempotentReplay);
    expect(applied).toHaveLength(1);
    for (const r of rs) {
      if (r.userErrors.length) expect(r.userErrors.map((e: UE) => e.code)).toEqual(['IDEMPOTENCY_KEY_IN_PROGRESS']);
      else expect(r.reservation.id).toBe(applied[0].reservation.id);
    }
    expect((await level(s.level.id)).reserved).toBe(1);
  });

  // PostgreSQL only: embedded PGlite has one backend session, where an advisory lock cannot be held
  // against ourselves. Requests are serialised by the single connection instead, so the code cannot
  // occur there.
  (usingPostgres ? test : test.skip)('IDEMPOTENCY_KEY_IN_PROGRESS while the first request still holds the key', async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('idem');
    const { pool } = t.gateway.app.db;
    // Hold the key's claim the way a running request does, from another connection.
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, [`${t.store.storeId}:${key}`]);
      const r = await m('inventoryAdjust', ADJUST, {
        input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RECEIVED', idempotencyKey: key },
      });
      expect(r.userErrors).toEqual([
        {
          code: 'IDEMPOTENCY_KEY_IN_PROGRESS',
          field: ['input', 'idempotencyKey'],
          message: 'A request with this idempotency key is still in progress; retry shortly',
        },
      ]);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
    const after = await m('inventoryAdjust', ADJUST, {
      input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RECEIVED', idempotencyKey: key },
    });
    expect(after.inventoryLevel.onHand).toBe(11);
  });
});

describe('inventoryBulkUpdate', () => {
  test('REJECT_FAILED_ROWS applies the good rows; REJECT_EVERYTHING applies nothing', async () => {
    const wh = await createWarehouse(t.gql);
    const ro = await createWarehouse(t.gql, { readOnly: true });
    const ext = uniq('EXT');
    const p = await createProduct(t.gql, { skus: [uniq('A'), uniq('B')], externalId: ext, labels: ['Large', 'Small'] });
    const amb = await createProduct(t.gql, { skus: [uniq('C'), uniq('D')], labels: ['Same', 'same'] });
    const items = [
      { mode: 'SET', sku: p.skus[0], warehouseCode: wh.code, quantity: 10 },
      { mode: 'SET', productExternalId: ext, variantLabel: 'small', warehouseCode: wh.code, quantity: 4 },
      { mode: 'ADJUST', sku: p.skus[0], warehouseCode: wh.code, delta: -50 },
      { mode: 'SET', sku: p.skus[0], warehouseCode: ro.code, quantity: 1 },
      { mode: 'SET', productExternalId: 'nope-' + ext, warehouseCode: wh.code, quantity: 1 },
      { mode: 'SET', productExternalId: amb.externalId, variantLabel: 'SAME', warehouseCode: wh.code, quantity: 1 },
      { mode: 'SET', sku: p.skus[1], warehouseCode: 'NOPE', quantity: 1 },
      { mode: 'ADJUST', sku: p.skus[1], warehouseCode: wh.code, quantity: 1 },
    ];
    const atomic = await m('inventoryBulkUpdate', BULK, { input: { items, errorPolicy: 'REJECT_EVERYTHING' } });
    expect(atomic).toMatchObject({ updatedCount: 0, failedCount: 6 });
    expect(atomic.userErrors[0]).toMatchObject({
      code: 'INVALID_INPUT',
      message: '6 item(s) failed; nothing was applied (errorPolicy REJECT_EVERYTHING)',
    });
    expect(atomic.results.every((r: any) => r.inventoryLevel === null)).toBe(true);
    const lv = await t.gateway.app.db.pool.query(
      `SELECT count(*)::int AS n FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id WHERE w.code = $1`,
      [wh.code],
    );
    expect(lv.rows[0].n).toBe(0);

    const partial = await m('inventoryBulkUpdate', BULK, { input: { items, errorPolicy: 'REJECT_FAILED_ROWS', reason: 'CYCLE_COUNT' } });
    expect(partial).toMatchObject({ updatedCount: 2, failedCount: 6, userErrors: [] });
    const codes = partial.results.map((r: any) => r.userErrors.map((e: UE) => e.code).join(','));
    expect(codes).toEqual([
      '',
      '',
      'INSUFFICIENT_STOCK',
      'READONLY_WAREHOUSE',
      'PRODUCT_NOT_FOUND',
      'VARIANT_LABEL_AMBIGUOUS',
      'WAREHOUSE_NOT_FOUND',
      'INVALID_INPUT',
    ]);
    expect(partial.results[0].inventoryLevel).toMatchObject({ onHand: 10 });
    expect(partial.results[1].inventoryLevel).toMatchObject({ onHand: 4 });
    expect(partial.results[6].userErrors[0].field).toEqual(['input', 'items', '6', 'warehouseCode']);
    await expectInvariants();
  });

  test('more than 500 items is TOO_MANY_ITEMS before anything is applied', async () => {
    const s = await stockedSku(t.gql, 1);
    const items = Array.from({ length: 501 }, () => ({ mode: 'SET', sku: s.sku, warehouseCode: s.warehouseCode, quantity: 7 }));
    const r = await m('inventoryBulkUpdate', BULK, { input: { items, errorPolicy: 'REJECT_FAILED_ROWS' } });
    expect(r.userErrors).toEqual([
      { code: 'TOO_MANY_ITEMS', field: ['input', 'items'], message: 'At most 500 items per request, got 501' },
    ]);
    expect((await level(s.level.id)).onHand).toBe(1);
  });
});

describe('catalogue', () => {
  test('create and update products, variants and warehouses; duplicates are TAKEN; unknown ids are NOT_FOUND codes', async () => {
    const sku = uniq('SKU');
    const created = await m(
      'productCreate',
      `mutation($input: ProductCreateInput!) { productCreate(input: $input) {
        product { id name active } userErrors { code field message } } }`,
      { input: { name: 'Lonely', sku } },
    );
    expect(created.product).toMatchObject({ name: 'Lonely', active: true });
    const dv = await ok(t.gql(`query($sku: String!) { variant(sku: $sku) { sku label isDefault product { id } } }`, { sku }));
    expect(dv.variant).toEqual({ sku, label: 'Default', isDefault: true, product: { id: created.product.id } });
    const dup = await m(
      'productCreate',
      `mutation($input: ProductCreateInput!) { productCreate(input: $input) { product { id } userErrors { code field message } } }`,
      {
        input: { name: 'Again', sku },
      },
    );
    expect(dup.userErrors[0]).toMatchObject({ code: 'TAKEN' });
    const upd = await m(
      'productUpdate',
      `mutation($id: ID!) { productUpdate(id: $id, input: { name: "Renamed", active: false }) { product { name active } userErrors { code } } }`,
      {
        id: created.product.id,
      },
    );
    expect(upd.product).toEqual({ name: 'Renamed', active: false });
    const nf = await m(
      'productUpdate',
      `mutation($id: ID!) { productUpdate(id: $id, input: { name: "x" }) { product { id } userErrors { code } } }`,
      { id: 'bm9wZQ' },
    );
    expect(nf.userErrors[0].code).toBe('PRODUCT_NOT_FOUND');

    const v = await m(
      'variantCreate',
      `mutation($p: ID!, $input: VariantInput!) { variantCreate(productId: $p, input: $input) { variant { id sku label } userErrors { code } } }`,
      {
        p: created.product.id,
        input: { sku: uniq('V'), options: [{ name: 'Size', value: 'L' }] },
      },
    );
    expect(v.variant.label).toBe('L');
    const vu = await m(
      'variantUpdate',
      `mutation($id: ID!) { variantUpdate(id: $id, input: { label: "Large" }) { variant { label } userErrors { code } } }`,
      { id: v.variant.id },
    );
    expect(vu.variant.label).toBe('Large');
    const vnf = await m(
      'variantUpdate',
      `mutation($id: ID!) { variantUpdate(id: $id, input: { label: "x" }) { variant { id } userErrors { code } } }`,
      { id: 'bm9wZQ' },
    );
    expect(vnf.userErrors[0].code).toBe('VARIANT_NOT_FOUND');

    const wh = await createWarehouse(t.gql, { type: 'THIRD_PARTY', priority: 7, address: '1 Dock Rd' });
    const whDup = await m(
      'warehouseCreate',
      `mutation($input: WarehouseInput!) { warehouseCreate(input: $input) { warehouse { id } userErrors { code field } } }`,
      {
        input: { code: wh.code, name: 'dup' },
      },
    );
    expect(whDup.userErrors[0]).toMatchObject({ code: 'TAKEN', field: ['input', 'code'] });
    const whNf = await m(
      'warehouseUpdate',
      `mutation($id: ID!) { warehouseUpdate(id: $id, input: { name: "x" }) { warehouse { id } userErrors { code } } }`,
      { id: 'bm9wZQ' },
    );
    expect(whNf.userErrors[0].code).toBe('WAREHOUSE_NOT_FOUND');
  });
});

const PRODUCT_UPDATE = `mutation($id: ID!) { productUpdate(id: $id, input: { name: "x" }) { product { id } userErrors { code field message } } }`;
const VARIANT_UPDATE = `mutation($id: ID!) { variantUpdate(id: $id, input: { label: "x" }) { variant { id } userErrors { code field message } } }`;
const WAREHOUSE_UPDATE = `mutation($id: ID!, $input: WarehouseInput!) { warehouseUpdate(id: $id, input: $input) { warehouse { id } userErrors { code field message } } }`;
const WAREHOUSE_CREATE = `mutation($input: WarehouseInput!) { warehouseCreate(input: $input) { warehouse { id } userErrors { code field message } } }`;
const NO_LEVEL = 'SW52ZW50b3J5TGV2ZWw6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw';
const NO_RESERVATION = 'UmVzZXJ2YXRpb246MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw';

type Payload = { userErrors: UE[]; results?: { userErrors: UE[] }[] };
const codesOf = (p: Payload) => [...p.userErrors, ...(p.results ?? []).flatMap((r) => r.userErrors)].map((e) => e.code);
const at = (s: { sku: string; warehouseCode: string }) => ({ sku: s.sku, warehouseCode: s.warehouseCode });
const reserve = async (sku: string, quantity: number, extra: Record<string, unknown> = {}) => {
  const r = await m('inventoryReserve', RESERVE, { input: { lines: [{ sku, quantity }], ...extra } });
  expect(r.userErrors).toEqual([]);
  return r.reservation;
};

/** One minimal request per ErrorCode, each on data of its own (webhook codes: test/e2e/webhooks*.test.ts). */
const TRIGGERS: Partial<Record<ErrorCode, () => Promise<Payload>>> = {
  INVALID_INPUT: async () => m('inventoryAdjust', ADJUST, { input: { ...at(await stockedSku(t.gql, 1)), delta: 0, reason: 'OTHER' } }),
  PRODUCT_NOT_FOUND: () => m('productUpdate', PRODUCT_UPDATE, { id: 'bm9wZQ' }),
  VARIANT_NOT_FOUND: () => m('variantUpdate', VARIANT_UPDATE, { id: 'bm9wZQ' }),
  VARIANT_LABEL_AMBIGUOUS: async () => {
    const wh = await createWarehouse(t.gql);
    const amb = await createProduct(t.gql, { skus: [uniq('C'), uniq('D')], labels: ['Same', 'same'] });
    const item = { mode: 'SET', productExternalId: amb.externalId, variantLabel: 'SAME', warehouseCode: wh.code, quantity: 1 };
    return m('inventoryBulkUpdate', BULK, { input: { items: [item], errorPolicy: 'REJECT_FAILED_ROWS' } });
  },
  WAREHOUSE_NOT_FOUND: () => m('warehouseUpdate', WAREHOUSE_UPDATE, { id: 'bm9wZQ', input: { name: 'x' } }),
  INVENTORY_NOT_FOUND: () => m('inventorySet', SET, { input: { inventoryLevelId: NO_LEVEL, quantity: 1 } }),
  RESERVATION_NOT_FOUND: () => m('reservationRelease', RELEASE, { input: { reservationId: NO_RESERVATION } }),
  RESERVATION_LINE_NOT_FOUND: async () => {
    const r = await reserve((await stockedSku(t.gql, 2)).sku, 1);
    return m('reservationCommit', COMMIT, {
      input: { reservationId: r.id, lines: [{ lineId: 'UmVzZXJ2YXRpb25MaW5lOm5vcGU', quantity: 1 }] },
    });
  },
  READONLY_WAREHOUSE: async () => {
    const ro = await createWarehouse(t.gql, { readOnly: true });
    return m('inventorySet', SET, { input: { sku: (await createProduct(t.gql)).skus[0], warehouseCode: ro.code, quantity: 5 } });
  },
  INACTIVE_WAREHOUSE: async () => {
    const off = await createWarehouse(t.gql);
    const s = await stockedSku(t.gql, 5, off);
    expect((await m('warehouseUpdate', WAREHOUSE_UPDATE, { id: off.id, input: { active: false } })).userErrors).toEqual([]);
    return m('inventoryReserve', RESERVE, { input: { lines: [{ ...at(s), quantity: 1 }] } });
  },
  SAME_WAREHOUSE: async () => {
    const s = await stockedSku(t.gql, 3);
    return m('inventoryMove', MOVE, {
      input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: s.warehouseCode, quantity: 1 },
    });
  },
  INSUFFICIENT_STOCK: async () =>
    m('inventoryAdjust', ADJUST, { input: { ...at(await stockedSku(t.gql, 3)), delta: -4, reason: 'DAMAGED' } }),
  NEGATIVE_QUANTITY: async () => m('inventorySet', SET, { input: { ...at(await stockedSku(t.gql, 3)), quantity: -1 } }),
  QUANTITY_BELOW_RESERVED: async () => {
    const s = await stockedSku(t.gql, 10);
    await reserve(s.sku, 4);
    return m('inventorySet', SET, { input: { ...at(s), quantity: 3 } });
  },
  QUANTITY_OUT_OF_RANGE: async () =>
    m('inventoryAdjust', ADJUST, { input: { ...at(await stockedSku(t.gql, 2147483647)), delta: 1, reason: 'RECEIVED' } }),
  COMPARE_QUANTITY_STALE: async () =>
    m('inventorySet', SET, { input: { ...at(await stockedSku(t.gql, 10)), quantity: 50, compareQuantity: 9 } }),
  EXCEEDS_RESERVED: async () => {
    const r = await reserve((await stockedSku(t.gql, 10)).sku, 4);
    return m('reservationCommit', COMMIT, { input: { reservationId: r.id, lines: [{ lineId: r.lines[0].id, quantity: 5 }] } });
  },
  RESERVATION_EXPIRED: async () => {
    const r = await reserve((await stockedSku(t.gql, 5)).sku, 1, { ttlSeconds: 1 });
    // Until the database's clock has passed the expiry (the sweeper may or may not have run yet).
    await pastExpiry(r);
    return m('reservationRelease', RELEASE, { input: { reservationId: r.id } });
  },
  RESERVATION_NOT_ACTIVE: async () => {
    const r = await reserve((await stockedSku(t.gql, 5)).sku, 1);
    expect((await m('reservationRelease', RELEASE, { input: { reservationId: r.id } })).userErrors).toEqual([]);
    return m('reservationRelease', RELEASE, { input: { reservationId: r.id } });
  },
  INVALID_TTL: async () =>
    m('inventoryReserve', RESERVE, { input: { lines: [{ sku: (await stockedSku(t.gql, 5)).sku, quantity: 1 }], ttlSeconds: 3601 } }),
  SHIP_TO_NOT_SERVED: async () => {
    const s = await stockedSku(t.gql, 5, await createWarehouse(t.gql, { servesCountries: ['FR'] }));
    return m('inventoryReserve', RESERVE, { input: { lines: [{ sku: s.sku, quantity: 1 }], shipTo: { countryCode: 'DE' } } });
  },
  TOO_MANY_ITEMS: async () => {
    const s = await stockedSku(t.gql, 1);
    return m('inventoryBulkUpdate', BULK, {
      input: { items: Array.from({ length: 501 }, () => ({ mode: 'SET', ...at(s), quantity: 7 })), errorPolicy: 'REJECT_FAILED_ROWS' },
    });
  },
  TAKEN: async () => m('warehouseCreate', WAREHOUSE_CREATE, { input: { code: (await createWarehouse(t.gql)).code, name: 'dup' } }),
  IDEMPOTENCY_KEY_REUSED: async () => {
    const input = { ...at(await stockedSku(t.gql, 10)), delta: -2, reason: 'SALE', idempotencyKey: uniq('idem') };
    expect((await m('inventoryAdjust', ADJUST, { input })).userErrors).toEqual([]);
    return m('inventoryAdjust', ADJUST, { input: { ...input, delta: -3 } });
  },
  IDEMPOTENCY_KEY_IN_PROGRESS: async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('idem');
    // Hold the key's claim the way a running request does, from another connection.
    const c = await t.gateway.app.db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, [`${t.store.storeId}:${key}`]);
      return await m('inventoryAdjust', ADJUST, { input: { ...at(s), delta: 1, reason: 'RECEIVED', idempotencyKey: key } });
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  },
};

describe('every ErrorCode is returned by some request (each case on its own data, in any order)', () => {
  const elsewhere = [
    'WEBHOOK_NOT_FOUND',
    'WEBHOOK_DELIVERY_NOT_FOUND',
    'WEBHOOK_URL_FORBIDDEN',
    // Inbound shipments and transfers: each triggered in test/e2e/inbound.test.ts.
    'INBOUND_SHIPMENT_NOT_FOUND',
    'INBOUND_LINE_NOT_FOUND',
    'INBOUND_SHIPMENT_CLOSED',
    'OVER_RECEIPT',
    'QUANTITY_BELOW_RECEIVED',
    'INCOMING_BELOW_OPEN_INBOUND',
    'TRANSFER_NOT_FOUND',
    'TRANSFER_LINE_NOT_FOUND',
    'TRANSFER_CLOSED',
    'EXCEEDS_IN_TRANSIT',
    // Lowering incoming below what preorders were sold against: test/e2e/preorder-cover.test.ts.
    'PREORDERS_UNCOVERED',
  ];

  test('every code has a case here or is covered in test/e2e/webhooks*.test.ts, inbound.test.ts or preorder-cover.test.ts', () => {
    expect([...Object.keys(TRIGGERS), ...elsewhere].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  for (const [code, trigger] of Object.entries(TRIGGERS)) {
    // IDEMPOTENCY_KEY_IN_PROGRESS cannot occur on PGlite (see 'idempotency keys' above).
    const run = usingPostgres || code !== ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS ? test : test.skip;
    run(code, async () => {
      expect(codesOf(await trigger!())).toContain(code);
    });
  }
});
