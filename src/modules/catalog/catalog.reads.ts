/**
 * Read side of the catalogue: keyset-paginated variants (also nested per product, one statement for
 * all products) and warehouses, and the case-insensitive variant-by-label lookup of seed 004. The
 * products list filters and sorts by stock: it is a read of the inventory module
 * (src/modules/inventory/product.reads.ts).
 */
import { columnsOf } from '../../db/columns';
import {
  countByParent,
  filterBuilder,
  runPage,
  runPagesByParent,
  type Page,
  type PageQuery,
  type PageRequest,
  type SortSpec,
} from '../../db/keyset';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import type { VariantRow, WarehouseRow, WarehouseType } from './catalog.model';

/** ILIKE pattern for a user's search text: %, _ and \ match themselves. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// ---- variants ----

const VARIANTS_FROM = `variants va`;
const VARIANT_SELECT = columnsOf('variant', 'va');

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
  const w = filterBuilder(storeId);
  w.where.push('va.store_id = $1');
  if (f.productIds) w.add((n) => `va.product_id = ANY($${n}::uuid[])`, f.productIds);
  if (f.skus) w.add((n) => `va.sku = ANY($${n}::text[])`, f.skus);
  if (f.search != null && f.search !== '')
    w.add((n) => `(va.sku ILIKE $${n} OR va.label ILIKE $${n} OR va.external_id ILIKE $${n})`, containsPattern(f.search));
  if (f.updatedSince) w.add((n) => `va.updated_at >= $${n}::timestamptz`, f.updatedSince);
  return { select: VARIANT_SELECT, from: VARIANTS_FROM, where: w.where, params: w.params, sort: VARIANT_SORTS[sortKey] };
}

export function variantPage(
  tx: Tx,
  storeId: string,
  filter: VariantFilter,
  sortKey: VariantSortKey,
  page: PageRequest,
): Promise<Page<VariantRow>> {
  return runPage<VariantRow>(tx, variantQuery(storeId, filter, sortKey), page);
}

export function variantPagesByProduct(
  tx: Tx,
  storeId: string,
  productIds: readonly string[],
  sortKey: VariantSortKey,
  page: PageRequest,
): Promise<Page<VariantRow>[]> {
  return runPagesByParent<VariantRow>(
    tx,
    { ...variantQuery(storeId, {}, sortKey), parentExpr: 'va.product_id', parentCast: 'uuid' },
    productIds,
    page,
  );
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
    `SELECT ${VARIANT_SELECT} FROM products p JOIN variants va ON va.store_id = p.store_id AND va.product_id = p.id
      WHERE p.store_id = $1 AND (p.id = $2::uuid OR p.external_id = $3) AND lower(va.label) = lower($4)
      ORDER BY va.created_at, va.id`,
    [storeId, product.id ?? null, product.id != null ? null : (product.externalId ?? null), label],
  );
  if (rows.length === 1) return { variant: rows[0], userErrors: [] };
  if (rows.length > 1) {
    return {
      variant: null,
      userErrors: [
        userError(
          ErrorCode.VARIANT_LABEL_AMBIGUOUS,
          `${rows.length} variants match the label "${label}": ${rows.map((r) => r.sku).join(', ')}`,
          ['label'],
        ),
      ],
    };
  }
  const [p] = await tx.query<{ id: string }>(`SELECT id FROM products WHERE store_id = $1 AND (id = $2::uuid OR external_id = $3)`, [
    storeId,
    product.id ?? null,
    product.id != null ? null : (product.externalId ?? null),
  ]);
  if (!p)
    return {
      variant: null,
      userErrors: [userError(ErrorCode.PRODUCT_NOT_FOUND, 'Product not found', [product.id != null ? 'productId' : 'externalId'])],
    };
  return {
    variant: null,
    userErrors: [userError(ErrorCode.VARIANT_NOT_FOUND, `No variant of this product is labelled "${label}"`, ['label'])],
  };
}

// ---- warehouses ----

const WAREHOUSE_SELECT = columnsOf('warehouse', 'w');

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

export function warehousePage(
  tx: Tx,
  storeId: string,
  f: WarehouseFilter,
  sortKey: WarehouseSortKey,
  page: PageRequest,
): Promise<Page<WarehouseRow>> {
  const w = filterBuilder(storeId);
  w.where.push('w.store_id = $1');
  if (f.active != null) w.add((n) => `w.active = $${n}`, f.active);
  if (f.readOnly != null) w.add((n) => `w.read_only = $${n}`, f.readOnly);
  if (f.types) w.add((n) => `w.type::text = ANY($${n}::text[])`, f.types);
  if (f.search != null && f.search !== '') w.add((n) => `(w.code ILIKE $${n} OR w.name ILIKE $${n})`, containsPattern(f.search));
  return runPage<WarehouseRow>(
    tx,
    { select: WAREHOUSE_SELECT, from: 'warehouses w', where: w.where, params: w.params, sort: WAREHOUSE_SORTS[sortKey] },
    page,
  );
}
