/**
 * The products list (`products`): catalogue rows filtered and sorted by their stock aggregates
 * (status, total onHand, total available), so a read of the inventory module over the catalogue.
 */
import { columnsOf } from '../../db/columns';
import { filterBuilder, runPage, type Page, type PageQuery, type PageRequest, type SortSpec } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import { containsPattern, type ProductRow } from '../catalog';
import type { StockStatus } from '../stock';
import { BEST_STATUS, LEVELS_FROM } from './level.reads';

const PRODUCTS_FROM = `(
  SELECT p.*, coalesce(t.on_hand, 0)::int8 AS total_on_hand, coalesce(t.available, 0)::int8 AS total_available,
         coalesce(t.status, 'OUT_OF_STOCK') AS stock_status
    FROM products p
    LEFT JOIN LATERAL (
      SELECT sum(lv.on_hand) AS on_hand, sum(lv.available) AS available, ${BEST_STATUS} AS status
        FROM ${LEVELS_FROM} WHERE lv.store_id = p.store_id AND lv.product_id = p.id
    ) t ON true
   WHERE p.store_id = $1
) pr`;

const PRODUCT_SELECT = columnsOf('product', 'pr');

export type ProductSortKey = 'UPDATED_AT' | 'NAME' | 'TOTAL_ON_HAND' | 'TOTAL_AVAILABLE';

const PRODUCT_SORTS: Record<ProductSortKey, SortSpec> = {
  UPDATED_AT: { expr: 'pr.updated_at', cast: 'timestamptz', idExpr: 'pr.id', idCast: 'uuid' },
  NAME: { expr: 'pr.name', cast: 'text', idExpr: 'pr.id', idCast: 'uuid' },
  TOTAL_ON_HAND: { expr: 'pr.total_on_hand', cast: 'int8', idExpr: 'pr.id', idCast: 'uuid' },
  TOTAL_AVAILABLE: { expr: 'pr.total_available', cast: 'int8', idExpr: 'pr.id', idCast: 'uuid' },
};

export interface ProductFilter {
  /** Case-insensitive substring of the name, externalId or any variant's sku. */
  search?: string | null;
  statuses?: StockStatus[] | null;
  active?: boolean | null;
  /** Products with stock records in any of these warehouses. */
  warehouseIds?: string[] | null;
  updatedSince?: Date | null;
}

function productQuery(storeId: string, f: ProductFilter, sortKey: ProductSortKey): PageQuery {
  const w = filterBuilder(storeId);
  if (f.search != null && f.search !== '') {
    w.add(
      (n) =>
        `(pr.name ILIKE $${n} OR pr.external_id ILIKE $${n} OR EXISTS (SELECT 1 FROM variants v WHERE v.store_id = pr.store_id AND v.product_id = pr.id AND v.sku ILIKE $${n}))`,
      containsPattern(f.search),
    );
  }
  if (f.statuses) w.add((n) => `pr.stock_status = ANY($${n}::text[])`, f.statuses);
  if (f.active != null) w.add((n) => `pr.active = $${n}`, f.active);
  if (f.warehouseIds) {
    w.add(
      (n) =>
        `EXISTS (SELECT 1 FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
                  WHERE v.store_id = pr.store_id AND v.product_id = pr.id AND l.warehouse_id = ANY($${n}::uuid[]))`,
      f.warehouseIds,
    );
  }
  if (f.updatedSince) w.add((n) => `pr.updated_at >= $${n}::timestamptz`, f.updatedSince);
  return { select: PRODUCT_SELECT, from: PRODUCTS_FROM, where: w.where, params: w.params, sort: PRODUCT_SORTS[sortKey] };
}

export function productPage(
  tx: Tx,
  storeId: string,
  filter: ProductFilter,
  sortKey: ProductSortKey,
  page: PageRequest,
): Promise<Page<ProductRow>> {
  return runPage<ProductRow>(tx, productQuery(storeId, filter, sortKey), page);
}
