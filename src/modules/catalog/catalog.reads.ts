/**
 * Read side of the catalogue: keyset-paginated products (with stock aggregates for filtering and
 * sorting), variants (also nested per product, one statement for all products) and warehouses,
 * and the case-insensitive variant-by-label lookup of seed 004.
 */
import { countByParent, runPage, runPagesByParent, type Page, type PageQuery, type PageRequest, type SortSpec } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import type { StockStatus } from '../stock';
import { BEST_STATUS, LEVELS_FROM } from '../inventory/level.reads';
import { catalogColumns, type ProductRow, type VariantRow, type WarehouseRow, type WarehouseType } from './catalog.service';

/** ILIKE pattern for a user's search text: %, _ and \ match themselves. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function whereBuilder(storeId: string) {
  const params: unknown[] = [storeId];
  const where: string[] = [];
  return {
    params,
    where,
    add(sql: (n: number) => string, v: unknown) {
      params.push(v);
      where.push(sql(params.length));
    },
  };
}

// ---- products ----

const PRODUCTS_FROM = `(
  SELECT p.*, coalesce(t.on_hand, 0)::int8 AS total_on_hand, coalesce(t.available, 0)::int8 AS total_available,
         coalesce(t.status, 'OUT_OF_STOCK') AS stock_status
    FROM products p
    LEFT JOIN LATERAL (
      SELECT sum(lv.on_hand) AS on_hand, sum(lv.available) AS available, ${BEST_STATUS} AS status
        FROM ${LEVELS_FROM} WHERE lv.product_id = p.id
    ) t ON true
   WHERE p.store_id = $1
) pr`;

const PRODUCT_SELECT = catalogColumns('product', 'pr');

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
  const w = whereBuilder(storeId);
  if (f.search != null && f.search !== '') {
    w.add(
      (n) => `(pr.name ILIKE $${n} OR pr.external_id ILIKE $${n} OR EXISTS (SELECT 1 FROM variants v WHERE v.product_id = pr.id AND v.sku ILIKE $${n}))`,
      containsPattern(f.search),
    );
  }
  if (f.statuses) w.add((n) => `pr.stock_status = ANY($${n}::text[])`, f.statuses);
  if (f.active != null) w.add((n) => `pr.active = $${n}`, f.active);
  if (f.warehouseIds) {
    w.add((n) => `EXISTS (SELECT 1 FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE v.product_id = pr.id AND l.warehouse_id = ANY($${n}::uuid[]))`, f.warehouseIds);
  }
  if (f.updatedSince) w.add((n) => `pr.updated_at >= $${n}::timestamptz`, f.updatedSince);
  return { select: PRODUCT_SELECT, from: PRODUCTS_FROM, where: w.where, params: w.params, sort: PRODUCT_SORTS[sortKey] };
}

export function productPage(tx: Tx, storeId: string, filter: ProductFilter, sortKey: ProductSortKey, page: PageRequest): Promise<Page<ProductRow>> {
  return runPage<ProductRow>(tx, productQuery(storeId, filter, sortKey), page);
}

// ---- variants ----

const VARIANTS_FROM = `variants va`;
const VARIANT_SELECT = catalogColumns('variant', 'va');

export type VariantSortKey = 'SKU' | 'UPDATED_AT' | 'PRICE';

const VARIANT_SORTS: Record<VariantSortKey, SortSpec> = {
  SKU: { expr: 'va.sku', cast: 'text', idExpr: 'va.id', idCast: 'uuid' },
  // Exact: the amount in 1/10000 units (numeric(15,4) → below 2^53, so cursors carry it exactly);
  // no price sorts as -1. Index variants_store_id_price_id_idx.
  PRICE: { expr: 'coalesce((va.price_amount * 10000)::int8, -1)', cast: 'int8', idExpr: 'va.id', idCast: 'uuid' },
  UPDATED_AT: { expr: 'va.updated_at', cast: 'timestamptz', idExpr: 'va.id', idCast: 'uuid' },
};

export interface VariantFilter {
  productIds?: string[] | null;
  skus?: string[] | null;
  search?: string | null;
  updatedSince?: Date | null;
}

function variantQuery(storeId: string, f: VariantFilter, sortKey: VariantSortKey): PageQuery {
  const w = whereBuilder(storeId);
  w.where.push('va.store_id = $1');
  if (f.productIds) w.add((n) => `va.product_id = ANY($${n}::uuid[])`, f.productIds);
  if (f.skus) w.add((n) => `va.sku = ANY($${n}::text[])`, f.skus);
  if (f.search != null && f.search !== '') w.add((n) => `(va.sku ILIKE $${n} OR va.label ILIKE $${n} OR va.external_id ILIKE $${n})`, containsPattern(f.search));
  if (f.updatedSince) w.add((n) => `va.updated_at >= $${n}::timestamptz`, f.updatedSince);
  return { select: VARIANT_SELECT, from: VARIANTS_FROM, where: w.where, params: w.params, sort: VARIANT_SORTS[sortKey] };
}

export function variantPage(tx: Tx, storeId: string, filter: VariantFilter, sortKey: VariantSortKey, page: PageRequest): Promise<Page<VariantRow>> {
  return runPage<VariantRow>(tx, variantQuery(storeId, filter, sortKey), page);
}

export function variantPagesByProduct(tx: Tx, storeId: string, productIds: readonly string[], sortKey: VariantSortKey, page: PageRequest): Promise<Page<VariantRow>[]> {
  return runPagesByParent<VariantRow>(tx, { ...variantQuery(storeId, {}, sortKey), parentExpr: 'va.product_id', parentCast: 'uuid' }, productIds, page);
}

export function variantCountsByProduct(tx: Tx, storeId: string, productIds: readonly string[]): Promise<number[]> {
  const q = variantQuery(storeId, {}, 'SKU');
  return countByParent(tx, { from: q.from, where: q.where, params: q.params, parentExpr: 'va.product_id', parentCast: 'uuid' }, productIds);
}

/** seed 004: a product's variant by label, case-insensitively. */
export async function variantByLabel(
  tx: Tx,
  storeId: string,
  product: { id?: string | null; externalId?: string | null },
  label: string,
): Promise<{ variant: VariantRow | null; userErrors: UserErrorShape[] }> {
  const rows = await tx.query<VariantRow & { product_found: boolean }>(
    `SELECT ${VARIANT_SELECT} FROM products p JOIN variants va ON va.product_id = p.id
      WHERE p.store_id = $1 AND (p.id = $2::uuid OR p.external_id = $3) AND lower(va.label) = lower($4)
      ORDER BY va.created_at, va.id`,
    [storeId, product.id ?? null, product.id != null ? null : (product.externalId ?? null), label],
  );
  if (rows.length === 1) return { variant: rows[0], userErrors: [] };
  if (rows.length > 1) {
    return {
      variant: null,
      userErrors: [userError(ErrorCode.VARIANT_LABEL_AMBIGUOUS, `${rows.length} variants match the label "${label}": ${rows.map((r) => r.sku).join(', ')}`, ['label'])],
    };
  }
  const [p] = await tx.query<{ id: string }>(`SELECT id FROM products WHERE store_id = $1 AND (id = $2::uuid OR external_id = $3)`, [
    storeId,
    product.id ?? null,
    product.id != null ? null : (product.externalId ?? null),
  ]);
  if (!p) return { variant: null, userErrors: [userError(ErrorCode.PRODUCT_NOT_FOUND, 'Product not found', [product.id != null ? 'productId' : 'externalId'])] };
  return { variant: null, userErrors: [userError(ErrorCode.VARIANT_NOT_FOUND, `No variant of this product is labelled "${label}"`, ['label'])] };
}

// ---- warehouses ----

const WAREHOUSE_SELECT = catalogColumns('warehouse', 'w');

export type WarehouseSortKey = 'PRIORITY' | 'CODE' | 'NAME';

const WAREHOUSE_SORTS: Record<WarehouseSortKey, SortSpec> = {
  PRIORITY: { expr: 'w.priority::int8', cast: 'int8', idExpr: 'w.id', idCast: 'uuid' },
  CODE: { expr: 'w.code', cast: 'text', idExpr: 'w.id', idCast: 'uuid' },
  NAME: { expr: 'w.name', cast: 'text', idExpr: 'w.id', idCast: 'uuid' },
};

export interface WarehouseFilter {
  active?: boolean | null;
  readOnly?: boolean | null;
  types?: WarehouseType[] | null;
  search?: string | null;
}

export function warehousePage(tx: Tx, storeId: string, f: WarehouseFilter, sortKey: WarehouseSortKey, page: PageRequest): Promise<Page<WarehouseRow>> {
  const w = whereBuilder(storeId);
  w.where.push('w.store_id = $1');
  if (f.active != null) w.add((n) => `w.active = $${n}`, f.active);
  if (f.readOnly != null) w.add((n) => `w.read_only = $${n}`, f.readOnly);
  if (f.types) w.add((n) => `w.type::text = ANY($${n}::text[])`, f.types);
  if (f.search != null && f.search !== '') w.add((n) => `(w.code ILIKE $${n} OR w.name ILIKE $${n})`, containsPattern(f.search));
  return runPage<WarehouseRow>(tx, { select: WAREHOUSE_SELECT, from: 'warehouses w', where: w.where, params: w.params, sort: WAREHOUSE_SORTS[sortKey] }, page);
}
