/**
 * Example partner integration with the typed client (@inventory/client):
 *
 *   1. makes sure the warehouse and the SKUs exist (creates them if not);
 *   2. bulk-syncs stock levels in one request (inventoryBulkUpdate, per-row errors);
 *   3. reserves units for an order (inventoryReserve; business errors come back as userErrors);
 *   4. follows inventoryChanged for those SKUs and prints each event, then the cursor to store
 *      for the next run (pass it as --after to resume exactly where this run stopped).
 *
 * It waits only for the events of what it changed: a run that changes nothing (the same quantities
 * again, a refused reservation) finishes at once. If anything fails after the reservation was made,
 * the reservation is released before the error is reported, so no stock stays held by a failed run.
 *
 * Run it against a gateway:
 *   npx tsc -p examples && node dist/examples/partner-sync.js \
 *     --url http://localhost:4000/graphql --key sk_… [--warehouse BER-1] [--sku A,B] [--after <cursor>]
 * (INVENTORY_URL and INVENTORY_API_KEY work too.) A partner's own code imports the client package
 * instead: `import { createInventoryClient } from '@inventory/client'`.
 */
import { randomUUID } from 'node:crypto';
import { createInventoryClient, type InventoryChangedEvent, type InventoryClient } from '../clients/typescript/src';

export interface PartnerSyncOptions {
  url: string;
  apiKey: string;
  /** Warehouse to stock (created if missing). */
  warehouseCode?: string;
  /** SKUs to sync (created as single-variant products if missing). */
  skus?: string[];
  /** Quantity to set per SKU (default 10, 20, 30, …). */
  quantities?: number[];
  /** Units of the first SKU to reserve (default 2). */
  reserveQuantity?: number;
  /**
   * Cursor stored by an earlier run. Default "0": replay the retained events of these SKUs, then
   * follow live ones (a first run sees its own bulk sync and reservation).
   */
  after?: string;
  /** How many events to print before stopping (default: one per level the run changed, plus one for the reservation). */
  events?: number;
  /** Give up waiting for events after this many ms (default 30 s). */
  timeoutMs?: number;
  /** Output (default console.log). */
  log?: (line: string) => void;
  /** Passed to the client (tests use it to drop the connection). */
  webSocketImpl?: unknown;
}

export interface PartnerSyncResult {
  warehouseCode: string;
  skus: string[];
  bulk: { updatedCount: number; failedCount: number };
  reservation: { id: string; status: string; reserved: number } | null;
  reservationErrors: string[];
  events: InventoryChangedEvent[];
  /** Store this and pass it as `after` next time. */
  lastCursor: string | null;
}

async function ensureWarehouse(client: InventoryClient, code: string, log: (l: string) => void) {
  const existing = await client.warehouse({ code });
  if (existing) return existing;
  const { warehouse, userErrors } = await client.warehouseCreate({ input: { code, name: `Partner warehouse ${code}` } });
  if (!warehouse) throw new Error(`warehouseCreate: ${userErrors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  log(`created warehouse ${code}`);
  return warehouse;
}

async function ensureSku(client: InventoryClient, sku: string, log: (l: string) => void) {
  if (await client.variant({ sku })) return;
  const { product, userErrors } = await client.productCreate({ input: { name: `Product ${sku}`, externalId: sku, sku } });
  if (!product) throw new Error(`productCreate ${sku}: ${userErrors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  log(`created product ${sku}`);
}

export async function main(opts: PartnerSyncOptions): Promise<PartnerSyncResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const warehouseCode = opts.warehouseCode ?? 'PARTNER-1';
  const skus = opts.skus?.length ? opts.skus : ['PARTNER-SKU-1', 'PARTNER-SKU-2', 'PARTNER-SKU-3'];
  const client = createInventoryClient({ url: opts.url, apiKey: opts.apiKey, webSocketImpl: opts.webSocketImpl });
  try {
    // 1. Catalog.
    const warehouse = await ensureWarehouse(client, warehouseCode, log);
    for (const sku of skus) await ensureSku(client, sku, log);

    // 4 (set up first). Follow the SKUs' changes. SKU filters are resolved when subscribing, so
    // the SKUs must exist by now; with "after" every retained event after it comes first.
    const events: InventoryChangedEvent[] = [];
    let failed: Error | null = null;
    let wake = () => undefined as void;
    const stop = client.subscribe.inventoryChanged(
      { filter: { skus, warehouseIds: [warehouse.id] }, after: opts.after ?? '0' },
      {
        next: (e) => {
          events.push(e);
          log(
            `event ${e.cursor} ${e.variant.sku}@${e.warehouse.code} ${e.reason}: onHand ${e.before.onHand}→${e.after.onHand}, reserved ${e.before.reserved}→${e.after.reserved}, available ${e.before.available}→${e.after.available} (${e.after.status})`,
          );
          wake();
        },
        error: (err) => {
          failed = err;
          wake();
        },
      },
    );

    // What the sync will change: a level already at its quantity gives no event.
    const target = (i: number) => opts.quantities?.[i] ?? 10 * (i + 1);
    const current = new Map<string, number>();
    const existing = await client.inventoryLevels({ filter: { skus, warehouseIds: [warehouse.id] }, first: skus.length });
    for (const { node } of existing.edges) current.set(node.variant.sku, node.onHand);
    /** The events this run waits for, by what they look like. */
    const expected = new Set(
      skus.filter((sku, i) => current.get(sku) !== target(i)).map((sku) => `${sku} CYCLE_COUNT ${target(skus.indexOf(sku))}`),
    );
    const seen = (e: InventoryChangedEvent) => {
      expected.delete(`${e.variant.sku} ${e.reason} ${e.reason === 'CYCLE_COUNT' ? e.after.onHand : ''}`);
    };

    // 2. Bulk sync: absolute quantities from the partner's system, one request, per-row errors.
    const bulk = await client.inventoryBulkUpdate({
      input: {
        errorPolicy: 'REJECT_FAILED_ROWS',
        reason: 'CYCLE_COUNT',
        idempotencyKey: `partner-sync-${randomUUID()}`,
        items: skus.map((sku, i) => ({ mode: 'SET' as const, sku, warehouseCode, quantity: target(i) })),
      },
    });
    log(`bulk sync: ${bulk.updatedCount} updated, ${bulk.failedCount} failed`);
    for (const r of bulk.results) {
      if (r.userErrors.length) log(`  row ${r.index}: ${r.userErrors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
      else if (r.inventoryLevel)
        log(`  row ${r.index}: ${r.inventoryLevel.variant.sku} onHand ${r.inventoryLevel.onHand} available ${r.inventoryLevel.available}`);
      if (r.userErrors.length) expected.delete(`${skus[r.index]} CYCLE_COUNT ${target(r.index)}`);
    }

    // 3. Reserve for an order: userErrors (e.g. INSUFFICIENT_STOCK) are data, not exceptions.
    const reserved = await client.inventoryReserve({
      input: {
        reference: `order-${randomUUID().slice(0, 8)}`,
        ttlSeconds: 900,
        idempotencyKey: randomUUID(),
        lines: [{ sku: skus[0], warehouseCode, quantity: opts.reserveQuantity ?? 2 }],
      },
    });
    const reservationErrors = reserved.userErrors.map((e) => `${e.code} ${e.message}`);
    if (reserved.reservation) expected.add(`${skus[0]} RESERVATION `);
    if (reserved.reservation) {
      const r = reserved.reservation;
      log(
        `reservation ${r.id} ${r.status}: ${r.lines.map((l) => `${l.quantity} × ${l.inventoryLevel.variant.sku}@${l.inventoryLevel.warehouse.code}`).join(', ')}`,
      );
    } else {
      log(`reservation refused: ${reservationErrors.join('; ')}`);
    }

    // 4. Wait for the events of what this run changed (or `events` of them, if given).
    try {
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const deadline = Date.now() + timeoutMs;
      const done = () => (opts.events !== undefined ? events.length >= opts.events : (events.forEach(seen), expected.size === 0));
      while (!done() && !failed && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
      }
      if (failed) throw failed;
      if (!done()) throw new Error(`no event within ${timeoutMs} ms for: ${[...expected].join(', ') || `${opts.events} events`}`);
    } catch (e) {
      // Do not leave stock held by a run that failed.
      if (reserved.reservation) {
        const r = await client
          .reservationRelease({ input: { reservationId: reserved.reservation.id, idempotencyKey: `release-${reserved.reservation.id}` } })
          .catch((err: Error) => ({ reservation: null, userErrors: [{ code: 'ERROR', message: err.message }] }));
        log(
          r.reservation
            ? `released reservation ${reserved.reservation.id} (the run failed)`
            : `could not release reservation ${reserved.reservation.id}: ${r.userErrors.map((x) => x.message).join('; ')}`,
        );
      }
      throw e;
    } finally {
      stop();
    }
    const lastCursor = events.length ? events[events.length - 1].cursor : (opts.after ?? null);
    log(`${events.length} events; resume with --after ${lastCursor ?? '0'}`);
    return {
      warehouseCode,
      skus,
      bulk: { updatedCount: bulk.updatedCount, failedCount: bulk.failedCount },
      reservation: reserved.reservation
        ? {
            id: reserved.reservation.id,
            status: reserved.reservation.status,
            reserved: reserved.reservation.lines.reduce((n, l) => n + l.quantity, 0),
          }
        : null,
      reservationErrors,
      events,
      lastCursor,
    };
  } finally {
    await client.dispose();
  }
}

function argv(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  const apiKey = argv('key') ?? process.env.INVENTORY_API_KEY;
  if (!apiKey) {
    console.error('usage: partner-sync --url <graphql url> --key <sk_…> [--warehouse CODE] [--sku A,B] [--after CURSOR]');
    process.exit(2);
  }
  main({
    url: argv('url') ?? process.env.INVENTORY_URL ?? 'http://localhost:4000/graphql',
    apiKey,
    warehouseCode: argv('warehouse'),
    skus: argv('sku')?.split(',').filter(Boolean),
    after: argv('after'),
  }).then(
    () => process.exit(0),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
