/**
 * Batch reads of catalogue rows for the DataLoaders, store-scoped: one statement per batch. Plain SQL
 * through the caller's Tx (one statement each, prepared once per connection): these run on every
 * nested read, where Prisma's per-call query compilation cost more than the query itself. The
 * select lists come from the generated client (src/db/columns.ts).
 */
import { preparedStatement } from '../../db/client';
import { columnsOf } from '../../db/columns';
import type { Tx } from '../../db/tx';
import type { ProductRow, VariantRow, WarehouseRow } from './catalog.model';

const PRODUCT_COLUMNS = columnsOf('product', 'p');
const VARIANT_COLUMNS = columnsOf('variant', 'v');
const WAREHOUSE_COLUMNS = columnsOf('warehouse', 'w');

const PRODUCTS_BY_IDS = preparedStatement(
  'products_by_ids',
  `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.store_id = $1 AND p.id = ANY($2::uuid[])`,
);
const PRODUCTS_BY_EXTERNAL_IDS = preparedStatement(
  'products_by_external_ids',
  `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.store_id = $1 AND p.external_id = ANY($2::text[])`,
);
const VARIANTS_BY_IDS = preparedStatement(
  'variants_by_ids',
  `SELECT ${VARIANT_COLUMNS} FROM variants v WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])`,
);
const VARIANTS_BY_SKUS = preparedStatement(
  'variants_by_skus',
  `SELECT ${VARIANT_COLUMNS} FROM variants v WHERE v.store_id = $1 AND v.sku = ANY($2::text[])`,
);
const WAREHOUSES_BY_IDS = preparedStatement(
  'warehouses_by_ids',
  `SELECT ${WAREHOUSE_COLUMNS} FROM warehouses w WHERE w.store_id = $1 AND w.id = ANY($2::uuid[])`,
);
const WAREHOUSES_BY_CODES = preparedStatement(
  'warehouses_by_codes',
  `SELECT ${WAREHOUSE_COLUMNS} FROM warehouses w WHERE w.store_id = $1 AND w.code = ANY($2::text[])`,
);

export function productsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ProductRow[]> {
  return tx.query<ProductRow>(PRODUCTS_BY_IDS, [storeId, ids]);
}
export function variantsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<VariantRow[]> {
  return tx.query<VariantRow>(VARIANTS_BY_IDS, [storeId, ids]);
}
export function variantsBySkus(tx: Tx, storeId: string, skus: readonly string[]): Promise<VariantRow[]> {
  return tx.query<VariantRow>(VARIANTS_BY_SKUS, [storeId, skus]);
}
export function warehousesByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<WarehouseRow[]> {
  return tx.query<WarehouseRow>(WAREHOUSES_BY_IDS, [storeId, ids]);
}
export function warehousesByCodes(tx: Tx, storeId: string, codes: readonly string[]): Promise<WarehouseRow[]> {
  return tx.query<WarehouseRow>(WAREHOUSES_BY_CODES, [storeId, codes]);
}
export function productsByExternalIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ProductRow[]> {
  return tx.query<ProductRow>(PRODUCTS_BY_EXTERNAL_IDS, [storeId, ids]);
}
