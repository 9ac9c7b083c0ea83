/**
 * Read side of inventory levels: filtered, sorted, keyset-paginated lists; nested lists per variant
 * or warehouse (one statement for all parents); per-status summaries; totals per variant/product.
 * Counters are the effective ones: reservation lines that are due but not yet swept do not count.
 */
import { countByParent, runPage, runPagesByParent, type Page, type PageQuery, type PageRequest, type SortSpec } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import type { StockStatus } from './availability';
import { effectiveReserved } from './levels';
import type { LevelRow } from './stock-writer';

/** Every level of store $1 with its effective reserved, available and status, plus sku and product. */
export const LEVELS_FROM = `(
  SELECT lv0.*, greatest(lv0.on_hand - lv0.reserved - lv0.safety_stock, 0)::int AS available,
         inventory_stock_status(greatest(lv0.on_hand - lv0.reserved - lv0.safety_stock, 0)::int, lv0.low_stock_threshold, lv0.critical_threshold) AS status
    FROM (
      SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.incoming, l.safety_stock, l.low_stock_threshold,
             l.critical_threshold, l.version, l.updated_at, v.sku, v.product_id,
             ${effectiveReserved()} AS reserved
        FROM inventory_levels l JOIN variants v ON v.id = l.variant_id
       WHERE l.store_id = $1
    ) lv0
) lv`;

/** The LevelRow columns of `a` (a row of LEVELS_FROM, or of a page of LEVELS_RAW_FROM with `reserved` corrected). */
const levelSelect = (a: string, reserved: string) => `${a}.id, ${a}.store_id AS "storeId", ${a}.variant_id AS "variantId", ${a}.warehouse_id AS "warehouseId",
  ${a}.on_hand AS "onHand", ${reserved} AS reserved, ${a}.incoming, ${a}.safety_stock AS "safetyStock",
  ${a}.low_stock_threshold AS "lowStockThreshold", ${a}.critical_threshold AS "criticalThreshold", ${a}.version, ${a}.updated_at AS "updatedAt"`;

export const LEVEL_SELECT = levelSelect('lv', 'lv.reserved');

/**
 * Every level of store $1 with its stored (uncorrected) `reserved`, plus sku and product. Same
 * columns as LEVELS_FROM minus available/status: for pages whose filters and sort do not depend
 * on the correction, which is then applied to the rows of the page only (see levelQuery).
 */
const LEVELS_RAW_FROM = `(
  SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.reserved, l.incoming, l.safety_stock, l.low_stock_threshold,
         l.critical_threshold, l.version, l.updated_at, v.sku, v.product_id
    FROM inventory_levels l JOIN variants v ON v.id = l.variant_id
   WHERE l.store_id = $1
) lv`;

export type LevelSortKey = 'UPDATED_AT' | 'AVAILABLE' | 'ON_HAND' | 'SKU';

export const LEVEL_SORTS: Record<LevelSortKey, SortSpec> = {
  UPDATED_AT: { expr: 'lv.updated_at', cast: 'timestamptz', idExpr: 'lv.id', idCast: 'uuid' },
  AVAILABLE: { expr: 'lv.available::int8', cast: 'int8', idExpr: 'lv.id', idCast: 'uuid' },
  ON_HAND: { expr: 'lv.on_hand::int8', cast: 'int8', idExpr: 'lv.id', idCast: 'uuid' },
  SKU: { expr: 'lv.sku', cast: 'text', idExpr: 'lv.id', idCast: 'uuid' },
};

export interface LevelFilter {
  warehouseIds?: string[] | null;
  variantIds?: string[] | null;
  productIds?: string[] | null;
  skus?: string[] | null;
  statuses?: StockStatus[] | null;
  /** Only levels at or below a threshold, or out of stock (status other than IN_STOCK). */
  lowStockOnly?: boolean | null;
  updatedSince?: Date | null;
}

export function levelWhere(storeId: string, f: LevelFilter = {}): { where: string[]; params: unknown[] } {
  const params: unknown[] = [storeId];
  const where: string[] = [];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (f.warehouseIds) add((n) => `lv.warehouse_id = ANY($${n}::uuid[])`, f.warehouseIds);
  if (f.variantIds) add((n) => `lv.variant_id = ANY($${n}::uuid[])`, f.variantIds);
  if (f.productIds) add((n) => `lv.product_id = ANY($${n}::uuid[])`, f.productIds);
  if (f.skus) add((n) => `lv.sku = ANY($${n}::text[])`, f.skus);
  if (f.statuses) add((n) => `lv.status = ANY($${n}::text[])`, f.statuses);
  if (f.lowStockOnly) where.push(`lv.status <> 'IN_STOCK'`);
  if (f.updatedSince) add((n) => `lv.updated_at >= $${n}::timestamptz`, f.updatedSince);
  return { where, params };
}

function levelQuery(storeId: string, filter: LevelFilter, sortKey: LevelSortKey): PageQuery {
  return { select: LEVEL_SELECT, from: LEVELS_FROM, ...levelWhere(storeId, filter), sort: LEVEL_SORTS[sortKey] };
}

/** Whether a condition or sort expression reads a corrected counter (reserved, available, status). */
const CORRECTED = /\blv\.(reserved|available|status)\b/;

export function levelPage(tx: Tx, storeId: string, filter: LevelFilter, sortKey: LevelSortKey, page: PageRequest): Promise<Page<LevelRow>> {
  const q = levelQuery(storeId, filter, sortKey);
  if ([q.sort.expr, ...q.where].some((c) => CORRECTED.test(c))) return runPage<LevelRow>(tx, q, page);
  // Neither the rows nor their order depend on the correction: cut the page on the stored columns
  // first, then correct `reserved` for its rows only (the correlated sum over due lines runs for
  // ≤ limit + 1 rows instead of every level of the store).
  return runPage<LevelRow>(tx, { ...q, select: 'lv.*', from: LEVELS_RAW_FROM, afterCut: levelSelect('p', effectiveReserved('p')) }, page);
}

/** Levels of many variants (or warehouses) at once: one page each. */
export function levelPagesByParent(
  tx: Tx,
  storeId: string,
  parent: 'variant' | 'warehouse',
  parentIds: readonly string[],
  filter: LevelFilter,
  sortKey: LevelSortKey,
  page: PageRequest,
): Promise<Page<LevelRow>[]> {
  return runPagesByParent<LevelRow>(tx, { ...levelQuery(storeId, filter, sortKey), parentExpr: `lv.${parent}_id`, parentCast: 'uuid' }, parentIds, page);
}

export function levelCountsByParent(tx: Tx, storeId: string, parent: 'variant' | 'warehouse', parentIds: readonly string[], filter: LevelFilter): Promise<number[]> {
  return countByParent(tx, { from: LEVELS_FROM, ...levelWhere(storeId, filter), parentExpr: `lv.${parent}_id`, parentCast: 'uuid' }, parentIds);
}

export interface InventorySummary {
  total: number;
  inStock: number;
  lowStock: number;
  critical: number;
  outOfStock: number;
  totalOnHand: number;
  totalReserved: number;
  totalAvailable: number;
  totalIncoming: number;
}

/** Counts per status and totals over the levels matching the filter (seed 001). */
export async function levelSummary(tx: Tx, storeId: string, filter: LevelFilter): Promise<InventorySummary> {
  const { where, params } = levelWhere(storeId, filter);
  const [r] = await tx.query<Record<string, string | null>>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE lv.status = 'IN_STOCK') AS in_stock,
            count(*) FILTER (WHERE lv.status = 'LOW_STOCK') AS low_stock,
            count(*) FILTER (WHERE lv.status = 'CRITICAL') AS critical,
            count(*) FILTER (WHERE lv.status = 'OUT_OF_STOCK') AS out_of_stock,
            sum(lv.on_hand) AS on_hand, sum(lv.reserved) AS reserved, sum(lv.available) AS available, sum(lv.incoming) AS incoming
       FROM ${LEVELS_FROM} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
    params,
  );
  const n = (k: string) => Number(r[k] ?? 0);
  return {
    total: n('total'),
    inStock: n('in_stock'),
    lowStock: n('low_stock'),
    critical: n('critical'),
    outOfStock: n('out_of_stock'),
    totalOnHand: n('on_hand'),
    totalReserved: n('reserved'),
    totalAvailable: n('available'),
    totalIncoming: n('incoming'),
  };
}

export interface StockTotals {
  key: string;
  totalOnHand: number;
  totalReserved: number;
  totalAvailable: number;
  totalIncoming: number;
  /** The best status among the levels (OUT_OF_STOCK when there are none). */
  status: StockStatus;
  levelCount: number;
}

/** SQL: the best status among `lv` rows of a group. */
export const BEST_STATUS = `coalesce((ARRAY['OUT_OF_STOCK','CRITICAL','LOW_STOCK','IN_STOCK'])[1 + max(CASE lv.status
  WHEN 'IN_STOCK' THEN 3 WHEN 'LOW_STOCK' THEN 2 WHEN 'CRITICAL' THEN 1 ELSE 0 END)], 'OUT_OF_STOCK')`;

/** Totals across warehouses per variant or per product, one statement for all keys. */
export async function stockTotals(tx: Tx, storeId: string, by: 'variant' | 'product', keys: readonly string[]): Promise<StockTotals[]> {
  const rows = await tx.query<Record<string, string>>(
    `SELECT lv.${by}_id AS key, sum(lv.on_hand) AS on_hand, sum(lv.reserved) AS reserved, sum(lv.available) AS available,
            sum(lv.incoming) AS incoming, ${BEST_STATUS} AS status, count(*) AS n
       FROM ${LEVELS_FROM} WHERE lv.${by}_id = ANY($2::uuid[]) GROUP BY 1`,
    [storeId, keys],
  );
  const m = new Map(rows.map((r) => [r.key, r]));
  return keys.map((key) => {
    const r = m.get(key);
    return {
      key,
      totalOnHand: Number(r?.on_hand ?? 0),
      totalReserved: Number(r?.reserved ?? 0),
      totalAvailable: Number(r?.available ?? 0),
      totalIncoming: Number(r?.incoming ?? 0),
      status: (r?.status ?? 'OUT_OF_STOCK') as StockStatus,
      levelCount: Number(r?.n ?? 0),
    };
  });
}

