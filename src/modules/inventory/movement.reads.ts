/** Read side of the ledger (seed 003's adjustment history): filtered, keyset-paginated movements. */
import { runPage, type Page, type PageRequest } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import { columnsOf } from '../../db/columns';
import type { StockMovement } from '../../generated/prisma/client';
import type { MovementReason } from '../stock';

/**
 * A ledger entry as the generated client types it, with its id as text (an int8 that cursors and
 * global ids carry as a string) and the level's variant and warehouse.
 */
export type MovementRow = Omit<StockMovement, 'id'> & { id: string; variantId: string; warehouseId: string };

export interface MovementFilter {
  inventoryLevelIds?: string[] | null;
  variantIds?: string[] | null;
  skus?: string[] | null;
  warehouseIds?: string[] | null;
  reasons?: MovementReason[] | null;
  reservationIds?: string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

const SELECT = `${columnsOf('stockMovement', 'm', '', { id: 'm.id::text' })}, l.variant_id AS "variantId", l.warehouse_id AS "warehouseId"`;

export async function movementsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<MovementRow[]> {
  const numeric = ids.filter((i) => /^\d{1,18}$/.test(i));
  return tx.query<MovementRow>(
    `SELECT ${SELECT} FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id AND l.store_id = m.store_id WHERE m.store_id = $1 AND m.id = ANY($2::int8[])`,
    [storeId, numeric],
  );
}

/** Newest first by default (reverse = false means oldest first, the ledger's natural order). */
export function movementPage(tx: Tx, storeId: string, f: MovementFilter, page: PageRequest): Promise<Page<MovementRow>> {
  const params: unknown[] = [storeId];
  const where = ['m.store_id = $1'];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (f.inventoryLevelIds) add((n) => `m.inventory_level_id = ANY($${n}::uuid[])`, f.inventoryLevelIds);
  if (f.variantIds) add((n) => `l.variant_id = ANY($${n}::uuid[])`, f.variantIds);
  if (f.skus) add((n) => `l.variant_id IN (SELECT id FROM variants WHERE store_id = $1 AND sku = ANY($${n}::text[]))`, f.skus);
  if (f.warehouseIds) add((n) => `l.warehouse_id = ANY($${n}::uuid[])`, f.warehouseIds);
  if (f.reasons) add((n) => `m.reason::text = ANY($${n}::text[])`, f.reasons);
  if (f.reservationIds) add((n) => `m.reservation_id = ANY($${n}::uuid[])`, f.reservationIds);
  if (f.createdAfter) add((n) => `m.created_at >= $${n}::timestamptz`, f.createdAfter);
  if (f.createdBefore) add((n) => `m.created_at < $${n}::timestamptz`, f.createdBefore);
  return runPage<MovementRow>(
    tx,
    {
      select: SELECT,
      from: 'stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id AND l.store_id = m.store_id',
      where,
      params,
      // The id is monotonic: one key is enough (the sort value and the tie-breaker are the same).
      sort: { expr: 'm.id', cast: 'int8', idExpr: 'm.id', idCast: 'int8' },
    },
    page,
  );
}
