/**
 * Per-process event hub: sequences committed outbox rows and fans them out to this process's
 * subscribers, in sequence order.
 *
 * Wake-ups come from (1) this process's own commits (`poke`), (2) PostgreSQL LISTEN/NOTIFY from
 * other instances, and (3) a periodic poll as the safety net — the outbox stays the source of
 * truth, so a lost notification only delays delivery by one poll interval.
 *
 * Fan-out sits behind `Fanout`: the in-process implementation below delivers to local
 * subscribers. For very large fan-out, a Redis pub/sub implementation can publish each sequenced
 * batch on a channel per store and deliver from its subscription instead (see docs/EVENTS.md).
 */
import pg from 'pg';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { withConn, type TxRunner } from '../db/tx';
import type { Logger } from '../log';
import { m as metrics, secondsSince } from '../observability/metrics';
import { inTrace, startSpan } from '../observability/tracing';
import { CoalescedLoop } from '../util/coalesced-loop';
import { eventsAfter, headSeq, purgeOutbox, sequenceAndRead, type OutboxEvent } from './outbox';

export type Listener = (e: OutboxEvent) => void;

/** What the hub needs of the application (the App satisfies it; events/ does not depend on app.ts). */
export interface HubDeps {
  config: Pick<Config, 'eventsPollMs' | 'outboxRetentionSeconds'>;
  db: Pick<Database, 'kind' | 'connection'>;
  log: Logger;
  tx: TxRunner;
}

export interface Fanout {
  publish(events: OutboxEvent[]): void;
  subscribe(storeId: string, listener: Listener): () => void;
}

export class LocalFanout implements Fanout {
  private readonly byStore = new Map<string, Set<Listener>>();
  publish(events: OutboxEvent[]): void {
    for (const e of events) {
      for (const l of this.byStore.get(e.storeId) ?? []) {
        try {
          l(e);
        } catch {
          /* a listener's failure is its own */
        }
      }
    }
  }
  subscribe(storeId: string, listener: Listener): () => void {
    let set = this.byStore.get(storeId);
    if (!set) this.byStore.set(storeId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.byStore.delete(storeId);
    };
  }
  get subscriberCount(): number {
    let n = 0;
    for (const s of this.byStore.values()) n += s.size;
    return n;
  }
}

export class EventHub {
  readonly fanout = new LocalFanout();
  /** Highest seq published to local subscribers. */
  lastSeq = 0;
  private listener: pg.Client | null = null;
  /** The pump: on every poke (coalesced) and every eventsPollMs. */
  private readonly loop: CoalescedLoop;
  private stopped = false;
  private lastPurge = 0;
  /** Called after a pump whose sequencing queued webhook deliveries (the webhook worker delivers them). */
  onPumped: ((deliveries: number) => void) | null = null;
  /** Called on a NOTIFY of another channel this hub listens to (`alsoListen`). */
  onNotify: ((channel: string, payload: string | undefined) => void) | null = null;
  /** Further channels to LISTEN on, with the hub's one listening connection. */
  alsoListen: string[] = [];

  /** The hub's own transactions must not wake the hub again. */
  private readonly tx;
  /**
   * On PostgreSQL the hub has its own connection: under write load the request pool has a queue,
   * and a pump waiting in it delays every subscriber's events (embedded PGlite has one session, so
   * there it shares the pool).
   */
  private readonly ownPool: pg.Pool | null = null;

  constructor(private readonly app: HubDeps) {
    if (app.db.kind === 'postgres') {
      const pool = new pg.Pool({ ...app.db.connection, max: 1, idleTimeoutMillis: 30_000 });
      pool.on('error', (err) => app.log.warn('event hub connection lost', { err: err.message }));
      pool.on('connect', (client) =>
        client.on('error', (err) => app.log.warn('event hub connection lost while in use', { err: err.message })),
      );
      this.ownPool = pool;
    }
    this.tx = { pool: this.ownPool ?? app.tx.pool, maxRetries: app.tx.maxRetries };
    this.loop = new CoalescedLoop(
      () => this.pump(),
      app.config.eventsPollMs,
      (e) => app.log.warn('event pump failed; will retry', { err: e.message }),
    );
  }

  async start(): Promise<void> {
    this.lastSeq = await withConn(this.tx, headSeq);
    await this.listen();
    this.loop.start();
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client(this.app.db.connection);
    c.on('notification', (n) => (this.alsoListen.includes(n.channel) ? this.onNotify?.(n.channel, n.payload) : this.poke()));
    c.on('error', (err) => {
      this.app.log.warn('event listener connection lost; reconnecting', { err: err.message });
      this.listener = null;
      c.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 1000).unref();
    });
    try {
      await c.connect();
      await c.query('LISTEN inventory_outbox');
      await c.query('LISTEN inventory_sequenced');
      for (const ch of this.alsoListen) await c.query(`LISTEN ${ch}`);
      this.listener = c;
    } catch (e) {
      // The poll still delivers; try LISTEN again later.
      this.app.log.warn('LISTEN failed; polling only for now', { err: (e as Error).message });
      await c.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 2000).unref();
    }
  }

  /** Schedules a pump (coalesced). */
  poke(): void {
    if (this.stopped) return;
    // With tracing on, the wake-up is a span of the change that caused it (its pump's statements
    // are its children; a wake-up folded into a running pump is a span of its own, ended at once).
    const span = inTrace() ? startSpan('outbox wake-up', 'internal', { 'inventory.outbox.coalesced': this.loop.busy }) : null;
    if (this.loop.busy || !span) {
      this.loop.poke();
      span?.end();
      return;
    }
    span.run(() => this.loop.poke());
    void this.loop.settle().finally(() => span.end());
  }

  /** Waits for the current pump (tests, shutdown). */
  async settle(): Promise<void> {
    await this.loop.settle();
  }

  private async pump(): Promise<void> {
    // Sequence what is pending and read what follows lastSeq: one round trip in the common case
    // (another instance may be sequencing too: the lock orders us after it, and it notifies us).
    let deliveries = 0;
    for (;;) {
      const last = this.lastSeq;
      const r = await withConn(this.tx, (c) => sequenceAndRead(c, last, 1000, 500));
      // Batches of 500: a subscriber's buffer (≥ 1000) always holds a whole batch.
      deliveries += r.deliveries;
      let events = r.events;
      while (events.length > 0) {
        this.lastSeq = events[events.length - 1].seq;
        const now = Date.now();
        for (const e of events) metrics.eventLag.observe({ stage: 'sequenced' }, secondsSince(e.createdAt, now));
        this.fanout.publish(events);
        if (events.length < 500) break;
        const after = this.lastSeq;
        events = await withConn(this.tx, (tx) => eventsAfter(tx, after, 500));
      }
      if (r.sequenced < 1000) break;
    }
    if (deliveries > 0) this.onPumped?.(deliveries);
    if (Date.now() - this.lastPurge > 60_000) {
      this.lastPurge = Date.now();
      await withConn(this.tx, (tx) => purgeOutbox(tx, this.app.config.outboxRetentionSeconds));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
    await this.ownPool?.end().catch(() => undefined);
  }
}
