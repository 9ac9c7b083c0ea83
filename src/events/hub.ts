/**
 * Per-process event hub: sequences committed outbox rows into their stores' streams and fans them
 * out to this process's subscribers, in sequence order per store. It reads only the streams of the
 * stores that have subscribers here.
 *
 * Wake-ups come from (1) this process's own commits (`poke`; stock changes do not NOTIFY, see
 * src/modules/stock/statements.ts), (2) PostgreSQL LISTEN/NOTIFY: `inventory_sequenced` from
 * another instance's sequencer (a read of the followed streams: that instance numbered them),
 * `inventory_outbox` from a process without a hub (./wake.ts), and
 * (3) a periodic poll as the safety net — the outbox stays the source of truth, so a lost
 * notification only delays delivery by one poll interval.
 *
 * Fan-out sits behind `Fanout`: the in-process implementation below delivers to local
 * subscribers. With NATS_URL set, the events of the followed stores come from NATS JetStream
 * instead of being read from PostgreSQL by every process (./fan-in.ts; docs/SCALING.md).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { withConn, withTx, type TxRunner } from '../db/tx';
import type { Logger } from '../log';
import { m as metrics, secondsSince } from '../observability/metrics';
import { inTrace, startSpan } from '../observability/tracing';
import { CoalescedLoop } from '../util/coalesced-loop';
import { partitionWidth, upkeepEventLog, vacuumOutboxQueue } from './event-log';
import { JetStreamFanIn } from './fan-in';
import { OUTBOX_CHANNEL } from './wake';
import { sequenceAndRead, streamOf, streamsAfter, type OutboxEvent } from './outbox';
import type { Backlog } from './stream-replay';

/** Notified by a numbering transaction that numbered anything (src/events/outbox.ts). */
const SEQUENCED_CHANNEL = 'inventory_sequenced';

export type Listener = (e: OutboxEvent) => void;

/** What the hub needs of the application (the App satisfies it; events/ does not depend on app.ts). */
export interface HubDeps {
  config: Pick<Config, 'eventsPollMs' | 'outboxRetentionSeconds'> & Partial<Pick<Config, 'natsServers' | 'eventsPumpGapMs'>>;
  db: Pick<Database, 'kind' | 'connection' | 'pool'>;
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
  /** The stores with subscribers here. */
  stores(): IterableIterator<string> {
    return this.byStore.keys();
  }
  has(storeId: string): boolean {
    return this.byStore.has(storeId);
  }
  get subscriberCount(): number {
    let n = 0;
    for (const s of this.byStore.values()) n += s.size;
    return n;
  }
}

/** Events read per store and round trip. */
const READ_BATCH = 500;
/** Queued rows numbered per sequencing transaction. */
const SEQUENCE_BATCH = 1000;
/** The outbox queue is vacuumed after this many rows went through it (or a minute after the last vacuum). */
const VACUUM_AFTER_ROWS = 5000;
const VACUUM_MIN_INTERVAL_MS = 5_000;
const VACUUM_MAX_INTERVAL_MS = 60_000;
/** A store another instance was numbering is looked at again this soon. */
const BUSY_RETRY_MS = 25;

export class EventHub {
  readonly fanout = new LocalFanout();
  /** Per store followed here: the highest seq published to local subscribers. */
  private readonly published = new Map<string, number>();
  private listener: pg.Client | null = null;
  /** The pump: on every poke (coalesced, at least eventsPumpGapMs between starts) and every eventsPollMs. */
  private readonly loop: CoalescedLoop;
  private stopped = false;
  /**
   * Whether a wake-up since the last numbering asked for one: this process's commits, a process
   * without a hub (`inventory_outbox`), a busy store. Another instance's `inventory_sequenced` only
   * means there is something to read: its pump reads the followed streams and numbers nothing (the
   * poll still numbers at least every half poll interval, in case the committer died first).
   */
  private sequenceWanted = true;
  private lastSequenced = 0;
  /** The stores `inventory_sequenced` named since the last read (all followed ones: `readAll`). */
  private readStores = new Set<string>();
  private readAll = false;
  /** Pumps since start: those that ran the numbering transaction, reads of the streams only, and the streams those read. */
  readonly pumps = { sequencing: 0, readOnly: 0, readOnlyStreams: 0 };
  /** Tags this hub's `inventory_sequenced` notifications: it ignores its own (its pump read what it numbered). */
  private readonly notifier = randomUUID();
  private lastUpkeep = 0;
  private lastVacuum = Date.now();
  /** Rows this hub numbered (deleted from the queue) since its last vacuum of the queue. */
  private drained = 0;
  private readonly upkeepMs: number;
  /** Called after a pump whose sequencing queued webhook deliveries (the webhook worker delivers them). */
  onPumped: ((deliveries: number) => void) | null = null;
  /** Called on a NOTIFY of another channel this hub listens to (`alsoListen`). */
  onNotify: ((channel: string, payload: string | undefined) => void) | null = null;
  /** Further channels to LISTEN on, with the hub's one listening connection. */
  alsoListen: string[] = [];
  /** NATS_URL set: the relay to JetStream, and the followed stores' events from it. */
  readonly jetstream: JetStreamFanIn | null = null;

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
    this.upkeepMs = Math.min(60_000, Math.max(250, partitionWidth(app.config.outboxRetentionSeconds * 1000) / 2));
    if (app.config.natsServers) {
      const servers = app.config.natsServers;
      this.jetstream = new JetStreamFanIn(
        { servers, pollMs: app.config.eventsPollMs, db: app.db, tx: this.tx, log: app.log },
        {
          positionOf: (s) => (this.fanout.has(s) ? this.published.get(s) : undefined),
          stores: () => this.fanout.stores(),
          publish: (events) => void this.publish(events),
        },
      );
    }
    this.loop = new CoalescedLoop(
      () => this.pump(),
      app.config.eventsPollMs,
      (e) => app.log.warn('event pump failed; will retry', { err: e.message }),
      app.config.eventsPumpGapMs ?? 0,
    );
  }

  async start(): Promise<void> {
    // The partitions of the event log exist before the first event is numbered.
    await this.upkeep();
    await this.jetstream?.start();
    await this.listen();
    this.loop.start();
  }

  /**
   * Makes this hub follow `storeId` from its stream's current head, unless it already follows it
   * for subscribers here. Call before subscribing to the store on `fanout`; `lastSeqOf` is then the
   * position of the first live event.
   */
  async track(storeId: string): Promise<void> {
    if (this.fanout.has(storeId) && this.published.has(storeId)) return;
    const { head } = await withConn(this.tx, (tx) => streamOf(tx, storeId));
    // Another subscriber of the store may have come meanwhile: its position is the current one.
    if (!this.fanout.has(storeId) || !this.published.has(storeId)) this.published.set(storeId, head);
    await this.jetstream?.follow(storeId);
  }

  /**
   * A resume's backlog reader: from JetStream while NATS_URL is set and NATS is up, else null (the
   * subscriber reads event_log).
   */
  backlog(storeId: string): Backlog | null {
    return this.jetstream?.replay(storeId) ?? null;
  }

  /** The highest seq of `storeId` published here (after `track`). */
  lastSeqOf(storeId: string): number {
    return this.published.get(storeId) ?? 0;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client(this.app.db.connection);
    c.on('notification', (n) => {
      if (this.alsoListen.includes(n.channel)) this.onNotify?.(n.channel, n.payload);
      else if (n.channel === SEQUENCED_CHANNEL) this.sequencedElsewhere(n.payload);
      else this.poke();
    });
    c.on('error', (err) => {
      this.app.log.warn('event listener connection lost; reconnecting', { err: err.message });
      this.listener = null;
      c.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 1000).unref();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
      // With JetStream, other instances' numbering reaches this process through NATS.
      if (!this.jetstream) await c.query(`LISTEN ${SEQUENCED_CHANNEL}`);
      for (const ch of this.alsoListen) await c.query(`LISTEN ${ch}`);
      this.listener = c;
    } catch (e) {
      // The poll still delivers; try LISTEN again later.
      this.app.log.warn('LISTEN failed; polling only for now', { err: (e as Error).message });
      await c.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 2000).unref();
    }
  }

  /** Schedules a pump that numbers what is queued (coalesced). */
  poke(): void {
    this.sequenceWanted = true;
    this.wake();
  }

  /**
   * An `inventory_sequenced` notification, `<notifier>:<store ids>` (src/events/outbox.ts): another
   * instance numbered events of these stores (no ids, or another payload: of any store), so read
   * them. This hub's own are ignored: the pump that numbered them read them in the same round trip.
   */
  private sequencedElsewhere(payload: string | undefined): void {
    const colon = payload ? payload.indexOf(':') : -1;
    if (colon >= 0 && payload!.slice(0, colon) === this.notifier) return;
    const stores = colon >= 0 ? payload!.slice(colon + 1) : '';
    if (stores) for (const s of stores.split(',')) this.readStores.add(s);
    else this.readAll = true;
    this.wake();
  }

  /** Schedules a pump (coalesced). */
  private wake(): void {
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
    await this.jetstream?.settle();
  }

  /** The streams to read: the stores with subscribers here, from what was published to them. */
  private following(only?: ReadonlySet<string>): Map<string, number> {
    const m = new Map<string, number>();
    // With JetStream the followed stores' events come from it (and gaps from ./intake.ts).
    if (this.jetstream) return m;
    for (const s of this.fanout.stores()) {
      const at = this.published.get(s);
      if (at !== undefined && (!only || only.has(s))) m.set(s, at);
    }
    return m;
  }

  /** Publishes events read from the streams; returns the stores that filled a batch (more to read). */
  private publish(events: OutboxEvent[]): Set<string> {
    const perStore = new Map<string, number>();
    const fresh: OutboxEvent[] = [];
    const now = Date.now();
    for (const e of events) {
      perStore.set(e.storeId, (perStore.get(e.storeId) ?? 0) + 1);
      if (e.seq <= (this.published.get(e.storeId) ?? 0)) continue;
      this.published.set(e.storeId, e.seq);
      metrics.eventLag.observe({ stage: 'sequenced' }, secondsSince(e.createdAt, now));
      fresh.push(e);
    }
    this.fanout.publish(fresh);
    return new Set([...perStore].filter(([, n]) => n >= READ_BATCH).map(([s]) => s));
  }

  private async pump(): Promise<void> {
    if (!this.sequenceWanted && Date.now() - this.lastSequenced < this.app.config.eventsPollMs / 2) return this.readStreams();
    this.sequenceWanted = false;
    this.lastSequenced = Date.now();
    this.pumps.sequencing++;
    // This pump reads every followed stream.
    this.readAll = false;
    this.readStores.clear();
    // Number what is queued and read what follows each followed store's position: one round trip
    // in the common case (another instance numbering a store notifies us when it commits).
    let deliveries = 0;
    let numbered = 0;
    let busy: number;
    for (;;) {
      const r = await withConn(this.tx, (c) => sequenceAndRead(c, this.following(), SEQUENCE_BATCH, READ_BATCH, this.notifier));
      deliveries += r.deliveries;
      busy = r.busy;
      this.drained += r.sequenced;
      numbered += r.sequenced;
      let more = this.publish(r.events);
      while (more.size > 0) {
        const next = this.following(more);
        more = this.publish(await withConn(this.tx, (tx) => streamsAfter(tx, next, READ_BATCH)));
      }
      // A backlog keeps this loop going: the upkeep and the queue's vacuum still get their turns.
      await this.maintain();
      if (r.sequenced < SEQUENCE_BATCH) break;
    }
    if (deliveries > 0) this.onPumped?.(deliveries);
    // The instance that numbered events relays them at once; the others look every poll interval.
    if (numbered > 0) this.jetstream?.poke();
    // Queued events of a store another instance was numbering, committed after it looked: soon again.
    if (busy > 0) setTimeout(() => this.poke(), BUSY_RETRY_MS).unref();
  }

  /** Reads the followed streams another instance numbered, after what was published here. */
  private async readStreams(): Promise<void> {
    this.pumps.readOnly++;
    const only = this.readAll ? undefined : this.readStores;
    this.readAll = false;
    this.readStores = new Set();
    for (let after = this.following(only); after.size > 0;) {
      this.pumps.readOnlyStreams += after.size;
      const more = this.publish(await withConn(this.tx, (tx) => streamsAfter(tx, after, READ_BATCH)));
      after = this.following(more);
    }
    await this.maintain();
  }

  /** The event log's upkeep and the queue's vacuum, when due. */
  private async maintain(): Promise<void> {
    if (Date.now() - this.lastUpkeep >= this.upkeepMs) await this.upkeep();
    const since = Date.now() - this.lastVacuum;
    if ((this.drained >= VACUUM_AFTER_ROWS && since >= VACUUM_MIN_INTERVAL_MS) || (this.drained > 0 && since >= VACUUM_MAX_INTERVAL_MS)) {
      this.drained = 0;
      this.lastVacuum = Date.now();
      await withConn(this.tx, vacuumOutboxQueue);
    }
  }

  /** Partitions ahead, retention (see event-log.ts). */
  private async upkeep(): Promise<void> {
    this.lastUpkeep = Date.now();
    await withTx(this.tx, (tx) => upkeepEventLog(tx, this.app.config.outboxRetentionSeconds * 1000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    await this.jetstream?.stop();
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
    await this.ownPool?.end().catch(() => undefined);
  }
}
