/**
 * The hub's JetStream mode (NATS_URL set; docs/SCALING.md): the relay publishes every store's
 * numbered events to JetStream, and this process receives only the stores its subscribers follow,
 * from per-store ordered consumers, into the same fan-out as the in-process path.
 *
 * Exactness does not depend on JetStream: every event goes through `StoreIntake` (per-store order,
 * duplicates dropped, gaps read from event_log), and every `EVENTS_POLL_MS` one small read of the
 * followed stores' heads repairs what JetStream did not bring within a poll interval (NATS down or
 * restarting, a message lost). In the steady state that check is the only PostgreSQL read of the
 * fan-out: events themselves come from JetStream.
 */
import pg from 'pg';
import type { Database } from '../db/client';
import { poolTx, withConn, type TxRunner } from '../db/tx';
import type { Logger } from '../log';
import { CoalescedLoop } from '../util/coalesced-loop';
import { StoreIntake } from './intake';
import { JetStreamBus } from './jetstream';
import { eventsAfter, type OutboxEvent } from './outbox';
import { relayOnce } from './relay';
import { locateAfter, StreamBacklog, type Backlog, type ReplayCounts } from './stream-replay';

/** What the fan-in needs of the hub. */
export interface FanInHub {
  /** The store's published position, undefined when it has no subscribers here. */
  positionOf(storeId: string): number | undefined;
  /** The stores with subscribers here. */
  stores(): Iterable<string>;
  /** Publishes events to local subscribers (moves the positions; drops seq ≤ position). */
  publish(events: OutboxEvent[]): void;
}

export interface FanInDeps {
  servers: string[];
  pollMs: number;
  db: Pick<Database, 'kind' | 'connection' | 'pool'>;
  tx: TxRunner;
  log: Logger;
}

export class JetStreamFanIn {
  readonly bus: JetStreamBus;
  readonly intake: StoreIntake;
  /** Relaying and the periodic check: on every poke (after the hub's pumps) and every pollMs. */
  private readonly loop: CoalescedLoop;
  /** On PostgreSQL the relay has its own connection: its transaction spans the publications. */
  private readonly ownPool: pg.Pool | null = null;
  private readonly relayTx: TxRunner;
  /** Per followed store: its head at the previous check. */
  private readonly seenHead = new Map<string, number>();
  private lastCheck = 0;
  /** Events this process relayed (metrics, tests). */
  relayed = 0;
  /** Where the resumes of this process's subscribers read their backlogs (tests, metrics). */
  readonly replayCounts: ReplayCounts = { stream: 0, log: 0, logReads: 0 };

  constructor(
    private readonly deps: FanInDeps,
    private readonly hub: FanInHub,
  ) {
    const reads = poolTx(deps.db.pool);
    this.intake = new StoreIntake(
      (s) => hub.positionOf(s),
      (s, after, limit) => eventsAfter(reads, s, after, limit),
      (events) => hub.publish(events),
      (e) => deps.log.warn('reading a gap of a JetStream stream failed; the next check retries', { err: e.message }),
    );
    this.bus = new JetStreamBus(deps.servers, deps.log, (e) => this.intake.offer(e));
    if (deps.db.kind === 'postgres') {
      const pool = new pg.Pool({ ...deps.db.connection, max: 1, idleTimeoutMillis: 30_000 });
      pool.on('error', (err) => deps.log.warn('event relay connection lost', { err: err.message }));
      // A connection killed while in use emits 'error' on its client too: it must not end the process.
      pool.on('connect', (client) =>
        client.on('error', (err) => deps.log.warn('event relay connection lost while in use', { err: err.message })),
      );
      this.ownPool = pool;
    }
    this.relayTx = { pool: this.ownPool ?? deps.tx.pool, maxRetries: deps.tx.maxRetries };
    this.loop = new CoalescedLoop(
      () => this.round(),
      deps.pollMs,
      (e) => deps.log.warn('event relay failed; will retry', { err: e.message }),
    );
  }

  async start(): Promise<void> {
    await this.bus.start();
    this.loop.start();
  }

  /** Relay now (after the hub numbered events), and check when due. */
  poke(): void {
    this.loop.poke();
  }

  async settle(): Promise<void> {
    await this.loop.settle();
  }

  /** Follows a store's subjects (the periodic check retries if NATS is not reachable now). */
  async follow(storeId: string): Promise<void> {
    await this.bus.follow(storeId).catch((e: Error) => this.deps.log.warn('JetStream follow failed; retrying', { err: e.message }));
  }

  /**
   * A subscriber's resume backlog from JetStream (./stream-replay.ts), with event_log for what the
   * stream lacks; null while NATS is not connected (the backlog is then read from event_log).
   */
  replay(storeId: string): Backlog | null {
    const bus = this.bus;
    if (!bus.ready) return null;
    const probe = { next: (p: number) => bus.locate(storeId, p), last: () => bus.locate(storeId, null) };
    return new StreamBacklog(
      { locate: (after) => locateAfter(probe, after), open: (at) => bus.replay(storeId, at) },
      (after, limit) => eventsAfter(poolTx(this.deps.db.pool), storeId, after, limit),
      this.replayCounts,
      (e) => this.deps.log.warn('resuming from JetStream failed; reading event_log instead', { err: e.message }),
    );
  }

  private async round(): Promise<void> {
    if (this.bus.ready) {
      for (;;) {
        const r = await withConn(this.relayTx, (c) => relayOnce(c, (events) => this.bus.publish(events)));
        this.relayed += r.events;
        if (!r.more) break;
      }
    }
    if (Date.now() - this.lastCheck >= this.deps.pollMs) await this.check();
  }

  /**
   * Follows the stores that have subscribers (and stops following those that have none), and
   * repairs each store whose head seen at the previous check is still ahead of what was published.
   */
  private async check(): Promise<void> {
    this.lastCheck = Date.now();
    const stores = new Set(this.hub.stores());
    for (const s of this.bus.followed()) if (!stores.has(s)) this.bus.unfollow(s);
    for (const s of this.seenHead.keys()) if (!stores.has(s)) this.seenHead.delete(s);
    if (stores.size === 0) return;
    const followed = this.bus.followed();
    for (const s of stores) if (!followed.has(s)) await this.follow(s);
    const rows = await poolTx(this.deps.db.pool).query<{ store_id: string; head: string }>(
      `SELECT store_id, head FROM event_streams WHERE store_id = ANY($1::uuid[])`,
      [[...stores]],
    );
    for (const r of rows) {
      const head = Number(r.head);
      const prev = this.seenHead.get(r.store_id);
      const pos = this.hub.positionOf(r.store_id);
      if (prev !== undefined && pos !== undefined && prev > pos) this.intake.repair(r.store_id, prev);
      this.seenHead.set(r.store_id, head);
    }
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.bus.stop();
    await this.ownPool?.end().catch(() => undefined);
  }
}
