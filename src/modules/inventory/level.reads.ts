/**
 * Read side of inventory levels: filtered, sorted, keyset-paginated lists; nested lists per variant
 * or warehouse (one statement for all parents); per-status summaries; totals per variant/product.
 * Counters are the effective ones: reservation lines that are due but not yet swept do not count.
 */
import { countByParent, runPage, runPagesByParent, type Page, type PageQuery, type PageRequest, type SortSpec } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import { allowanceSql, effectiveReserved, levelColumns, type LevelRow, type StockStatus } from '../stock';
import { columnsOf, rowOf, type ModelKind } from '../../db/columns';
import type { ProductRow, VariantRow, WarehouseRow } from '../catalog';

/** Every level of store $1 with its effective reserved, available and status, plus sku and product. */
export const LEVELS_FROM = `(
  SELECT lv0.*, greatest(lv0.on_hand - lv0.reserved - lv0.safety_stock, 0)::int AS available,
         inventory_stock_status(greatest(lv0.on_hand - lv0.reserved - lv0.safety_stock, 0)::int, lv0.low_stock_threshold, lv0.critical_threshold) AS status,
         (lv0.on_hand - lv0.reserved - lv0.safety_stock > -lv0.allowance) AS sellable
    FROM (
      SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.incoming, l.safety_stock, l.low_stock_threshold,
             l.critical_threshold, l.inventory_policy, l.backorder_limit, l.version, l.updated_at, v.sku, v.product_id,
             ${effectiveReserved()} AS reserved, ${allowanceSql('l', 'v')} AS allowance
        FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
       WHERE l.store_id = $1
    ) lv0
) lv`;

export const LEVEL_SELECT = levelColumns('lv', 'lv.reserved');

/**
 * Every level of store $1 with its stored (uncorrected) `reserved`, plus sku and product. Same
 * columns as LEVELS_FROM minus available/status: for pages whose filters and sort do not depend
 * on the correction, which is then applied to the rows of the page only (see levelPage).
 */
const LEVELS_RAW_FROM = `(
  SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.reserved, l.incoming, l.safety_stock, l.low_stock_threshold,
         l.critical_threshold, l.inventory_policy, l.backorder_limit, l.version, l.updated_at, v.sku, v.product_id
    FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
   WHERE l.store_id = $1
) lv`;

/**
 * LEVELS_RAW_FROM without the variant: for pages whose filters and sort read neither `sku` nor
 * `product_id` (e.g. sort key UPDATED_AT, filter updatedSince). No index serves updated_at (stock
 * changes must stay HOT updates, docs/HOT-UPDATES.md), so such a page is cut from all the store's
 * levels by a top-N sort: without the join to variants that sort reads one table, not two.
 */
const LEVELS_OWN_FROM = `(
  SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.reserved, l.incoming, l.safety_stock, l.low_stock_threshold,
         l.critical_threshold, l.inventory_policy, l.backorder_limit, l.version, l.updated_at
    FROM inventory_levels l
   WHERE l.store_id = $1
) lv`;

/**
 * What a filter condition or sort key reads, from the narrowest source to the widest:
 * - `own`: columns of the level row itself (LEVELS_OWN_FROM has them);
 * - `variant`: also the variant's `sku` or `product_id` (LEVELS_RAW_FROM);
 * - `corrected`: a corrected counter, `reserved`, `available` or `status` (only LEVELS_FROM).
 * Every condition and sort key declares its source; levelPage picks the statement from them.
 */
export type LevelSource = 'own' | 'variant' | 'corrected';

const WIDTH: Record<LevelSource, number> = { own: 0, variant: 1, corrected: 2 };

/** The source that serves both (the wider one). */
export function widerSource(a: LevelSource, b: LevelSource): LevelSource {
  return WIDTH[a] >= WIDTH[b] ? a : b;
}

/** The level rows, uncorrected, for a page whose filter and sort need at most `own` or `variant`. */
const UNCORRECTED_FROM: Record<Exclude<LevelSource, 'corrected'>, string> = { own: LEVELS_OWN_FROM, variant: LEVELS_RAW_FROM };

export type LevelSortKey = 'UPDATED_AT' | 'AVAILABLE' | 'ON_HAND' | 'SKU';

/** A sort of levels and the source its expression reads. */
export interface LevelSort extends SortSpec {
  needs: LevelSource;
}

export const LEVEL_SORTS: Record<LevelSortKey, LevelSort> = {
  UPDATED_AT: { expr: 'lv.updated_at', cast: 'timestamptz', idExpr: 'lv.id', idCast: 'uuid', needs: 'own' },
  AVAILABLE: { expr: 'lv.available::int8', cast: 'int8', idExpr: 'lv.id', idCast: 'uuid', needs: 'corrected' },
  ON_HAND: { expr: 'lv.on_hand::int8', cast: 'int8', idExpr: 'lv.id', idCast: 'uuid', needs: 'own' },
  SKU: { expr: 'lv.sku', cast: 'text', idExpr: 'lv.id', idCast: 'uuid', needs: 'variant' },
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
  /** Only levels that can (true) or cannot (false) sell one more unit under their backorder policy. */
  sellable?: boolean | null;
}

/** The conditions of a filter (over LEVELS_FROM's columns) and the widest source they read. */
export function levelWhere(storeId: string, f: LevelFilter = {}): { where: string[]; params: unknown[]; needs: LevelSource } {
  const params: unknown[] = [storeId];
  const where: string[] = [];
  let needs: LevelSource = 'own';
  const add = (source: LevelSource, sql: (n: number) => string, v?: unknown) => {
    needs = widerSource(needs, source);
    if (v !== undefined) params.push(v);
    where.push(sql(params.length));
  };
  if (f.warehouseIds) add('own', (n) => `lv.warehouse_id = ANY($${n}::uuid[])`, f.warehouseIds);
  if (f.variantIds) add('own', (n) => `lv.variant_id = ANY($${n}::uuid[])`, f.variantIds);
  if (f.productIds) add('variant', (n) => `lv.product_id = ANY($${n}::uuid[])`, f.productIds);
  if (f.skus) add('variant', (n) => `lv.sku = ANY($${n}::text[])`, f.skus);
  if (f.statuses) add('corrected', (n) => `lv.status = ANY($${n}::text[])`, f.statuses);
  if (f.lowStockOnly) add('corrected', () => `lv.status <> 'IN_STOCK'`);
  if (f.updatedSince) add('own', (n) => `lv.updated_at >= $${n}::timestamptz`, f.updatedSince);
  if (f.sellable != null) add('corrected', (n) => `lv.sellable = $${n}::bool`, f.sellable);
  return { where, params, needs };
}

/** The page query over LEVELS_FROM, and the narrowest source that its filter and sort need. */
export function levelQuery(storeId: string, filter: LevelFilter, sortKey: LevelSortKey): { query: PageQuery; needs: LevelSource } {
  const { where, params, needs } = levelWhere(storeId, filter);
  const sort = LEVEL_SORTS[sortKey];
  return { query: { select: LEVEL_SELECT, from: LEVELS_FROM, where, params, sort }, needs: widerSource(needs, sort.needs) };
}

/** Catalogue rows to fetch with a page of levels (for the nested fields a query selects). */
export interface LevelInclude {
  variant?: boolean;
  /** The variant's product (implies joining the variant). */
  product?: boolean;
  warehouse?: boolean;
}

export interface LevelPage extends Page<LevelRow> {
  /** The catalogue rows of the page's levels that `include` asked for, each once. */
  catalog: { variants: VariantRow[]; products: ProductRow[]; warehouses: WarehouseRow[] };
}

function distinctRows<T>(kind: ModelKind, rows: Record<string, unknown>[], prefix: string): T[] {
  const m = new Map<unknown, T>();
  for (const r of rows) {
    const id = r[`${prefix}id`];
    if (id == null || m.has(id)) continue;
    m.set(id, rowOf<T>(kind, r, prefix)!);
  }
  return [...m.values()];
}

/**
 * One page of levels, in ONE statement with the catalogue rows `include` asks for. When neither
 * the filter nor the sort reads a corrected counter, the page is cut on the stored columns first
 * and `reserved` is corrected for its rows only (the correlated sum over due lines then runs for
 * ≤ limit + 1 rows instead of every level of the store).
 */
export async function levelPage(
  tx: Tx,
  storeId: string,
  filter: LevelFilter,
  sortKey: LevelSortKey,
  page: PageRequest,
  include: LevelInclude = {},
): Promise<LevelPage> {
  const { query: q, needs } = levelQuery(storeId, filter, sortKey);
  const late = needs !== 'corrected';
  const cols: string[] = [];
  const joins: string[] = [];
  if (include.variant || include.product) {
    joins.push('LEFT JOIN variants cv ON cv.id = p.variant_id AND cv.store_id = p.store_id');
    cols.push(columnsOf('variant', 'cv', 'v$'));
  }
  if (include.product) {
    joins.push('LEFT JOIN products cp ON cp.id = cv.product_id AND cp.store_id = p.store_id');
    cols.push(columnsOf('product', 'cp', 'p$'));
  }
  if (include.warehouse) {
    joins.push('LEFT JOIN warehouses cw ON cw.id = p.warehouse_id AND cw.store_id = p.store_id');
    cols.push(columnsOf('warehouse', 'cw', 'w$'));
  }
  const none = { variants: [], products: [], warehouses: [] };
  if (!late && !joins.length) return { ...(await runPage<LevelRow>(tx, q, page)), catalog: none };
  const r = await runPage<LevelRow>(
    tx,
    {
      ...q,
      ...(needs !== 'corrected' ? { from: UNCORRECTED_FROM[needs] } : {}),
      select: 'lv.*',
      afterCut: [levelColumns('p', late ? effectiveReserved('p') : 'p.reserved'), ...cols].join(', '),
      afterCutJoin: joins.join(' '),
    },
    page,
  );
  if (!joins.length) return { ...r, catalog: none };
  const rows = r.rows as unknown as Record<string, unknown>[];
  return {
    ...r,
    catalog: {
      variants: include.variant || include.product ? distinctRows<VariantRow>('variant', rows, 'v$') : [],
      products: include.product ? distinctRows<ProductRow>('product', rows, 'p$') : [],
      warehouses: include.warehouse ? distinctRows<WarehouseRow>('warehouse', rows, 'w$') : [],
    },
  };
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
  return runPagesByParent<LevelRow>(
    tx,
    { ...levelQuery(storeId, filter, sortKey).query, parentExpr: `lv.${parent}_id`, parentCast: 'uuid' },
    parentIds,
    page,
  );
}

export function levelCountsByParent(
  tx: Tx,
  storeId: string,
  parent: 'variant' | 'warehouse',
  parentIds: readonly string[],
  filter: LevelFilter,
): Promise<number[]> {
  const { where, params } = levelWhere(storeId, filter);
  return countByParent(tx, { from: LEVELS_FROM, where, params, parentExpr: `lv.${parent}_id`, parentCast: 'uuid' }, parentIds);
}

export interface InventorySummary {
  total: number;
  inStock: number;
  lowStock: number;
  critical: number;
  outOfStock: number;
  totalOnHand: bigint;
  totalReserved: bigint;
  totalAvailable: bigint;
  totalIncoming: bigint;
  totals: Totals;
}

/** Exact sums of level counters (int8 in SQL, bigint here). */
export interface Totals {
  onHand: bigint;
  reserved: bigint;
  available: bigint;
  incoming: bigint;
}

/** An SQL sum (int8/numeric, as text) as an exact bigint. */
const big = (v: string | null | undefined): bigint => BigInt(v ?? 0);

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
  const totals = { onHand: big(r.on_hand), reserved: big(r.reserved), available: big(r.available), incoming: big(r.incoming) };
  return {
    total: n('total'),
    inStock: n('in_stock'),
    lowStock: n('low_stock'),
    critical: n('critical'),
    outOfStock: n('out_of_stock'),
    totalOnHand: totals.onHand,
    totalReserved: totals.reserved,
    totalAvailable: totals.available,
    totalIncoming: totals.incoming,
    totals,
  };
}

export interface StockTotals {
  key: string;
  totalOnHand: bigint;
  totalReserved: bigint;
  totalAvailable: bigint;
  totalIncoming: bigint;
  totals: Totals;
  /** The best status among the levels (OUT_OF_STOCK when there are none). */
  status: StockStatus;
  /** Whether any level can sell one more unit (under its backorder policy). */
  sellable: boolean;
  levelCount: number;
}

/** SQL: the best status among `lv` rows of a group. */
export const BEST_STATUS = `coalesce((ARRAY['OUT_OF_STOCK','CRITICAL','LOW_STOCK','IN_STOCK'])[1 + max(CASE lv.status
  WHEN 'IN_STOCK' THEN 3 WHEN 'LOW_STOCK' THEN 2 WHEN 'CRITICAL' THEN 1 ELSE 0 END)], 'OUT_OF_STOCK')`;

/** Totals across warehouses per variant or per product, one statement for all keys. */
export async function stockTotals(tx: Tx, storeId: string, by: 'variant' | 'product', keys: readonly string[]): Promise<StockTotals[]> {
  const rows = await tx.query<Record<string, string>>(
    `SELECT lv.${by}_id AS key, sum(lv.on_hand) AS on_hand, sum(lv.reserved) AS reserved, sum(lv.available) AS available,
            sum(lv.incoming) AS incoming, ${BEST_STATUS} AS status, bool_or(lv.sellable) AS sellable, count(*) AS n
       FROM ${LEVELS_FROM} WHERE lv.${by}_id = ANY($2::uuid[]) GROUP BY 1`,
    [storeId, keys],
  );
  const m = new Map(rows.map((r) => [r.key, r]));
  return keys.map((key) => {
    const r = m.get(key);
    const totals = { onHand: big(r?.on_hand), reserved: big(r?.reserved), available: big(r?.available), incoming: big(r?.incoming) };
    return {
      key,
      totalOnHand: totals.onHand,
      totalReserved: totals.reserved,
      totalAvailable: totals.available,
      totalIncoming: totals.incoming,
      totals,
      status: (r?.status ?? 'OUT_OF_STOCK') as StockStatus,
      sellable: String(r?.sellable) === 'true',
      levelCount: Number(r?.n ?? 0),
    };
  });
}
