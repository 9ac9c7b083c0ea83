/**
 * Stock changes stay heap-only (HOT) updates (docs/HOT-UPDATES.md):
 * PostgreSQL can update a row in place, without touching any index, only when no indexed column
 * changes. So no index on inventory_levels may cover a column that the stock writer sets.
 *
 * The written columns come from ONE constant, LEVEL_WRITES in src/modules/stock/sql-parts.ts,
 * from which every writer UPDATE builds its SET list. This test also parses the SET lists out of
 * the statements the writer actually sends (WRITER_STATEMENTS) and checks them against the constant,
 * and checks that no other source file updates inventory_levels, so a column added to an UPDATE by
 * hand cannot slip past the check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withTx, type Tx } from '../../src/db/tx';
import { applyLevelChange, LEVEL_WRITTEN_COLUMNS, WRITER_STATEMENTS } from '../../src/modules/stock';
import { timeOfId } from '../../src/db/time-ordered-id';
import { stockedSku } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(60_000);

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> =>
  (await t.gateway.app.db.pool.query(sql, params)).rows as T[];

/** The column names assigned in each `UPDATE inventory_levels … SET a = …, b = … FROM|WHERE|RETURNING` of a statement. */
function setColumns(sql: string): string[] {
  const cols: string[] = [];
  for (const m of sql.matchAll(/UPDATE\s+inventory_levels\b(?:\s+(?:AS\s+)?\w+)?\s+SET\s+/gi)) {
    let depth = 0;
    let item = '';
    const items: string[] = [];
    for (let i = m.index! + m[0].length; i < sql.length; i++) {
      const ch = sql[i];
      if (depth === 0 && /^\s(FROM|WHERE|RETURNING)\b/i.test(sql.slice(i, i + 11))) break;
      if (ch === '(') depth++;
      if (ch === ')') depth--;
      if (ch === ',' && depth === 0) {
        items.push(item);
        item = '';
      } else item += ch;
    }
    items.push(item);
    for (const it of items) {
      const c = /^\s*"?(\w+)"?\s*=/.exec(it);
      if (!c) throw new Error(`cannot parse SET item "${it.trim()}"`);
      cols.push(c[1]);
    }
  }
  return cols;
}

test('the writer statements set exactly LEVEL_WRITTEN_COLUMNS, and nothing else in src/ updates inventory_levels', () => {
  // One change, the group-committed reservations, the set-based bulk, the group-committed adjustments.
  expect(WRITER_STATEMENTS.length).toBe(4);
  const parsed = new Set(WRITER_STATEMENTS.flatMap(setColumns));
  expect([...parsed].sort()).toEqual([...LEVEL_WRITTEN_COLUMNS].sort());
  // The columns a stock change must write are in the list (so it cannot be emptied to pass).
  for (const c of ['on_hand', 'reserved', 'version', 'updated_at']) expect(LEVEL_WRITTEN_COLUMNS).toContain(c);

  const src = path.resolve(__dirname, '..', '..', 'src');
  const writers: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'generated') walk(p);
      } else if (/\.ts$/.test(e.name) && /UPDATE\s+"?inventory_levels"?\b/i.test(fs.readFileSync(p, 'utf8')))
        writers.push(path.relative(src, p));
    }
  };
  walk(src);
  expect(writers.sort()).toEqual([
    path.join('modules', 'stock', 'adjust-batch-statement.ts'),
    path.join('modules', 'stock', 'bulk-statement.ts'),
    path.join('modules', 'stock', 'statements.ts'),
  ]);
});

test('no index on inventory_levels covers a column that a stock change writes; the table leaves room for HOT', async () => {
  const indexes = await q<{ name: string; cols: string[]; exprs: string | null; pred: string | null }>(
    `SELECT i.indexrelid::regclass::text AS name,
            coalesce((SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)) FROM pg_attribute a
                       WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[]) AND a.attnum > 0), '{}') AS cols,
            pg_get_expr(i.indexprs, i.indrelid) AS exprs,
            pg_get_expr(i.indpred, i.indrelid) AS pred
       FROM pg_index i WHERE i.indrelid = 'inventory_levels'::regclass ORDER BY 1`,
  );
  expect(indexes.length).toBeGreaterThan(0);
  const covering: string[] = [];
  for (const ix of indexes) {
    // Key and INCLUDE columns, and columns named in index expressions or a partial index's predicate.
    const words = new Set([...ix.cols, ...(`${ix.exprs ?? ''} ${ix.pred ?? ''}`.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? [])]);
    for (const c of LEVEL_WRITTEN_COLUMNS) if (words.has(c)) covering.push(`${ix.name} covers ${c}`);
  }
  expect(covering).toEqual([]);
  // Every level read filters on the store: an index leads with store_id.
  expect(indexes.some((ix) => ix.cols[0] === 'store_id')).toBe(true);

  const [opts] = await q<{ reloptions: string[] | null }>(`SELECT reloptions FROM pg_class WHERE oid = 'inventory_levels'::regclass`);
  const ff = Number((opts.reloptions ?? []).find((o) => o.startsWith('fillfactor='))?.split('=')[1] ?? 100);
  expect(ff).toBeLessThan(100);
});

test('stock changes through the writer are HOT updates', async () => {
  const s = await stockedSku(t.gql, 100);
  const [lv] = await q<{ id: string; store_id: string }>(
    `SELECT l.id, l.store_id FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE v.sku = $1`,
    [s.sku],
  );
  const runner = { pool: t.gateway.app.db.pool, maxRetries: 0 };
  // One transaction, so that this session's own counters (pg_stat_get_xact_*) count exactly these
  // updates, whatever else runs on the server.
  const counters = async (tx: Tx) => {
    // This session's counters of the open transaction (PostgreSQL 15+ also counts its earlier,
    // not yet reported transactions here: hence the difference of two readings).
    const [c] = await tx.query<{ upd: string; hot: string }>(
      `SELECT pg_stat_get_xact_tuples_updated('inventory_levels'::regclass) AS upd,
              pg_stat_get_xact_tuples_hot_updated('inventory_levels'::regclass) AS hot`,
    );
    return { updated: Number(c.upd), hot: Number(c.hot) };
  };
  const counts = await withTx(runner, async (tx) => {
    const before = await counters(tx);
    for (let i = 0; i < 10; i++) {
      const r = await applyLevelChange(tx, {
        storeId: lv.store_id,
        levelId: lv.id,
        mode: 'delta',
        onHandDelta: i % 2 ? -1 : 2,
        reservedDelta: i % 3 === 0 ? 1 : 0,
        reason: 'CORRECTION',
        actor: 'test:hot',
      });
      expect(r?.failure).toBeNull();
    }
    const after = await counters(tx);
    return { updated: after.updated - before.updated, hot: after.hot - before.hot };
  });
  expect(counts).toEqual({ updated: 10, hot: 10 });
});

test('the writer statements do not NOTIFY (a notifying commit holds the server-wide notify lock through its WAL flush)', () => {
  // src/modules/stock/statements.ts: the committing process wakes its hub itself; src/events/wake.ts.
  expect(WRITER_STATEMENTS.length).toBeGreaterThan(0);
  for (const sql of WRITER_STATEMENTS) expect(sql).not.toMatch(/pg_notify|\bNOTIFY\b/i);
});

test('reservations and their lines take time-ordered ids (UUID v7) on the batched and the general path', async () => {
  // Random keys would land on random leaves of the id indexes (src/db/time-ordered-id.ts).
  const s = await stockedSku(t.gql, 100);
  const reserve = (lines: unknown[], key?: string) =>
    ok(
      t.gql(
        `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id } userErrors { code message } } }`,
        { input: { lines, ...(key ? { idempotencyKey: key } : {}) } },
      ),
    );
  const line = { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 1 };
  const made: number[] = [];
  for (const [lines, key] of [
    [[line], undefined], // one unkeyed line: the group-committed batch
    [[line], `time-ordered-${s.sku}`], // keyed: the general path
    [[{ ...line, quantity: 2 }], undefined],
  ] as const) {
    // A new millisecond for each, so that the ids must sort in creation order.
    const ms = Date.now();
    await eventually('the next millisecond', async () => Date.now() > ms);
    made.push(Date.now());
    const d = await reserve([...lines], key);
    expect(d.inventoryReserve.userErrors).toEqual([]);
  }
  const rows = await q<{ rid: string; lid: string }>(
    `SELECT r.id::text AS rid, rl.id::text AS lid FROM reservation_lines rl
       JOIN reservations r ON r.store_id = rl.store_id AND r.id = rl.reservation_id
       JOIN inventory_levels l ON l.store_id = rl.store_id AND l.id = rl.inventory_level_id
       JOIN variants v ON v.store_id = l.store_id AND v.id = l.variant_id
      WHERE v.sku = $1 ORDER BY r.created_at, rl.position`,
    [s.sku],
  );
  expect(rows).toHaveLength(3);
  for (const r of rows) {
    expect(timeOfId(r.rid)).not.toBeNull();
    expect(timeOfId(r.lid)).not.toBeNull();
  }
  const reservationIds = [...new Set(rows.map((r) => r.rid))];
  expect(reservationIds).toHaveLength(3);
  expect([...reservationIds].sort()).toEqual(reservationIds);
  reservationIds.forEach((id, i) => expect(timeOfId(id)).toBeGreaterThanOrEqual(made[i] - 1));
  // The database's default makes the same kind of id.
  const [d] = await q<{ id: string }>(`SELECT uuid_v7()::text AS id`);
  expect(Math.abs(timeOfId(d.id)! - Date.now())).toBeLessThan(60_000);
});
