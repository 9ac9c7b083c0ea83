/**
 * Event streams for subscribers: resume from a cursor (the event's sequence) with no gap and no
 * duplicate, then live events; what the delivery path cannot hold is read back from the outbox.
 */
import type { App } from '../../app';
import { poolTx } from '../../db/tx';
import { eventsAfter, streamOf, type OutboxEvent, type Topic } from '../../events/outbox';
import type { EventFeed, EventSink } from '../../events/sink';
import type { StockStatus } from '../stock';

export interface EventFilter {
  warehouseIds?: string[] | null;
  variantIds?: string[] | null;
  skus?: string[] | null;
  productIds?: string[] | null;
  statuses?: StockStatus[] | null;
}

export class CursorExpiredError extends Error {}
/** The cursor names an event that was never sequenced (beyond the newest one). */
export class CursorAheadError extends Error {}

/** skus and productIds become variant ids once, at subscribe time; every given condition must hold. */
async function matcher(app: App, storeId: string, f: EventFilter): Promise<(e: OutboxEvent) => boolean> {
  let variants: Set<string> | null = null;
  const intersect = (ids: string[]) => {
    variants = variants ? new Set(ids.filter((i) => variants!.has(i))) : new Set(ids);
  };
  const tx = poolTx(app.db.pool);
  if (f.variantIds) intersect(f.variantIds);
  if (f.skus)
    intersect(
      (await tx.query<{ id: string }>(`SELECT id FROM variants WHERE store_id = $1 AND sku = ANY($2::text[])`, [storeId, f.skus])).map(
        (r) => r.id,
      ),
    );
  if (f.productIds) {
    intersect(
      (
        await tx.query<{ id: string }>(`SELECT id FROM variants WHERE store_id = $1 AND product_id = ANY($2::uuid[])`, [
          storeId,
          f.productIds,
        ])
      ).map((r) => r.id),
    );
  }
  const allowed = variants as Set<string> | null;
  const warehouses = f.warehouseIds ? new Set(f.warehouseIds) : null;
  const statuses = f.statuses ? new Set<string>(f.statuses) : null;
  return (e) => {
    const p = e.payload as { variantId?: string; warehouseId?: string; status?: string };
    if (allowed && !allowed.has(p.variantId ?? '')) return false;
    if (warehouses && !warehouses.has(p.warehouseId ?? '')) return false;
    if (statuses && !statuses.has(p.status ?? '')) return false;
    return true;
  };
}

const PAGE = 500;

/**
 * Events of one topic for one store, for one subscriber. With `after`, every retained event after
 * it comes first, in order; live events follow without gap or duplicate. When the sink refuses an
 * event (its queue or subscription memory is full: the server is behind), live events are dropped
 * for this subscriber and read back from the outbox, from the last event it took, once the sink
 * has drained: memory stays bounded and nobody is cut off for the server's lag. Live events that
 * arrive while the outbox is read wait (at most `config.subscriptionBuffer` of them; more, and the
 * outbox is read once more). Nothing is received before `attach`.
 */
export class EventSource implements EventFeed {
  constructor(
    private readonly app: App,
    readonly storeId: string,
    private readonly wanted: (e: OutboxEvent) => boolean,
    private readonly after: number | null,
  ) {}

  /** Starts pushing events to `sink`; returns the function that stops it and the cursor it starts after. */
  attach(sink: EventSink): { stop: () => void; after: number } {
    const { app, storeId, wanted } = this;
    const [hub, limit, tx] = [app.events!, app.config.subscriptionBuffer, poolTx(app.db.pool)];
    let done = false;
    /** The last event the sink took. */
    let last = this.after ?? hub.lastSeqOf(storeId);
    const start = last;
    /** Reading the outbox: live events wait in `early` (or are dropped, `dropped`, and read again). */
    let behind = false;
    let dropped = false;
    const early: OutboxEvent[] = [];
    const fail = (err: Error) => {
      if (done) return;
      stop();
      sink.fail(err);
    };
    const deliver = (e: OutboxEvent): boolean => {
      if (e.seq <= last) return true; // already delivered
      if (!sink.push(e)) return false;
      last = e.seq;
      return true;
    };
    const catchUp = () => {
      behind = true;
      dropped = false;
      early.length = 0;
      void readOutbox().catch((e: Error) => fail(e));
    };
    const readOutbox = async () => {
      let from = last;
      let backoffMs = 0;
      for (;;) {
        await sink.drained();
        // Refused with nothing queued: subscription memory is at its cap; wait for it to come down.
        if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs));
        if (done) return;
        const page = await eventsAfter(tx, storeId, from, PAGE);
        if (done) return;
        let refused = false;
        const taken = last;
        for (const e of page) {
          if (wanted(e) && !deliver(e)) {
            refused = true;
            break;
          }
          from = e.seq;
        }
        backoffMs = refused && last === taken ? Math.min(1000, Math.max(25, backoffMs * 2)) : 0;
        // Refused: room first, then on from the last event taken.
        if (refused) from = last;
        else if (page.length < PAGE && dropped) {
          dropped = false; // live events were dropped meanwhile: they are in the outbox, read on
          early.length = 0;
        } else if (page.length < PAGE) {
          behind = false;
          const held = early.splice(0);
          for (const e of held) if (!deliver(e)) return catchUp();
          return;
        }
      }
    };
    // Live events from now on; the backlog covers everything before.
    const unsubscribe: () => void = hub.fanout.subscribe(storeId, (e) => {
      if (done || !wanted(e)) return;
      if (!behind) {
        if (!deliver(e)) catchUp();
      } else if (early.length < limit) early.push(e);
      else {
        early.length = 0;
        dropped = true;
      }
    });
    const stop = () => {
      done = true;
      early.length = 0;
      unsubscribe();
    };
    if (this.after !== null) catchUp();
    return { stop, after: start };
  }
}

/**
 * Opens the event source of one subscription: checks the cursor (CursorExpiredError) and resolves
 * the filter once.
 */
export async function openEventSource(
  app: App,
  storeId: string,
  topic: Topic,
  filter: EventFilter,
  after: number | null,
): Promise<EventSource> {
  if (!app.events) throw new Error('event hub not started');
  if (after !== null) {
    // Cursors are numbers of the store's own stream.
    const { head, purgedThrough: purged } = await streamOf(poolTx(app.db.pool), storeId);
    // "0" (or "oldest") replays everything retained: it starts after the last purged event, so it
    // never expires. Any other cursor older than the retention window is CURSOR_EXPIRED.
    if (after === 0) after = purged;
    if (after < purged)
      throw new CursorExpiredError(
        `Events up to ${purged} are no longer retained; resync (read the current state) and subscribe again without "after"`,
      );
    // A cursor beyond the newest event was never handed out: refused, so that it cannot skip the
    // events that will be numbered up to it.
    if (after > head)
      throw new CursorAheadError(
        `"after" (${after}) is beyond the newest event (${head}): give a cursor received from a subscription, "0" or "oldest"`,
      );
  }
  // Live events start after the store's position in this process's hub.
  await app.events.track(storeId);
  const matches = await matcher(app, storeId, filter);
  return new EventSource(app, storeId, (e) => e.topic === topic && matches(e), after);
}
