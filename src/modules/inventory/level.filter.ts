/** The InventoryLevelFilter argument (top-level and nested level lists) as the read service's LevelFilter. */
import { decodeIdList } from '../../graphql/ids';
import type { StockStatus } from '../stock';
import type { InventoryLevelFilter } from './inventory.reads.types';
import type { LevelFilter } from './level.reads';

export function levelFilterOf(f: InventoryLevelFilter | null | undefined): LevelFilter {
  if (!f) return {};
  return {
    warehouseIds: decodeIdList(f.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
    variantIds: decodeIdList(f.variantIds, 'Variant', 'filter.variantIds'),
    productIds: decodeIdList(f.productIds, 'Product', 'filter.productIds'),
    skus: f.skus ?? null,
    statuses: (f.statuses as StockStatus[] | null | undefined) ?? null,
    lowStockOnly: f.lowStockOnly ?? null,
    updatedSince: f.updatedSince ?? null,
    sellable: f.sellable ?? null,
  };
}
