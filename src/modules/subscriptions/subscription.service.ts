/**
 * Event streams for subscribers: resume from a cursor (the event's sequence) with no gap and no
 * duplicate, then live events, through a bounded buffer.
 */
import type { App } from '../../app';
import { poolTx } from '../../db/tx';
import { eventsAfter, purgedThrough, type OutboxEvent, type Topic } from '../../events/outbox';
import type { StockStatus } from '../inventory/availability';

export interface EventFilter {
  warehouseIds?: string[] | null;
  variantIds?: string[] | null;
  skus?: string[] | null;
  productIds?: string[] | null;
  statuses?: StockStatus[] | null;
}

export class CursorExpiredError extends Error {}
export class SlowConsumerError extends Error {}

/** skus and productIds become variant ids once, at subscribe time; every given condition must hold. */
async function matcher(app: App, storeId: string, f: EventFilter): Promise<(e: OutboxEvent) => boolean> {
  let variants: Set<string> | null = null;
  const intersect = (ids: string[]) => {
    variants = variants ? new Set(ids.filter((i) => variants!.has(i))) : new Set(ids);
  };
  const tx = poolTx(app.db.pool);
  if (f.variantIds) intersect(f.variantIds);
  if (f.skus) intersect((await tx.query<{ id: string }>(`SELECT id FROM variants WHERE store_id = $1 AND sku = ANY($2::text[])`, [storeId, f.skus])).map((r) => r.id));
  if (f.productIds) {
    intersect((await tx.query<{ id: string }>(`SELECT id FROM variants WHERE store_id = $1 AND product_id = ANY($2::uuid[])`, [storeId, f.productIds])).map((r) => r.id));
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
 * Events of one topic for one store. With `after`, every retained event after it comes first, in
 * order; live events follow without gap or duplicate. More than `config.subscriptionBuffer`
 * undelivered events end the stream with SlowConsumerError.
 */
export async function eventStream(
  app: App,
  storeId: string,
  topic: Topic,
  filter: EventFilter,
  after: number | null,
  onSlow: (reason: string) => void = () => undefined,
): Promise<AsyncIterableIterator<OutboxEvent>> {
  const hub = app.events;
  if (!hub) throw new Error('event hub not started');
  const tx = poolTx(app.db.pool);
  if (after !== null) {
    const purged = await purgedThrough(tx);
    if (after < purged) throw new CursorExpiredError(`Events up to ${purged} are no longer retained; resync (read the current state) and subscribe again without "after"`);
  }
  const matches = await matcher(app, storeId, filter);
  const wanted = (e: OutboxEvent) => e.topic === topic && matches(e);
  const limit = app.config.subscriptionBuffer;

  const queue: OutboxEvent[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let done = false;
  // Live events are queued from now on; the backlog below covers everything before.
  const unsubscribe: () => void = hub.fanout.subscribe(storeId, (e) => {
    if (done || failure || !wanted(e)) return;
    if (queue.length >= limit) {
      // Cut off at once: stop queueing (memory stays bounded) and close the connection.
      failure = new SlowConsumerError(`Subscriber too slow: more than ${limit} events pending; reconnect with "after" set to the last cursor received`);
      queue.length = 0;
      unsubscribe();
      onSlow(failure.message.slice(0, 120));
    } else queue.push(e);
    wake?.();
  });
  let last = after ?? hub.lastSeq;
  let scanned = after ?? 0;
  let backlog: OutboxEvent[] = [];
  let backlogDone = after === null;

  const next = async (): Promise<IteratorResult<OutboxEvent>> => {
    for (;;) {
      if (done) return { done: true, value: undefined };
      if (failure) {
        finish();
        throw failure;
      }
      if (!backlogDone && backlog.length === 0) {
        const page = await eventsAfter(tx, scanned, 500, storeId);
        if (page.length) scanned = page[page.length - 1].seq;
        backlog = page.filter(wanted);
        if (page.length < 500) backlogDone = true;
      }
      const e = backlog.shift() ?? (backlogDone ? queue.shift() : undefined);
      if (e) {
        if (e.seq <= last) continue; // already delivered from the backlog
        last = e.seq;
        return { done: false, value: e };
      }
      if (!backlogDone) continue;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  };
  const finish = () => {
    done = true;
    unsubscribe();
    wake?.();
  };
  const it: AsyncIterableIterator<OutboxEvent> = {
    next,
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    async throw(e) {
      finish();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
