/** The catalogue's per-request DataLoaders (src/graphql/loaders.ts), store-scoped, batched into one statement each. */
import { byKey, defineLoader, type HasLoaders } from '../../graphql/loaders';
import { productsByExternalIds, productsByIds, variantsByIds, variantsBySkus, warehousesByCodes, warehousesByIds } from './catalog.loads';
import { variantCountsByProduct } from './catalog.reads';
import type { ProductRow, VariantRow, WarehouseRow } from './catalog.model';

export const productById = defineLoader<string, ProductRow | null>('productById', async (tx, sid, ids) =>
  byKey(ids, await productsByIds(tx, sid, ids), (r) => r.id),
);
export const variantById = defineLoader<string, VariantRow | null>('variantById', async (tx, sid, ids) =>
  byKey(ids, await variantsByIds(tx, sid, ids), (r) => r.id),
);
export const variantBySku = defineLoader<string, VariantRow | null>('variantBySku', async (tx, sid, skus) =>
  byKey(skus, await variantsBySkus(tx, sid, skus), (r) => r.sku),
);
export const warehouseById = defineLoader<string, WarehouseRow | null>('warehouseById', async (tx, sid, ids) =>
  byKey(ids, await warehousesByIds(tx, sid, ids), (r) => r.id),
);
export const warehouseByCode = defineLoader<string, WarehouseRow | null>('warehouseByCode', async (tx, sid, c) =>
  byKey(c, await warehousesByCodes(tx, sid, c), (r) => r.code),
);
export const productByExternalId = defineLoader<string, ProductRow | null>('productByExternalId', async (tx, sid, e) =>
  byKey(e, await productsByExternalIds(tx, sid, e), (r) => r.externalId!),
);
export const variantCountByProductId = defineLoader<string, number>('variantCountByProductId', (tx, sid, ids) =>
  variantCountsByProduct(tx, sid, ids),
);

/** Seeds the by-id loaders with catalogue rows a service already fetched (e.g. with a page of levels). */
export function primeCatalog(
  ctx: HasLoaders,
  rows: { variants?: VariantRow[]; products?: ProductRow[]; warehouses?: WarehouseRow[] },
): void {
  if (rows.variants?.length) for (const v of rows.variants) variantById(ctx).prime(v.id, v);
  if (rows.products?.length) for (const p of rows.products) productById(ctx).prime(p.id, p);
  if (rows.warehouses?.length) for (const w of rows.warehouses) warehouseById(ctx).prime(w.id, w);
}
