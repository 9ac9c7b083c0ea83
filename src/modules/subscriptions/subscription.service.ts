/**
 * Event streams for subscribers: resume from a cursor (the event's sequence) with no gap and no
 * duplicate, then live events; what the delivery path cannot hold is read back from the outbox.
 */
import type { App } from '../../app';
import { poolTx, type Tx } from '../../db/tx';
import { eventsAfter, streamOf, type OutboxEvent, type Topic } from '../../events/outbox';
import type { EventFeed, EventSink } from '../../events/sink';
import type { Backlog } from '../../events/stream-replay';
import { m as metrics } from '../../observability/metrics';
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
 *
 * With NATS_URL set and NATS up, the backlog of a resume (`after`) is read from JetStream while the
 * stream holds it, and from event_log only for what it does not (EventHub.backlog,
 * src/events/stream-replay.ts; docs/SCALING.md "Resume").
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
    const feed = new Feed(this.app, this.storeId, this.wanted, sink, this.after);
    return { stop: () => feed.stop(), after: feed.start };
  }
}

/** One attached event source (see EventSource). */
class Feed {
  private readonly hub: NonNullable<App['events']>;
  private readonly tx: Tx;
  private done = false;
  /** The last event the sink took. */
  private last: number;
  readonly start: number;
  /** Reading the outbox: live events wait in `early` (or are dropped, `dropped`, and read again). */
  private behind = false;
  private dropped = false;
  private readonly early: OutboxEvent[] = [];
  /** While behind, every live event after this position reaches `early` (the hub's position when it began). */
  private liveFrom = 0;
  /** The resume's backlog from JetStream (taken by the first read of the outbox); null: event_log. */
  private backlog: Backlog | null;
  private readonly unsubscribe: () => void;

  constructor(
    app: App,
    private readonly storeId: string,
    private readonly wanted: (e: OutboxEvent) => boolean,
    private readonly sink: EventSink,
    after: number | null,
  ) {
    this.hub = app.events!;
    this.tx = poolTx(app.db.pool);
    this.last = this.start = after ?? this.hub.lastSeqOf(storeId);
    this.backlog = after !== null ? this.hub.backlog(storeId) : null;
    const limit = app.config.subscriptionBuffer;
    // Live events from now on; the backlog covers everything before.
    this.unsubscribe = this.hub.fanout.subscribe(storeId, (e) => {
      if (this.done || !wanted(e)) return;
      if (!this.behind) {
        if (!this.deliver(e)) this.catchUp();
      } else if (this.early.length < limit) this.early.push(e);
      else {
        this.early.length = 0;
        this.dropped = true;
      }
    });
    if (after !== null) this.catchUp();
  }

  stop(): void {
    this.done = true;
    this.early.length = 0;
    this.unsubscribe();
    this.backlog?.close();
    this.backlog = null;
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.stop();
    this.sink.fail(err);
  }

  private deliver(e: OutboxEvent): boolean {
    if (e.seq <= this.last) return true; // already delivered
    if (!this.sink.push(e)) return false;
    this.last = e.seq;
    return true;
  }

  private catchUp(): void {
    this.behind = true;
    this.dropped = false;
    this.early.length = 0;
    this.liveFrom = this.hub.lastSeqOf(this.storeId);
    void this.readOutbox().catch((e: Error) => this.fail(e));
  }

  /** The events after `from`: from the resume's backlog reader, or a page of event_log. */
  private async page(backlog: Backlog | null, from: number): Promise<{ events: OutboxEvent[]; end: boolean }> {
    if (backlog) return backlog.page(from, this.liveFrom);
    const events = await eventsAfter(this.tx, this.storeId, from, PAGE);
    metrics.backlogEvents.inc({ source: 'event_log' }, events.length);
    return { events, end: events.length < PAGE };
  }

  private async readOutbox(): Promise<void> {
    const backlog = this.backlog;
    this.backlog = null;
    try {
      await this.readFrom(backlog);
    } finally {
      backlog?.close();
    }
  }

  private async readFrom(backlog: Backlog | null): Promise<void> {
    let from = this.last;
    let backoffMs = 0;
    for (;;) {
      await this.sink.drained();
      // Refused with nothing queued: subscription memory is at its cap; wait for it to come down.
      if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs));
      if (this.done) return;
      const page = await this.page(backlog, from);
      if (this.done) return;
      let refused = false;
      const taken = this.last;
      for (const e of page.events) {
        if (this.wanted(e) && !this.deliver(e)) {
          refused = true;
          break;
        }
        from = e.seq;
      }
      backoffMs = refused && this.last === taken ? Math.min(1000, Math.max(25, backoffMs * 2)) : 0;
      // Refused: room first, then on from the last event taken.
      if (refused) from = this.last;
      else if (page.end && this.dropped) {
        this.dropped = false; // live events were dropped meanwhile: they are in the outbox, read on
        this.early.length = 0;
        this.liveFrom = this.hub.lastSeqOf(this.storeId);
      } else if (page.end) {
        this.behind = false;
        const held = this.early.splice(0);
        for (const e of held) if (!this.deliver(e)) return this.catchUp();
        return;
      }
    }
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
