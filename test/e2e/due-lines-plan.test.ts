/**
 * Every stock change checks its level for due reservation lines (active, expired by the clock, not
 * yet swept): dueLines() in src/modules/stock/sql-parts.ts, used by the writer statements and the
 * effective-counter reads. On a hot SKU a level has tens of thousands of active lines, and the
 * servers here never ANALYZE (autovacuum off). With two candidate indexes the planner once chose
 * (store_id, inventory_level_id) and filtered every line of the level (27,144 rows, 1,316 buffers,
 * 7 ms per stock change on the bench's hot SKU), so a sustained run slowed down minute by minute.
 *
 * The fix is one index, reservation_lines_level_due_idx (store_id, inventory_level_id, status,
 * expires_at), and no competitor: the catalog test fails if another index of reservation_lines
 * starts with (store_id, inventory_level_id) (the old plan's choice was a near tie of cost estimates
 * decided by index sizes, which a fresh database does not reproduce). Then this test gives one level thousands of active and settled lines, never analyzes, and reads the
 * plans PostgreSQL actually runs for the check (a custom plan and the generic plan that prepared
 * writer statements end up with): the check must read only the due lines, as index conditions.
 */
import crypto from 'node:crypto';
import type { PoolClient } from 'pg';
import { dueLines } from '../../src/modules/stock/sql-parts';
import { ok } from '../helpers/gql';
import { stockedSku } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(120_000);

let t: TestServer;
let storeId: string;
let levelId: string;
let sku: string;
let warehouseCode: string;

const ACTIVE_FUTURE = 10_000;
const SETTLED = 3_000;
const DUE = 3;

beforeAll(async () => {
  t = await startTestServer();
  const s = await stockedSku(t.gql, 1_000_000);
  sku = s.sku;
  warehouseCode = s.warehouseCode;
  const r = await t.gateway.app.db.pool.query<{ id: string; store_id: string }>(
    `SELECT l.id, l.store_id FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id WHERE v.sku = $1`,
    [sku],
  );
  ({ id: levelId, store_id: storeId } = r.rows[0]);
  // Setup straight in SQL (thousands of reservations through the API would take most of the test's
  // time): one reservation holding ACTIVE_FUTURE + DUE active lines and SETTLED released ones, and
  // the level's reserved counter matching its active lines, as the writer would have left it.
  const resId = crypto.randomUUID();
  await t.gateway.app.db.pool.query(
    `INSERT INTO reservations (id, store_id, status, expires_at) VALUES ($1, $2, 'ACTIVE', now() + interval '1 hour')`,
    [resId, storeId],
  );
  await t.gateway.app.db.pool.query(
    `INSERT INTO reservation_lines (store_id, reservation_id, inventory_level_id, status, quantity, original_quantity,
                                    released_quantity, expires_at, position)
     SELECT $1::uuid, $2::uuid, $3::uuid,
            CASE WHEN i < $4::int + $6::int THEN 'ACTIVE' ELSE 'RELEASED' END::"ReservationStatus",
            CASE WHEN i < $4::int + $6::int THEN 1 ELSE 0 END, 1,
            CASE WHEN i < $4::int + $6::int THEN 0 ELSE 1 END,
            CASE WHEN i < $6::int THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END, i
       FROM generate_series(0, $4::int + $5::int + $6::int - 1) i`,
    [storeId, resId, levelId, ACTIVE_FUTURE, SETTLED, DUE],
  );
  await t.gateway.app.db.pool.query(`UPDATE inventory_levels SET reserved = $3 WHERE store_id = $1 AND id = $2`, [
    storeId,
    levelId,
    ACTIVE_FUTURE + DUE,
  ]);
});
afterAll(async () => {
  await t?.stop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** The scans of reservation_lines in a plan tree. */
function linesScans(n: PlanNode, out: PlanNode[] = []): PlanNode[] {
  if (n['Relation Name'] === 'reservation_lines') out.push(n);
  for (const c of n.Plans ?? []) linesScans(c, out);
  return out;
}

async function explain(c: PoolClient, name: string, sql: string, generic: boolean): Promise<PlanNode[]> {
  await c.query(`SET plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
  await c.query(`PREPARE ${name}(uuid, uuid) AS ${sql}`);
  try {
    const r = await c.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE ${name}('${storeId}', '${levelId}')`);
    const plan = (r.rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0].Plan;
    return linesScans(plan);
  } finally {
    await c.query(`DEALLOCATE ${name}`);
    await c.query('RESET plan_cache_mode');
  }
}

const SHAPES: Array<[string, string]> = [
  // The writer's expiry of a level's due lines, and the sum the effective-counter reads subtract.
  ['lines of one level', `SELECT count(*) FROM reservation_lines rl WHERE ${dueLines('rl', '$1', '= $2')}`],
  // The batch statements' guard: a level with due lines is left to the general path.
  [
    'NOT EXISTS per locked level',
    `SELECT l.id FROM inventory_levels l WHERE l.store_id = $1 AND l.id = $2
        AND NOT EXISTS (SELECT 1 FROM reservation_lines d WHERE ${dueLines('d', 'l.store_id', '= l.id')})`,
  ],
  ['IN (levels)', `SELECT count(*) FROM reservation_lines rl WHERE ${dueLines('rl', '$1', 'IN (SELECT $2::uuid)')}`],
];

test('one index serves look-ups by level, and it carries the whole due-lines condition', async () => {
  const r = await t.gateway.app.db.pool.query<{ name: string; cols: string[] }>(
    `SELECT i.relname AS name, array_agg(a.attname::text ORDER BY k.n) AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
       CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
      WHERE x.indrelid = 'reservation_lines'::regclass
      GROUP BY i.relname`,
  );
  const byLevel = r.rows.filter((i) => i.cols[0] === 'store_id' && i.cols[1] === 'inventory_level_id');
  expect(byLevel).toEqual([{ name: 'reservation_lines_level_due_idx', cols: ['store_id', 'inventory_level_id', 'status', 'expires_at'] }]);
});

describe.each([false, true])('the due-lines check reads only due lines (generic plan: %s)', (generic) => {
  test.each(SHAPES)('%s', async (label, sql) => {
    const c = await t.gateway.app.db.pool.connect();
    try {
      const scans = await explain(c, `due_${label.replace(/\W/g, '_')}_${generic ? 'g' : 'c'}`, sql, generic);
      expect(scans.length).toBeGreaterThan(0);
      for (const s of scans) {
        // An index scan whose conditions carry the whole check: nothing is read only to be thrown away.
        expect(s['Node Type']).toMatch(/Index/);
        expect(s['Rows Removed by Filter'] ?? 0).toBe(0);
        expect(s['Rows Removed by Index Recheck'] ?? 0).toBe(0);
        expect(s['Actual Rows']!).toBeLessThanOrEqual(DUE);
        expect((s['Shared Hit Blocks'] ?? 0) + (s['Shared Read Blocks'] ?? 0)).toBeLessThan(40);
      }
    } finally {
      c.release();
    }
  });
});

test('stock changes on the level still see and expire its due lines exactly', async () => {
  const d = await ok(
    t.gql(
      `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { reserved } userErrors { code message } } }`,
      { input: { sku, warehouseCode, delta: 5, reason: 'CORRECTION' } },
    ),
  );
  expect(d.inventoryAdjust.userErrors).toEqual([]);
  // The DUE lines were expired by the change; the ACTIVE_FUTURE ones still hold.
  expect(d.inventoryAdjust.inventoryLevel.reserved).toBe(ACTIVE_FUTURE);
  const left = await t.gateway.app.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM reservation_lines rl WHERE ${dueLines('rl', '$1', '= $2')}`,
    [storeId, levelId],
  );
  expect(left.rows[0].n).toBe(0);
});
