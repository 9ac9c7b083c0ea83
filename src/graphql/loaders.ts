/**
 * Per-request DataLoaders. The kit holds the registry; each module declares its own loaders next to
 * its reads with defineLoader() (e.g. `productById(ctx).load(id)` from the catalogue), so this file
 * knows no module. Every loader is scoped to the caller's store: an id from another store loads as
 * null, exactly like a missing one.
 */
import DataLoader from 'dataloader';
import type { App } from '../app';
import { poolTx, type Tx } from '../db/tx';

/** The rows in the order of `keys` (null where none matched). */
export function byKey<T, K>(keys: readonly K[], rows: T[], keyOf: (r: T) => K): (T | null)[] {
  const m = new Map(rows.map((r) => [keyOf(r), r]));
  return keys.map((k) => m.get(k) ?? null);
}

/** The rows grouped per key, in the order of `keys` (empty where none matched). */
export function groupBy<T, K>(keys: readonly K[], rows: T[], keyOf: (r: T) => K): T[][] {
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
  /** Reads outside any transaction, on the pool. */
  readonly tx: Tx;
  /** The caller's store (a store that does not exist when unauthenticated: everything loads as null). */
  readonly storeId: string;
  private readonly made = new Map<string, DataLoader<unknown, unknown>>();

  constructor(app: App, storeId: string | null) {
    this.tx = poolTx(app.db.pool);
    this.storeId = storeId ?? '00000000-0000-0000-0000-000000000000';
  }

  /** The request's loader named `name`, made with `batch` on first use. */
  lazy<K, V>(name: string, batch: Batch<K, V>): DataLoader<K, V> {
    let l = this.made.get(name) as DataLoader<K, V> | undefined;
    if (!l) {
      l = new DataLoader<K, V>(batch);
      this.made.set(name, l as DataLoader<unknown, unknown>);
    }
    return l;
  }

  /**
   * Nested connections: one loader per field and argument set (`key`), batching every parent
   * that asks for the same page into one statement.
   */
  nested<T>(key: string, batch: (parentIds: readonly string[]) => Promise<T[]>): DataLoader<string, T> {
    return this.lazy(`nested:${key}`, batch);
  }
}

/** What a loader needs of the request's context. */
export interface HasLoaders {
  loaders: RequestLoaders;
}

/**
 * Declares a per-request loader: `const productById = defineLoader('productById', (tx, storeId, ids) => …)`,
 * then `productById(ctx).load(id)`. `batch` answers in the order of `keys` (byKey / groupBy help).
 */
export function defineLoader<K, V>(
  name: string,
  batch: (tx: Tx, storeId: string, keys: readonly K[]) => Promise<(V | Error)[]>,
): (ctx: HasLoaders) => DataLoader<K, V> {
  return (ctx) => ctx.loaders.lazy<K, V>(name, (keys) => batch(ctx.loaders.tx, ctx.loaders.storeId, keys));
}

export function createLoaders(app: App, storeId: string | null): RequestLoaders {
  return new RequestLoaders(app, storeId);
}

export type Loaders = RequestLoaders;
