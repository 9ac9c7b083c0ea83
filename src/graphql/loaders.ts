/**
 * Per-request DataLoaders, named xByY. Every loader is scoped to the caller's store: an id from
 * another store loads as null, exactly like a missing one.
 */
import DataLoader from 'dataloader';
import type { App } from '../app';
import { poolTx } from '../db/tx';
import * as catalog from '../modules/catalog/catalog.service';
import { levelsByIds } from '../modules/inventory/levels';
import type { LevelRow } from '../modules/inventory/stock-writer';
import { linesByReservationIds, reservationsByIds, type ReservationLineRow, type ReservationRow } from '../modules/reservations/reservation.service';

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
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
