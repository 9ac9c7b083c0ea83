/**
 * Rows for a read-only warehouse that would leave the level as it is: a set to the current on-hand
 * quantity (0 for a level that does not exist), or a delta of 0. Read-only levels refuse stock
 * changes (READONLY_WAREHOUSE), so such a row is a no-op, counted as unchanged, rather than an
 * error: an export imports back without errors.
 */
import type { App } from '../../app';
import type { BulkItem } from '../inventory';
import type { PendingRow } from './import-types';

const NOOP_SQL = `SELECT x.i FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::int[])
                                AS x(i, sku, wh, qty, amount, currency, pol, lim, lpol, llim)
         JOIN warehouses w ON w.store_id = $1 AND w.code = x.wh AND w.read_only
         JOIN variants v ON v.store_id = $1 AND v.sku = x.sku
         LEFT JOIN inventory_levels l ON l.store_id = $1 AND l.variant_id = v.id AND l.warehouse_id = w.id
        WHERE (x.qty IS NULL OR coalesce(l.on_hand, 0) = x.qty)
          AND (x.amount IS NULL OR (v.price_amount = x.amount::numeric AND v.price_currency = x.currency))
          AND (x.pol IS NULL OR (v.inventory_policy::text = x.pol AND v.backorder_limit IS NOT DISTINCT FROM x.lim))
          AND (x.lpol IS NULL OR (coalesce(l.inventory_policy::text, 'INHERIT') = x.lpol AND (x.lpol = 'INHERIT' OR l.backorder_limit IS NOT DISTINCT FROM x.llim)))`;

export class ReadOnlyNoops {
  private codes: Promise<Set<string>> | null = null;

  constructor(
    private readonly app: App,
    private readonly storeId: string,
  ) {}

  /** Indexes of the items that are such no-ops. */
  async find(items: BulkItem[]): Promise<Set<number>> {
    this.codes ??= this.app.db.pool
      .query<{ code: string }>('SELECT code FROM warehouses WHERE store_id = $1 AND read_only', [this.storeId])
      .then((r) => new Set(r.rows.map((x) => x.code)));
    const codes = await this.codes;
    // Candidates: a set (compared with the level below) or a delta of 0; a price and policies with
    // the row must equal the variant's and the level's (anything else goes to the bulk path, which
    // validates and refuses it).
    const cand: number[] = [];
    items.forEach((it, i) => {
      if (it.sku == null || it.warehouseCode == null || !codes.has(it.warehouseCode)) return;
      if (it.mode === 'ADJUST' && it.delta !== 0) return;
      if (it.price == null || /^-?\d{1,11}(\.\d{1,4})?$/.test(String(it.price.amount))) cand.push(i);
    });
    const noop = new Set<number>();
    if (cand.length === 0) return noop;
    const r = await this.app.db.pool.query<{ i: number }>(NOOP_SQL, [
      this.storeId,
      cand,
      cand.map((i) => items[i].sku),
      cand.map((i) => items[i].warehouseCode),
      cand.map((i) => (items[i].mode === 'SET' ? items[i].quantity : null)),
      cand.map((i) => (items[i].price ? String(items[i].price!.amount) : null)),
      cand.map((i) => items[i].price?.currencyCode ?? null),
      cand.map((i) => items[i].variantPolicy?.inventoryPolicy ?? null),
      cand.map((i) => items[i].variantPolicy?.backorderLimit ?? null),
      cand.map((i) => items[i].levelPolicy?.inventoryPolicy ?? null),
      cand.map((i) => items[i].levelPolicy?.backorderLimit ?? null),
    ]);
    for (const row of r.rows) noop.add(row.i);
    return noop;
  }
}

/** Drops the no-op items from the batch, marks their rows unchanged and renumbers the others. */
export function withoutNoops(items: BulkItem[], pending: PendingRow[], noop: Set<number>): BulkItem[] {
  if (noop.size === 0) return items;
  const renumber = new Map<number, number>();
  const kept = items.filter((_, i) => {
    if (noop.has(i)) return false;
    renumber.set(i, renumber.size);
    return true;
  });
  for (const p of pending) {
    if (p.item === undefined) continue;
    if (noop.has(p.item)) {
      p.unchanged = true;
      p.item = undefined;
    } else p.item = renumber.get(p.item);
  }
  return kept;
}
