/** Inventory's per-request DataLoaders (src/graphql/loaders.ts): levels, ledger rows and stock totals. */
import { byKey, defineLoader } from '../../graphql/loaders';
import { levelsByIds, type LevelRow } from '../stock';
import { stockTotals, type StockTotals } from './level.reads';
import { movementsByIds, type MovementRow } from './movement.reads';

export const levelById = defineLoader<string, LevelRow | null>('levelById', async (tx, sid, ids) =>
  byKey(ids, await levelsByIds(tx, sid, ids), (r) => r.id),
);
export const movementById = defineLoader<string, MovementRow | null>('movementById', async (tx, sid, ids) =>
  byKey(ids, await movementsByIds(tx, sid, ids), (r) => r.id),
);
export const totalsByVariantId = defineLoader<string, StockTotals>('totalsByVariantId', (tx, sid, ids) =>
  stockTotals(tx, sid, 'variant', ids),
);
export const totalsByProductId = defineLoader<string, StockTotals>('totalsByProductId', (tx, sid, ids) =>
  stockTotals(tx, sid, 'product', ids),
);
