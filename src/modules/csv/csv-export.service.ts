/**
 * CSV export of the current stock levels, streamed: levels are read page by page (keyset on the
 * variant SKU, never OFFSET, never all rows at once) inside one read-only REPEATABLE READ
 * transaction, so the file is one consistent snapshot, and written through csv-stringify with
 * backpressure. Counters are the effective ones the API shows (due reservation lines do not count).
 *
 * The file can be imported again as it is: `sku` identifies the variant, `onHand` is read as the
 * quantity of mode set, `price`/`currency` as the variant's price, `inventoryPolicy`/`backorderLimit`
 * as the variant's backorder policy and `levelInventoryPolicy`/`levelBackorderLimit` as the level's
 * override (empty: none, kept on import), so exporting and importing it back changes nothing.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { App } from '../../app';
import { effectiveReserved } from '../stock';

export const EXPORT_COLUMNS = [
  'sku',
  'externalId',
  'label',
  'product',
  'warehouse',
  'onHand',
  'reserved',
  'incoming',
  'safetyStock',
  'available',
  'status',
  'price',
  'currency',
  'inventoryPolicy',
  'backorderLimit',
  'levelInventoryPolicy',
  'levelBackorderLimit',
] as const;

export class CsvExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvExportError';
  }
}

export interface ExportOptions {
  storeId: string;
  /** Only the levels of this warehouse. */
  warehouseCode?: string | null;
  /** Variants per page (each page holds their levels in every warehouse). */
  pageSize?: number;
  /** End `out` when done (default true; pass false for process.stdout). */
  end?: boolean;
}

type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number | null> & { cursor: string };

/** Streams the store's levels as CSV into `out`; resolves with the number of data rows. */
export async function exportCsv(app: App, opts: ExportOptions, out: Writable): Promise<{ rows: number }> {
  const pageSize = opts.pageSize ?? 1000;
  const client = await app.db.pool.connect();
  let rows = 0;
  let open = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    open = true;
    // A slow reader (a pipe to a pager) may leave the transaction idle for a while between pages.
    await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    let warehouseId: string | null = null;
    if (opts.warehouseCode != null) {
      const w = await client.query<{ id: string }>('SELECT id FROM warehouses WHERE store_id = $1 AND code = $2', [
        opts.storeId,
        opts.warehouseCode,
      ]);
      if (!w.rows[0]) throw new CsvExportError(`warehouse "${opts.warehouseCode}" does not exist in this store`);
      warehouseId = w.rows[0].id;
    }
    // The same effective counters as LEVELS_FROM in inventory/level.reads.ts (the API's), joined by
    // store and variant id alone so that each page is a handful of index lookups whatever the table statistics.
    const sql = `
      WITH page AS (
        SELECT v.id, v.sku, v.label, v.product_id, v.price_amount, v.price_currency, v.inventory_policy, v.backorder_limit FROM variants v
         WHERE v.store_id = $1 AND v.sku > $2 ORDER BY v.sku LIMIT $3
      )
      SELECT page.sku AS cursor, page.sku, p.external_id AS "externalId", page.label, p.name AS product, w.code AS warehouse,
             l.on_hand AS "onHand", r.reserved, l.incoming, l.safety_stock AS "safetyStock",
             greatest(l.on_hand - r.reserved - l.safety_stock, 0)::int AS available,
             inventory_stock_status(greatest(l.on_hand - r.reserved - l.safety_stock, 0)::int, l.low_stock_threshold, l.critical_threshold) AS status,
             trim_scale(page.price_amount)::text AS price,
             page.price_currency AS currency,
             page.inventory_policy::text AS "inventoryPolicy", page.backorder_limit AS "backorderLimit",
             l.inventory_policy::text AS "levelInventoryPolicy",
             CASE WHEN l.inventory_policy IS NOT NULL THEN l.backorder_limit END AS "levelBackorderLimit"
        FROM page
        JOIN products p ON p.store_id = $1 AND p.id = page.product_id
        LEFT JOIN inventory_levels l ON l.store_id = $1 AND l.variant_id = page.id ${warehouseId ? 'AND l.warehouse_id = $4' : ''}
        LEFT JOIN LATERAL (
          SELECT ${effectiveReserved()} AS reserved
        ) r ON true
        LEFT JOIN warehouses w ON w.store_id = l.store_id AND w.id = l.warehouse_id
       ORDER BY page.sku, w.code`;
    // Variants without levels give one row with NULL counters: they only move the cursor.
    async function* levels(): AsyncGenerator<ExportRow> {
      let cursor = '';
      for (;;) {
        const r = await client.query<ExportRow>(
          sql,
          warehouseId ? [opts.storeId, cursor, pageSize, warehouseId] : [opts.storeId, cursor, pageSize],
        );
        let variants = 0;
        for (const row of r.rows) {
          if (row.cursor !== cursor) variants++;
          cursor = row.cursor;
          if (row.warehouse == null) continue;
          rows++;
          yield row;
        }
        if (variants < pageSize) return;
      }
    }
    await pipeline(Readable.from(levels()), stringify({ header: true, columns: [...EXPORT_COLUMNS] }), out, { end: opts.end ?? true });
    await client.query('COMMIT');
    open = false;
    return { rows };
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
