/** SQL checks of the stock invariants, run after concurrency tests. */
import type { App } from '../../src/app';

export async function checkInvariants(app: App, storeId: string) {
  const q = (sql: string) => app.db.pool.query(sql, [storeId]).then((r) => r.rows);
  const ledger = await q(`SELECT l.id, l.on_hand, coalesce(sum(m.quantity_delta), 0)::int AS sum_moves
      FROM inventory_levels l LEFT JOIN stock_movements m ON m.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.id HAVING l.on_hand <> coalesce(sum(m.quantity_delta), 0)`);
  const reservedLedger = await q(`SELECT l.id FROM inventory_levels l LEFT JOIN stock_movements m ON m.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.id HAVING l.reserved <> coalesce(sum(m.reserved_delta), 0)`);
  const bounds = await q(`SELECT id FROM inventory_levels WHERE store_id = $1 AND NOT (reserved >= 0 AND reserved <= on_hand AND on_hand >= 0)`);
  const reservedVsLines = await q(`SELECT l.id, l.reserved, coalesce(sum(rl.quantity) FILTER (WHERE rl.status = 'ACTIVE'), 0)::int AS active
      FROM inventory_levels l LEFT JOIN reservation_lines rl ON rl.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.id HAVING l.reserved <> coalesce(sum(rl.quantity) FILTER (WHERE rl.status = 'ACTIVE'), 0)`);
  const dupKeys = await q(`SELECT idempotency_key, inventory_level_id, reason, count(*) FROM stock_movements
     WHERE store_id = $1 AND idempotency_key IS NOT NULL AND reason IN ('SALE','CORRECTION','RECEIVED','CYCLE_COUNT','DAMAGED')
     GROUP BY 1, 2, 3 HAVING count(*) > 1`);
  return { ledger, reservedLedger, bounds, reservedVsLines, dupKeys };
}

/**
 * The outbox delivery sequence has no gaps: every number between the lowest kept seq and the
 * highest is assigned exactly once. `pending` counts committed events not yet sequenced.
 */
export async function outboxGaps(pool: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) {
  const { rows } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT seq)::int AS d, coalesce(min(seq), 1)::bigint AS lo, coalesce(max(seq), 0)::bigint AS hi,
      (SELECT count(*)::int FROM outbox_events WHERE seq IS NULL) AS pending FROM outbox_events WHERE seq IS NOT NULL`);
  const r = rows[0] as { n: number; d: number; lo: string; hi: string; pending: number };
  return { missing: Number(r.hi) - Number(r.lo) + 1 - r.d, duplicated: r.n - r.d, pending: r.pending };
}
