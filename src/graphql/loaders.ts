/**
 * Per-request DataLoaders, named xByY. Every loader is scoped to the caller's store: an id from
 * another store loads as null, exactly like a missing one.
 */
import DataLoader from 'dataloader';
import type { App } from '../app';
import { poolTx, type Tx } from '../db/tx';
import * as catalog from '../modules/catalog';
import { stockTotals, type StockTotals } from '../modules/inventory';
import { levelsByIds, type LevelRow } from '../modules/stock';
import { movementsByIds, type MovementRow } from '../modules/inventory';
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

type Batch<K, V> = (keys: readonly K[]) => Promise<(V | Error)[]>;

/**
 * The loaders of one request (or one subscription event). Each loader is created on first use:
 * a request touches a few of them, and building all of them for every request (and every event
 * delivered to every subscriber) was measurable garbage.
 */
export class RequestLoaders {
  private readonly tx: Tx;
  private readonly sid: string;
  private readonly made = new Map<string, DataLoader<unknown, unknown>>();

  constructor(app: App, storeId: string | null) {
    this.tx = poolTx(app.db.pool);
    this.sid = storeId ?? '00000000-0000-0000-0000-000000000000';
  }

  private lazy<K, V>(name: string, batch: Batch<K, V>): DataLoader<K, V> {
    let l = this.made.get(name) as DataLoader<K, V> | undefined;
    if (!l) {
      l = new DataLoader<K, V>(batch);
      this.made.set(name, l as DataLoader<unknown, unknown>);
    }
    return l;
  }

  get productById(): DataLoader<string, catalog.ProductRow | null> {
    return this.lazy('productById', async (ids: readonly string[]) => byKey(ids, await catalog.productsByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get variantById(): DataLoader<string, catalog.VariantRow | null> {
    return this.lazy('variantById', async (ids: readonly string[]) => byKey(ids, await catalog.variantsByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get variantBySku(): DataLoader<string, catalog.VariantRow | null> {
    return this.lazy('variantBySku', async (skus: readonly string[]) => byKey(skus, await catalog.variantsBySkus(this.tx, this.sid, skus), (r) => r.sku));
  }
  get warehouseById(): DataLoader<string, catalog.WarehouseRow | null> {
    return this.lazy('warehouseById', async (ids: readonly string[]) => byKey(ids, await catalog.warehousesByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get warehouseByCode(): DataLoader<string, catalog.WarehouseRow | null> {
    return this.lazy('warehouseByCode', async (c: readonly string[]) => byKey(c, await catalog.warehousesByCodes(this.tx, this.sid, c), (r) => r.code));
  }
  get productByExternalId(): DataLoader<string, catalog.ProductRow | null> {
    return this.lazy('productByExternalId', async (e: readonly string[]) =>
      byKey(e, await catalog.productsByExternalIds(this.tx, this.sid, e), (r) => r.externalId!),
    );
  }
  get levelById(): DataLoader<string, LevelRow | null> {
    return this.lazy('levelById', async (ids: readonly string[]) => byKey(ids, await levelsByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get reservationById(): DataLoader<string, ReservationRow | null> {
    return this.lazy('reservationById', async (ids: readonly string[]) => byKey(ids, await reservationsByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get linesByReservationId(): DataLoader<string, ReservationLineRow[]> {
    return this.lazy('linesByReservationId', async (ids: readonly string[]) => groupBy(ids, await linesByReservationIds(this.tx, ids), (r) => r.reservationId));
  }
  get lineById(): DataLoader<string, ReservationLineRow | null> {
    return this.lazy('lineById', async (ids: readonly string[]) => byKey(ids, await linesByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get movementById(): DataLoader<string, MovementRow | null> {
    return this.lazy('movementById', async (ids: readonly string[]) => byKey(ids, await movementsByIds(this.tx, this.sid, ids), (r) => r.id));
  }
  get totalsByVariantId(): DataLoader<string, StockTotals> {
    return this.lazy('totalsByVariantId', (ids: readonly string[]) => stockTotals(this.tx, this.sid, 'variant', ids));
  }
  get totalsByProductId(): DataLoader<string, StockTotals> {
    return this.lazy('totalsByProductId', (ids: readonly string[]) => stockTotals(this.tx, this.sid, 'product', ids));
  }
  get variantCountByProductId(): DataLoader<string, number> {
    return this.lazy('variantCountByProductId', (ids: readonly string[]) => catalog.variantCountsByProduct(this.tx, this.sid, ids));
  }

  /** Seeds the by-id loaders with catalogue rows a service already fetched (e.g. with a page of levels). */
  prime(rows: { variants?: catalog.VariantRow[]; products?: catalog.ProductRow[]; warehouses?: catalog.WarehouseRow[] }): void {
    if (rows.variants?.length) for (const v of rows.variants) this.variantById.prime(v.id, v);
    if (rows.products?.length) for (const p of rows.products) this.productById.prime(p.id, p);
    if (rows.warehouses?.length) for (const w of rows.warehouses) this.warehouseById.prime(w.id, w);
  }

  /**
   * Nested connections: one loader per field and argument set (`key`), batching every parent
   * that asks for the same page into one statement.
   */
  nested<T>(key: string, batch: (parentIds: readonly string[]) => Promise<T[]>): DataLoader<string, T> {
    return this.lazy(`nested:${key}`, batch);
  }
}

export function createLoaders(app: App, storeId: string | null): RequestLoaders {
  return new RequestLoaders(app, storeId);
}

export type Loaders = RequestLoaders;
