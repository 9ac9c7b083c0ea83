/** Inventory's per-request DataLoaders (src/graphql/loaders.ts): levels, ledger rows and stock totals. */
import { byKey, defineLoader } from '../../graphql/loaders';
import { levelsByIds, type LevelRow } from '../stock';
import { stockTotals, type StockTotals } from './level.reads';
import { movementsByIds, type MovementRow } from './movement.reads';
import { snapshots, type SnapshotRow } from './history.reads';

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

/** Snapshots by `${at ms}|${level id}`: one statement per moment asked about, for every level of the request. */
export const snapshotByKey = defineLoader<string, SnapshotRow | null>('levelSnapshot', async (tx, sid, keys) => {
  const byAt = new Map<string, string[]>();
  for (const k of keys) {
    const [at, id] = k.split('|');
    byAt.set(at, [...(byAt.get(at) ?? []), id]);
  }
  const found = new Map<string, SnapshotRow>();
  for (const [at, ids] of byAt) {
    for (const r of await snapshots(tx, sid, [...new Set(ids)], new Date(Number(at)))) found.set(`${at}|${r.levelId}`, r);
  }
  return keys.map((k) => found.get(k) ?? null);
});
