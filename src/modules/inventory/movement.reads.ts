/** Read side of the ledger (seed 003's adjustment history): filtered, keyset-paginated movements. */
import { runPage, type Page, type PageRequest } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import type { MovementReason } from '../stock';

export interface MovementRow {
  id: string;
  storeId: string;
  inventoryLevelId: string;
  variantId: string;
  warehouseId: string;
  reason: MovementReason;
  quantityDelta: number;
  reservedDelta: number;
  onHandBefore: number;
  onHandAfter: number;
  reservedBefore: number;
  reservedAfter: number;
  note: string | null;
  actor: string | null;
  idempotencyKey: string | null;
  reservationId: string | null;
  createdAt: Date;
  /** Settings before/after (null on rows written before they were recorded). */
  safetyStockBefore: number | null;
  safetyStockAfter: number | null;
  incomingBefore: number | null;
  incomingAfter: number | null;
  lowStockThresholdBefore: number | null;
  lowStockThresholdAfter: number | null;
  criticalThresholdBefore: number | null;
  criticalThresholdAfter: number | null;
}

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

const SELECT = `m.id::text AS id, m.store_id AS "storeId", m.inventory_level_id AS "inventoryLevelId", l.variant_id AS "variantId",
  l.warehouse_id AS "warehouseId", m.reason::text AS reason, m.quantity_delta AS "quantityDelta", m.reserved_delta AS "reservedDelta",
  m.on_hand_before AS "onHandBefore", m.on_hand_after AS "onHandAfter", m.reserved_before AS "reservedBefore",
  m.reserved_after AS "reservedAfter", m.note, m.actor, m.idempotency_key AS "idempotencyKey", m.reservation_id AS "reservationId",
  m.created_at AS "createdAt", m.safety_stock_before AS "safetyStockBefore", m.safety_stock_after AS "safetyStockAfter",
  m.incoming_before AS "incomingBefore", m.incoming_after AS "incomingAfter", m.low_stock_threshold_before AS "lowStockThresholdBefore",
  m.low_stock_threshold_after AS "lowStockThresholdAfter", m.critical_threshold_before AS "criticalThresholdBefore",
  m.critical_threshold_after AS "criticalThresholdAfter"`;

export async function movementsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<MovementRow[]> {
  const numeric = ids.filter((i) => /^\d{1,18}$/.test(i));
  return tx.query<MovementRow>(
    `SELECT ${SELECT} FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id WHERE m.store_id = $1 AND m.id = ANY($2::int8[])`,
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
      from: 'stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id',
      where,
      params,
      // The id is monotonic: one key is enough (the sort value and the tie-breaker are the same).
      sort: { expr: 'm.id', cast: 'int8', idExpr: 'm.id', idCast: 'int8' },
    },
    page,
  );
}
