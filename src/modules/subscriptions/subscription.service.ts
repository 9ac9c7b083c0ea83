/**
 * Event streams for subscribers: resume from a cursor (the event's sequence) with no gap and no
 * duplicate, then live events, through a bounded buffer.
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
export class SlowConsumerError extends Error {}

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

/**
 * Events of one topic for one store, for one subscriber. With `after`, every retained event after
 * it comes first, in order; live events follow without gap or duplicate. More than
 * `config.subscriptionBuffer` undelivered events end it with SlowConsumerError (and `onSlow`).
 * Nothing is received before `attach`.
 */
export class EventSource implements EventFeed {
  constructor(
    private readonly app: App,
    readonly storeId: string,
    private readonly wanted: (e: OutboxEvent) => boolean,
    private readonly after: number | null,
    private readonly onSlow: (reason: string) => void,
  ) {}

  /** Starts pushing events to `sink`; returns the function that stops it. */
  attach(sink: EventSink): () => void {
    const { app, storeId, wanted, after } = this;
    const hub = app.events!;
    const limit = app.config.subscriptionBuffer;
    let done = false;
    // Live events wait here while the backlog is replayed.
    const early: OutboxEvent[] = [];
    let replaying = after !== null;
    let last = after ?? hub.lastSeqOf(storeId);
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      early.length = 0;
      unsubscribe();
      if (err instanceof SlowConsumerError) this.onSlow(err.message.slice(0, 120));
      sink.fail(err);
    };
    const slow = () =>
      fail(
        new SlowConsumerError(
          `Subscriber too slow: more than ${limit} events pending; reconnect with "after" set to the last cursor received`,
        ),
      );
    const deliver = (e: OutboxEvent) => {
      if (e.seq <= last) return; // already delivered from the backlog
      last = e.seq;
      sink.push(e);
    };
    // Live events from now on; the backlog below covers everything before.
    const unsubscribe: () => void = hub.fanout.subscribe(storeId, (e) => {
      if (done || !wanted(e)) return;
      if (replaying) {
        // Cut off at once: stop queueing (memory stays bounded) and close the connection.
        if (early.length >= limit) slow();
        else early.push(e);
      } else if (sink.pending >= limit) slow();
      else deliver(e);
    });
    if (replaying) {
      const tx = poolTx(app.db.pool);
      void (async () => {
        let scanned = after!;
        for (;;) {
          const page = await eventsAfter(tx, storeId, scanned, 500);
          if (done) return;
          if (page.length) scanned = page[page.length - 1].seq;
          for (const e of page) if (wanted(e)) deliver(e);
          if (page.length < 500) break;
          await sink.drained();
          if (done) return;
        }
        replaying = false;
        for (const e of early) deliver(e);
        early.length = 0;
      })().catch((e: Error) => fail(e));
    }
    return () => {
      done = true;
      early.length = 0;
      unsubscribe();
    };
  }
}

/**
 * Opens the event source of one subscription: checks the cursor (CursorExpiredError) and resolves
 * the filter once. `onSlow` is told when the subscriber is cut off (to close its connection).
 */
export async function openEventSource(
  app: App,
  storeId: string,
  topic: Topic,
  filter: EventFilter,
  after: number | null,
  onSlow: (reason: string) => void = () => undefined,
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
  return new EventSource(app, storeId, (e) => e.topic === topic && matches(e), after, onSlow);
}
