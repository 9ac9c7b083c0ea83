/**
 * Keyed adjustments (inventoryAdjust with an idempotency key) in the group-committed adjustment
 * statement (src/modules/inventory/adjust-batch.ts, ADJUST_BATCH_SQL's `claim`): served by the
 * shared statement when the key is free, with the answer recorded under the key in the same
 * transaction; replayed, refused as reused or left in progress by the general path exactly as
 * before. Counted with the gateway's inventory_batched_requests_total. The answers' equivalence
 * with the general path, on twin databases, is test/e2e/adjust-batch.test.ts's.
 */
import { decodeId } from '../../src/graphql/ids';
import { tuningEnv } from '../../src/config/tuning';
import { adjustLevels, purgeExpiredKeys, WRITER_STATEMENTS, type AdjustRequest } from '../../src/modules/stock';
import { usingPostgres } from '../helpers/db';
import { ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { stockedSku, uniq } from '../helpers/factories';
import { keyRecordedAfter, OTHER_RESPONSE, storedResponse, whileKeyHeld } from '../helpers/keys';
import { batchOutcomes } from '../helpers/observability';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  // No sweeper: the purge of expired keys is run by the test below, at the moment it needs.
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ SWEEP_INTERVAL_MS: 3_600_000 }) });
});
afterAll(async () => {
  await t?.stop();
});

const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) {
  inventoryLevel { id onHand reserved available status version updatedAt }
  userErrors { code field message } idempotentReplay } }`;

const adjust = async (sku: string, warehouseCode: string, delta: number, idempotencyKey: string) =>
  (await ok(t.gql(ADJUST, { input: { sku, warehouseCode, delta, reason: 'RECEIVED', idempotencyKey } }))).inventoryAdjust;

const db = () => t.gateway.app.db.pool;
const level = async (levelId: string) =>
  (await db().query(`SELECT on_hand, version FROM inventory_levels WHERE id = $1`, [decodeId(levelId, 'InventoryLevel')])).rows[0];
const adjustOutcomes = () => batchOutcomes('adjust');

test('keyed adjustments of one level are all served by the shared statement; each key replays its own answer', async () => {
  const s = await stockedSku(t.gql, 10);
  const keys = Array.from({ length: 40 }, () => uniq('receipt'));
  const before = await adjustOutcomes();
  const first = await Promise.all(keys.map((k) => adjust(s.sku, s.warehouseCode, 2, k)));
  const mid = await adjustOutcomes();
  expect(mid.served - before.served).toBe(40);
  expect(mid.generalPath - before.generalPath).toBe(0);
  for (const r of first) {
    expect(r.userErrors).toEqual([]);
    expect(r.idempotentReplay).toBe(false);
  }
  // One chain of versions: each answer is its own change.
  expect(first.map((r) => r.inventoryLevel.onHand).sort((a, b) => a - b)).toEqual(keys.map((_, i) => 12 + 2 * i));

  // The same requests again: each is its stored answer, field for field (the general path replays).
  const again = await Promise.all(keys.map((k) => adjust(s.sku, s.warehouseCode, 2, k)));
  for (const [i, r] of again.entries()) {
    expect(r.idempotentReplay).toBe(true);
    expect(r.inventoryLevel).toEqual(first[i].inventoryLevel);
    expect(r.userErrors).toEqual([]);
  }
  const after = await adjustOutcomes();
  expect(after.served - mid.served).toBe(0);
  expect(after.generalPath - mid.generalPath).toBe(40);

  // Written once each: the counter, the ledger rows and the stored answers carry the keys.
  expect(await level(s.level.id)).toMatchObject({ on_hand: 90 });
  const count = async (sql: string) => Number((await db().query(sql, [t.store.storeId, keys])).rows[0].n);
  expect(
    await count(`SELECT count(*) AS n FROM stock_movements WHERE store_id = $1 AND idempotency_key = ANY($2) AND reason = 'RECEIVED'`),
  ).toBe(40);
  expect(
    await count(`SELECT count(*) AS n FROM idempotency_keys WHERE store_id = $1 AND key = ANY($2) AND operation = 'inventoryAdjust'`),
  ).toBe(40);

  // A key is bound to its request.
  const reused = await adjust(s.sku, s.warehouseCode, 3, keys[0]);
  expect(reused.inventoryLevel).toBeNull();
  expect(reused.userErrors).toEqual([
    {
      code: 'IDEMPOTENCY_KEY_REUSED',
      field: ['input', 'idempotencyKey'],
      message: 'This idempotency key was already used for a different request',
    },
  ]);
});

test('a refused keyed adjustment is recorded by the shared statement: its replay is the refusal, even after stock came in', async () => {
  const s = await stockedSku(t.gql, 3);
  const key = uniq('writeoff');
  const before = await adjustOutcomes();
  const refused = await adjust(s.sku, s.warehouseCode, -5, key);
  expect((await adjustOutcomes()).served - before.served).toBe(1);
  expect(refused.inventoryLevel).toBeNull();
  expect(refused.userErrors.map((e: { code: string }) => e.code)).toEqual(['INSUFFICIENT_STOCK']);
  await adjust(s.sku, s.warehouseCode, 10, uniq('receipt'));
  const replay = await adjust(s.sku, s.warehouseCode, -5, key);
  expect(replay).toEqual({ ...refused, idempotentReplay: true });
  expect(await level(s.level.id)).toMatchObject({ on_hand: 13 });
});

test('one key sent many times at once: one change; every other answer is its replay or IDEMPOTENCY_KEY_IN_PROGRESS', async () => {
  const s = await stockedSku(t.gql, 10);
  const key = uniq('receipt');
  const rs = await Promise.all(Array.from({ length: 30 }, () => adjust(s.sku, s.warehouseCode, 4, key)));
  const made = rs.filter((r) => r.inventoryLevel && !r.idempotentReplay);
  expect(made).toHaveLength(1);
  for (const r of rs) {
    if (r.userErrors.length) expect(r.userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_KEY_IN_PROGRESS']);
    else expect(r.inventoryLevel).toEqual(made[0].inventoryLevel);
  }
  expect(await level(s.level.id)).toMatchObject({ on_hand: 14 });
});

// PostgreSQL only: embedded PGlite has one backend session, where an advisory lock cannot be held
// against ourselves (see stock-mutations.test.ts).
(usingPostgres ? test : test.skip)(
  'a key held by a running request leaves the batch: IDEMPOTENCY_KEY_IN_PROGRESS, nothing written',
  async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('receipt');
    await whileKeyHeld(t, key, async () => {
      const r = await adjust(s.sku, s.warehouseCode, 1, key);
      expect(r.inventoryLevel).toBeNull();
      expect(r.userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_KEY_IN_PROGRESS']);
    });
    expect(await level(s.level.id)).toMatchObject({ on_hand: 10 });
    const before = await adjustOutcomes();
    expect((await adjust(s.sku, s.warehouseCode, 1, key)).userErrors).toEqual([]);
    expect((await adjustOutcomes()).served - before.served).toBe(1);
  },
);

// PostgreSQL only: a second connection commits while the batch's transaction is open.
(usingPostgres ? test : test.skip)(
  'a key recorded by another request after the statement looked: the batch rolls back, every request is left to the general path',
  async () => {
    const s = await stockedSku(t.gql, 10);
    const key = uniq('receipt');
    const request = (k: string | null): AdjustRequest => ({
      storeId: t.store.storeId,
      levelId: null,
      variantId: null,
      sku: s.sku,
      warehouseId: null,
      warehouseCode: s.warehouseCode,
      delta: 1,
      reason: 'RECEIVED',
      note: null,
      actor: 'test',
      traceparent: null,
      idempotency:
        k == null ? null : { key: k, operation: 'inventoryAdjust', requestHash: 'test', ttlSeconds: 60, response: () => ({ mine: true }) },
    });
    expect(WRITER_STATEMENTS[3]).toContain('claim AS MATERIALIZED');
    await keyRecordedAfter(t, WRITER_STATEMENTS[3], key, 'inventoryAdjust', async (conn) => {
      expect(await adjustLevels(conn, [request(key), request(null)])).toEqual([null, null]);
    });
    expect(await level(s.level.id)).toMatchObject({ on_hand: 10 });
    const moves = await db().query(`SELECT 1 FROM stock_movements WHERE inventory_level_id = $1 AND actor = 'test'`, [
      decodeId(s.level.id, 'InventoryLevel'),
    ]);
    expect(moves.rowCount).toBe(0);
    expect(await storedResponse(t, key)).toEqual(OTHER_RESPONSE);
  },
);

// PostgreSQL only: the purge must wait for another session's uncommitted renewal.
(usingPostgres ? test : test.skip)('the purge of expired keys never deletes a key renewed while it ran', async () => {
  const key = uniq('renewed');
  await db().query(
    `INSERT INTO idempotency_keys (store_id, key, operation, request_hash, response, expires_at)
     VALUES ($1, $2, 'inventoryAdjust', 'old', '{"old":true}', now() - interval '1 second')`,
    [t.store.storeId, key],
  );
  const renew = await db().connect();
  const purge = await db().connect();
  try {
    // A request uses the expired key again: its transaction replaces the row (recordResponses()),
    // and has not committed when the purge, whose snapshot still sees the row expired, reaches it.
    await renew.query('BEGIN');
    const renewed = await renew.query(
      `UPDATE idempotency_keys SET request_hash = 'new', response = '{"new":true}', expires_at = now() + interval '1 day'
        WHERE store_id = $1 AND key = $2`,
      [t.store.storeId, key],
    );
    expect(renewed.rowCount).toBe(1);
    const [{ pid }] = (await purge.query(`SELECT pg_backend_pid() AS pid`)).rows;
    const purged = purgeExpiredKeys({ query: async <T>(sql: string, params?: unknown[]) => (await purge.query(sql, params)).rows as T[] });
    await eventually('the purge to wait for the renewed row', async () => {
      const r = await db().query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid]);
      return r.rows[0]?.wait_event_type === 'Lock';
    });
    await renew.query('COMMIT');
    expect(await purged).toBe(0);
  } finally {
    await renew.query('ROLLBACK').catch(() => undefined);
    renew.release();
    purge.release();
  }
  expect(await storedResponse(t, key)).toEqual({ new: true });
});
