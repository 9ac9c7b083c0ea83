/**
 * Per-request DataLoaders, named xByY. Every loader is scoped to the caller's store: an id from
 * another store loads as null, exactly like a missing one.
 */
import DataLoader from 'dataloader';
import type { App } from '../app';
import { poolTx } from '../db/tx';
import * as catalog from '../modules/catalog/catalog.service';
import type { Page } from '../db/keyset';
import { stockTotals, type StockTotals } from '../modules/inventory/level.reads';
import { variantCountsByProduct } from '../modules/catalog/catalog.reads';
import { levelsByIds } from '../modules/inventory/levels';
import { movementsByIds, type MovementRow } from '../modules/inventory/movement.reads';
import type { LevelRow } from '../modules/inventory/stock-writer';
import { linesByIds, linesByReservationIds, reservationsByIds, type ReservationLineRow, type ReservationRow } from '../modules/reservations/reservation.service';

function byKey<T, K>(keys: readonly K[], rows: T[], keyOf: (r: T) => K): (T | null)[] {
  const m = new Map(rows.map((r) => [keyOf(r), r]));
  return keys.map((k) => m.get(k) ?? null);
}

function groupBy<T, K>(keys: readonly K[], rows: T[], keyOf: (r: T) => K): T[][] {
  const m = new Map<K, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return keys.map((k) => m.get(k) ?? []);
}

export function createLoaders(app: App, storeId: string | null) {
  const prisma = app.db.prisma;
  const tx = poolTx(app.db.pool);
  const sid = storeId ?? '00000000-0000-0000-0000-000000000000';
  const nested = new Map<string, DataLoader<string, unknown>>();
  return {
    productById: new DataLoader<string, catalog.ProductRow | null>(async (ids) => byKey(ids, await catalog.productsByIds(prisma, sid, ids), (r) => r.id)),
    variantById: new DataLoader<string, catalog.VariantRow | null>(async (ids) => byKey(ids, await catalog.variantsByIds(prisma, sid, ids), (r) => r.id)),
    variantBySku: new DataLoader<string, catalog.VariantRow | null>(async (skus) => byKey(skus, await catalog.variantsBySkus(prisma, sid, skus), (r) => r.sku)),
    warehouseById: new DataLoader<string, catalog.WarehouseRow | null>(async (ids) => byKey(ids, await catalog.warehousesByIds(prisma, sid, ids), (r) => r.id)),
    warehouseByCode: new DataLoader<string, catalog.WarehouseRow | null>(async (c) => byKey(c, await catalog.warehousesByCodes(prisma, sid, c), (r) => r.code)),
    productByExternalId: new DataLoader<string, catalog.ProductRow | null>(async (e) =>
      byKey(e, await catalog.productsByExternalIds(prisma, sid, e), (r) => r.externalId!),
    ),
    levelById: new DataLoader<string, LevelRow | null>(async (ids) => byKey(ids, await levelsByIds(tx, sid, ids), (r) => r.id)),
    reservationById: new DataLoader<string, ReservationRow | null>(async (ids) => byKey(ids, await reservationsByIds(tx, sid, ids), (r) => r.id)),
    linesByReservationId: new DataLoader<string, ReservationLineRow[]>(async (ids) => groupBy(ids, await linesByReservationIds(tx, ids), (r) => r.reservationId)),
    lineById: new DataLoader<string, ReservationLineRow | null>(async (ids) => byKey(ids, await linesByIds(tx, sid, ids), (r) => r.id)),
    movementById: new DataLoader<string, MovementRow | null>(async (ids) => byKey(ids, await movementsByIds(tx, sid, ids), (r) => r.id)),
    totalsByVariantId: new DataLoader<string, StockTotals>(async (ids) => stockTotals(tx, sid, 'variant', ids)),
    totalsByProductId: new DataLoader<string, StockTotals>(async (ids) => stockTotals(tx, sid, 'product', ids)),
    variantCountByProductId: new DataLoader<string, number>(async (ids) => variantCountsByProduct(tx, sid, ids)),
    /**
     * Nested connections: one loader per field and argument set (`key`), batching every parent
     * that asks for the same page into one statement.
     */
    nested<T>(key: string, batch: (parentIds: readonly string[]) => Promise<T[]>): DataLoader<string, T> {
      let l = nested.get(key) as DataLoader<string, T> | undefined;
      if (!l) {
        l = new DataLoader<string, T>(batch);
        nested.set(key, l as DataLoader<string, unknown>);
      }
      return l;
    },
  };
}

export type NestedPage<T> = Page<T>;

export type Loaders = ReturnType<typeof createLoaders>;
