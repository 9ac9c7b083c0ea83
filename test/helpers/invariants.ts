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
