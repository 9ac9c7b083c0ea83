/**
 * Keyed reservations (a checkout with an idempotency key) in the group-committed reservation
 * statement (src/modules/reservations/reserve-batch.ts, RESERVE_BATCH_SQL's `claim`): served by the
 * shared statement when the key is free, with the response recorded under the key in the same
 * transaction; replayed, refused or left in progress by the general path exactly as before.
 * Counted with the gateway's inventory_batched_requests_total.
 */
import { timeOrderedId } from '../../src/db/time-ordered-id';
import { decodeId } from '../../src/graphql/ids';
import { reserveLines, WRITER_STATEMENTS, type ReserveLineRequest } from '../../src/modules/stock';
import { usingPostgres } from '../helpers/db';
import { ok } from '../helpers/gql';
import { stockedSku, uniq } from '../helpers/factories';
import { keyRecordedAfter, OTHER_RESPONSE, storedResponse, whileKeyHeld } from '../helpers/keys';
import { batchOutcomes } from '../helpers/observability';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) {
  reservation { id status reference expiresAt createdAt lines { id quantity originalQuantity status expiredQuantity inventoryLevel { id } } }
  userErrors { code field message } idempotentReplay } }`;

const reserve = async (sku: string, warehouseCode: string, quantity: number, idempotencyKey: string) =>
  (await ok(t.gql(RESERVE, { input: { lines: [{ sku, warehouseCode, quantity }], idempotencyKey, reference: `cart ${idempotencyKey}` } })))
    .inventoryReserve;

const db = () => t.gateway.app.db.pool;
const reservedOn = async (levelId: string) =>
  (await db().query(`SELECT reserved FROM inventory_levels WHERE id = $1`, [decodeId(levelId, 'InventoryLevel')])).rows[0].reserved;

test('keyed checkouts on one hot SKU are all served by the shared statement; each key replays its own answer', async () => {
  const s = await stockedSku(t.gql, 100);
  const keys = Array.from({ length: 40 }, () => uniq('checkout'));
  const before = await batchOutcomes('reserve');
  const first = await Promise.all(keys.map((k) => reserve(s.sku, s.warehouseCode, 1, k)));
  const mid = await batchOutcomes('reserve');
  expect(mid.served - before.served).toBe(40);
  expect(mid.generalPath - before.generalPath).toBe(0);
  for (const [i, r] of first.entries()) {
    expect(r.userErrors).toEqual([]);
    expect(r.idempotentReplay).toBe(false);
    expect(r.reservation).toMatchObject({ status: 'ACTIVE', reference: `cart ${keys[i]}`, lines: [{ quantity: 1, status: 'ACTIVE' }] });
  }
  expect(new Set(first.map((r) => r.reservation.id)).size).toBe(40);

  // The same requests again: each is its stored answer, field for field (the general path replays).
  const again = await Promise.all(keys.map((k) => reserve(s.sku, s.warehouseCode, 1, k)));
  for (const [i, r] of again.entries()) {
    expect(r.idempotentReplay).toBe(true);
    expect(r.reservation).toEqual(first[i].reservation);
    expect(r.userErrors).toEqual([]);
  }
  const after = await batchOutcomes('reserve');
  expect(after.served - mid.served).toBe(0);
  expect(after.generalPath - mid.generalPath).toBe(40);

  // Written once each: the counters, the ledger rows and the reservations carry the keys.
  expect(await reservedOn(s.level.id)).toBe(40);
  const count = async (sql: string) => Number((await db().query(sql, [t.store.storeId, keys])).rows[0].n);
  expect(
    await count(`SELECT count(*) AS n FROM stock_movements WHERE store_id = $1 AND idempotency_key = ANY($2) AND reason = 'RESERVATION'`),
  ).toBe(40);
  expect(await count(`SELECT count(*) AS n FROM reservations WHERE store_id = $1 AND idempotency_key = ANY($2)`)).toBe(40);
  expect(
    await count(`SELECT count(*) AS n FROM idempotency_keys WHERE store_id = $1 AND key = ANY($2) AND operation = 'inventoryReserve'`),
  ).toBe(40);

  // A key is bound to its request.
  const reused = await reserve(s.sku, s.warehouseCode, 2, keys[0]);
  expect(reused.reservation).toBeNull();
  expect(reused.userErrors).toEqual([
    {
      code: 'IDEMPOTENCY_KEY_REUSED',
      field: ['input', 'idempotencyKey'],
      message: 'This idempotency key was already used for a different request',
    },
  ]);
});

test('one key sent many times at once: one reservation; every other answer is its replay or IDEMPOTENCY_KEY_IN_PROGRESS', async () => {
  const s = await stockedSku(t.gql, 100);
  const key = uniq('checkout');
  const rs = await Promise.all(Array.from({ length: 30 }, () => reserve(s.sku, s.warehouseCode, 2, key)));
  const made = rs.filter((r) => r.reservation && !r.idempotentReplay);
  expect(made).toHaveLength(1);
  for (const r of rs) {
    if (r.userErrors.length) expect(r.userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_KEY_IN_PROGRESS']);
    else expect(r.reservation).toEqual(made[0].reservation);
  }
  expect(await reservedOn(s.level.id)).toBe(2);
});

test('an expired key is free again: the shared statement replaces its row, and the new answer replays', async () => {
  const s = await stockedSku(t.gql, 10);
  const key = uniq('checkout');
  const old = await reserve(s.sku, s.warehouseCode, 1, key);
  expect(old.userErrors).toEqual([]);
  await db().query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE store_id = $1 AND key = $2`, [
    t.store.storeId,
    key,
  ]);
  const before = await batchOutcomes('reserve');
  const fresh = await reserve(s.sku, s.warehouseCode, 3, key);
  expect((await batchOutcomes('reserve')).served - before.served).toBe(1);
  expect(fresh).toMatchObject({ userErrors: [], idempotentReplay: false, reservation: { lines: [{ quantity: 3 }] } });
  expect(fresh.reservation.id).not.toBe(old.reservation.id);
  const replay = await reserve(s.sku, s.warehouseCode, 3, key);
  expect(replay.idempotentReplay).toBe(true);
  expect(replay.reservation).toEqual(fresh.reservation);
  expect(await reservedOn(s.level.id)).toBe(4);
});

// PostgreSQL only: embedded PGlite has one backend session, where an advisory lock cannot be held
// against ourselves (see stock-mutations.test.ts).
(usingPostgres ? test : test.skip)(
  'a key held by a running request leaves the batch: IDEMPOTENCY_KEY_IN_PROGRESS, nothing written',
  async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('checkout');
    await whileKeyHeld(t, key, async () => {
      const r = await reserve(s.sku, s.warehouseCode, 1, key);
      expect(r.reservation).toBeNull();
      expect(r.userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_KEY_IN_PROGRESS']);
    });
    expect(await reservedOn(s.level.id)).toBe(0);
    const before = await batchOutcomes('reserve');
    expect((await reserve(s.sku, s.warehouseCode, 1, key)).userErrors).toEqual([]);
    expect((await batchOutcomes('reserve')).served - before.served).toBe(1);
  },
);

// PostgreSQL only: a second connection commits while the batch's transaction is open.
(usingPostgres ? test : test.skip)(
  'a key recorded by another request after the statement looked: the batch rolls back, every request is left to the general path',
  async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('checkout');
    const request = (k: string | null): ReserveLineRequest => ({
      storeId: t.store.storeId,
      variantId: null,
      sku: s.sku,
      warehouseId: null,
      warehouseCode: s.warehouseCode,
      quantity: 1,
      reservationId: timeOrderedId(),
      ttlSeconds: 60,
      reference: null,
      actor: 'test',
      idempotency: k == null ? null : { key: k, operation: 'inventoryReserve', requestHash: 'test', ttlSeconds: 60 },
    });
    expect(WRITER_STATEMENTS[1]).toContain('claim AS MATERIALIZED');
    await keyRecordedAfter(t, WRITER_STATEMENTS[1], key, 'inventoryReserve', async (conn) => {
      expect(await reserveLines(conn, [request(key), request(null)])).toEqual([null, null]);
    });
    expect(await reservedOn(s.level.id)).toBe(0);
    const moves = await db().query(`SELECT 1 FROM stock_movements WHERE inventory_level_id = $1 AND reason = 'RESERVATION'`, [
      decodeId(s.level.id, 'InventoryLevel'),
    ]);
    expect(moves.rowCount).toBe(0);
    expect(await storedResponse(t, key)).toEqual(OTHER_RESPONSE);
  },
);
