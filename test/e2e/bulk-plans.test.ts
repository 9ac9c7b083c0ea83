/**
 * The bulk path (inventoryBulkUpdate, and the CSV import through it) reads the rows its items name
 * by their keys, whatever the planner believes about the store's size. Without ANALYZE (autovacuum
 * off, as on the benchmark machines) the planner estimates a store at a fraction of its rows, and
 * plans that join the batch with the store's levels or variants by hashing or merging them all
 * looked cheaper than one index lookup per item: one batch of 500 CSV rows on a store of 100,000
 * levels read every level and variant of the store twice (a custom plan of the bulk statement,
 * 170 ms, and the level lookup, 30–40 ms, against ~35 ms for the whole bulk statement by key).
 *
 * The test fills a store with LEVELS levels (no statistics: a fresh database, nothing analyzed),
 * then runs one bulk of ITEMS items in a transaction of its own and reads what the transaction read
 * from pg_stat_xact_user_tables. Its statements go through a plain pool (no prepared-statement
 * names): each is planned for its own parameters, as the first executions on every connection are.
 */
import { withTx } from '../../src/db/tx';
import { toGlobalId } from '../../src/graphql/ids';
import type { AuthInfo } from '../../src/graphql/scopes';
import { bulkInTx, type BulkItem } from '../../src/modules/inventory/inventory.bulk';
import { createTestStore } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(120_000);

const LEVELS = 6000;
const ITEMS = 120;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

test(`a bulk of ${ITEMS} items reads about ${ITEMS} levels and variants of a store of ${LEVELS}, not the store`, async () => {
  const store = await createTestStore(t.gateway.app);
  const auth: AuthInfo = {
    keyId: '00000000-0000-4000-8000-000000000001',
    storeId: store.storeId,
    kind: 'sk',
    scopes: ['admin'],
    actor: 'key:test',
  };
  const runner = t.gateway.app.tx;
  await withTx(runner, async (tx) => {
    await tx.query(`INSERT INTO warehouses (store_id, code, name) VALUES ($1, 'W1', 'W1'), ($1, 'W2', 'W2')`, [store.storeId]);
    await tx.query(
      `WITH p AS (INSERT INTO products (store_id, name, external_id) SELECT $1, 'P-' || g, 'EXT-' || g FROM generate_series(1, $2::int) g RETURNING id, name),
              v AS (INSERT INTO variants (store_id, product_id, sku, label, is_default)
                    SELECT $1, p.id, 'SKU-' || substr(p.name, 3), 'Default', true FROM p RETURNING id)
         INSERT INTO inventory_levels (store_id, variant_id, warehouse_id, on_hand)
         SELECT $1, v.id, w.id, 100 FROM v, warehouses w WHERE w.store_id = $1 AND w.code = 'W1'`,
      [store.storeId, LEVELS],
    );
  });
  // Items of every kind the lookups serve: by sku, by variant id and by product external id
  // (ADJUST on existing levels), and SET on levels that do not exist yet (created in W2).
  const n = ITEMS / 4;
  const items: BulkItem[] = [];
  const picked = await withTx(runner, (tx) =>
    tx.query<{ id: string; sku: string; ext: string }>(
      `SELECT v.id, v.sku, p.external_id AS ext FROM variants v JOIN products p ON p.id = v.product_id
          WHERE v.store_id = $1 ORDER BY v.sku LIMIT $2`,
      [store.storeId, ITEMS],
    ),
  );
  picked.forEach((v, i) => {
    const kind = Math.floor(i / n);
    if (kind === 0) items.push({ sku: v.sku, warehouseCode: 'W1', delta: 1 });
    else if (kind === 1) items.push({ variantId: toGlobalId('Variant', v.id), warehouseCode: 'W1', delta: -1 });
    else if (kind === 2) items.push({ productExternalId: v.ext, warehouseCode: 'W1', mode: 'SET', quantity: 7 });
    else items.push({ sku: v.sku, warehouseCode: 'W2', mode: 'SET', quantity: 3 });
  });
  const rows = await withTx(runner, async (tx) => {
    // The backend's counts not yet flushed (earlier transactions on this connection included: the
    // backend flushes them only between transactions), before and after the bulk.
    const counts = async () =>
      Object.fromEntries(
        (
          await tx.query<{ relname: string; rows: number }>(
            `SELECT relname, (seq_tup_read + coalesce(idx_tup_fetch, 0))::int AS rows FROM pg_stat_xact_user_tables
              WHERE relname IN ('inventory_levels', 'variants', 'products')`,
          )
        ).map((r) => [r.relname, r.rows]),
      );
    const before = await counts();
    const r = await bulkInTx(tx, auth, { items, errorPolicy: 'REJECT_EVERYTHING' });
    expect([r.updatedCount, r.failedCount, r.userErrors]).toEqual([ITEMS, 0, []]);
    const after = await counts();
    return Object.fromEntries(Object.entries(after).map(([rel, n]) => [rel, n - (before[rel] ?? 0)]));
  });
  // Per item: a lookup, the lock, the update and the ledger's and outbox's foreign-key checks
  // read its level a handful of times; a plan that reads the store reads LEVELS rows at least.
  expect(rows).toEqual({ inventory_levels: expect.any(Number), variants: expect.any(Number), products: expect.any(Number) });
  expect(rows.inventory_levels).toBeGreaterThanOrEqual(ITEMS);
  expect(Object.entries(rows).filter(([, n]) => n > 10 * ITEMS)).toEqual([]);
});
