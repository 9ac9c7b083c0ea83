/**
 * The NATS JetStream side of the fan-out (NATS_URL set; docs/SCALING.md).
 *
 * One stream, `INVENTORY_EVENTS`, holds every store's numbered events on the subjects
 * `inventory.<storeId>.<topic>`. The relay (./relay.ts) publishes each event once with the
 * message id `<storeId>:<seq>`, so JetStream drops a re-publication within the duplicate window.
 * Each gateway process follows the stores its subscribers belong to: one ordered consumer per
 * followed store, filtered on `inventory.<storeId>.>`, started at the newest message (what came
 * before is read from PostgreSQL: the hub repairs every gap from event_log, see ./intake.ts). A
 * subscriber's resume reads its backlog from the stream (`locate`, `replay`; ./stream-replay.ts).
 * nats-server 2.9 (the one installed here) takes one filter per consumer; 2.10 could serve all of a
 * process's stores with one consumer and `filter_subjects`.
 */
import type * as JetStreamApi from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, MsgRequest, StreamConfig } from '@nats-io/jetstream';
import type * as NatsTransport from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log';
import type { OutboxEvent, Topic } from './outbox';
import type { Located, ReplayCursor } from './stream-replay';

export const STREAM = 'INVENTORY_EVENTS';
/** JetStream keeps an event this long (and the stream at most STREAM_MAX_BYTES); event_log keeps it for OUTBOX_RETENTION_MS. */
export const STREAM_MAX_AGE_MS = 60 * 60_000;
export const STREAM_MAX_BYTES = 1024 ** 3;
/** A re-publication of the same `<storeId>:<seq>` within this window is dropped by JetStream. */
export const DUPLICATE_WINDOW_MS = 5 * 60_000;
/** How long a publication waits for JetStream's acknowledgement. */
const PUBLISH_TIMEOUT_MS = 2_000;
/** How long a resume's probe of the stream, or one page of its replay, may take before event_log serves it instead. */
const REPLAY_TIMEOUT_MS = 2_000;

const ms = (n: number) => n * 1_000_000;

/**
 * The NATS client, loaded on first use: a gateway without NATS_URL (the embedded default, most
 * tests, every command) never loads it. Loading it took ~8 % of a gateway's start.
 */
function nats(): { api: typeof JetStreamApi; transport: typeof NatsTransport } {
  return {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    api: require('@nats-io/jetstream') as typeof JetStreamApi,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    transport: require('@nats-io/transport-node') as typeof NatsTransport,
  };
}

function streamConfig(): Partial<StreamConfig> & { name: string } {
  const { RetentionPolicy, StorageType, DiscardPolicy } = nats().api;
  return {
    name: STREAM,
    subjects: ['inventory.>'],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: ms(STREAM_MAX_AGE_MS),
    max_bytes: STREAM_MAX_BYTES,
    duplicate_window: ms(DUPLICATE_WINDOW_MS),
    num_replicas: 1,
  };
}

export const subjectOf = (storeId: string, topic: string): string => `inventory.${storeId}.${topic}`;
/** Every subject of one store. */
export const storeSubjects = (storeId: string): string => `inventory.${storeId}.>`;
export const msgIdOf = (e: Pick<OutboxEvent, 'storeId' | 'seq'>): string => `${e.storeId}:${e.seq}`;

interface Wire {
  seq: number;
  storeId: string;
  topic: Topic;
  levelId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

export function encodeEvent(e: OutboxEvent): string {
  const w: Wire = {
    seq: e.seq,
    storeId: e.storeId,
    topic: e.topic,
    levelId: e.levelId,
    payload: e.payload,
    createdAt: e.createdAt.toISOString(),
  };
  return JSON.stringify(w);
}

export function decodeEvent(text: string): OutboxEvent {
  const w = JSON.parse(text) as Wire;
  return { seq: w.seq, storeId: w.storeId, topic: w.topic, levelId: w.levelId, payload: w.payload, createdAt: new Date(w.createdAt) };
}

/** `p`, or a rejection once `ms` passed (a request over a lost connection may wait for the reconnection). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`NATS did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The connection, the stream and this process's per-store consumers. */
export class JetStreamBus {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private readonly consumers = new Map<string, ConsumerMessages>();
  private stopped = false;
  /** Connected, with the stream in place: the relay publishes only then. */
  ready = false;

  constructor(
    private readonly servers: string[],
    private readonly log: Logger,
    /** Each message of a followed store, in the order JetStream delivers it. */
    private readonly onEvent: (e: OutboxEvent) => void,
  ) {}

  /** Connects (retrying in the background for ever); resolves once ready or after `waitMs`. */
  async start(waitMs = 5_000): Promise<void> {
    const connected = this.connectLoop();
    await Promise.race([connected, new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  private async connectLoop(): Promise<void> {
    for (let delay = 250; !this.stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        const { api, transport } = nats();
        const nc = await transport.connect({
          servers: this.servers,
          name: 'inventory-gateway',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        });
        if (this.stopped) return void (await nc.close());
        this.nc = nc;
        this.js = api.jetstream(nc);
        void this.watch(nc);
        await this.ensureStream();
        return;
      } catch (e) {
        this.log.warn('NATS unavailable; events are delivered from PostgreSQL meanwhile', { err: (e as Error).message, retryInMs: delay });
        await this.nc?.close().catch(() => undefined);
        this.nc = null;
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Creates the stream, or brings its limits up to date. */
  private async ensureStream(): Promise<void> {
    const jsm = await nats().api.jetstreamManager(this.nc!, { timeout: REPLAY_TIMEOUT_MS });
    this.jsm = jsm;
    try {
      await jsm.streams.info(STREAM);
      await jsm.streams.update(STREAM, streamConfig());
    } catch (e) {
      if (!/not found/i.test((e as Error).message)) throw e;
      await jsm.streams.add(streamConfig());
    }
    this.ready = true;
  }

  /** Follows the connection's state: not ready while disconnected; the stream is checked again after a reconnect. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.ready = false;
      if (s.type === 'reconnect')
        await this.ensureStream().catch((e: Error) => this.log.warn('JetStream stream check failed', { err: e.message }));
    }
  }

  /** Publishes events (any stores) with their message ids; resolves when JetStream acknowledged every one. */
  async publish(events: OutboxEvent[]): Promise<void> {
    const js = this.js;
    if (!js || !this.ready) throw new Error('NATS not connected');
    // One connection keeps the order of publications; the acknowledgements are awaited together.
    await Promise.all(
      events.map((e) => js.publish(subjectOf(e.storeId, e.topic), encodeEvent(e), { msgID: msgIdOf(e), timeout: PUBLISH_TIMEOUT_MS })),
    );
  }

  /** The stores with a live consumer here. */
  followed(): Set<string> {
    return new Set(this.consumers.keys());
  }

  /** Starts an ordered consumer of the store's subjects, from the newest message on (idempotent). */
  async follow(storeId: string): Promise<void> {
    if (this.consumers.has(storeId) || !this.js || !this.ready) return;
    const consumer = await this.js.consumers.get(STREAM, {
      filter_subjects: storeSubjects(storeId),
      deliver_policy: nats().api.DeliverPolicy.New,
    });
    if (this.consumers.has(storeId) || this.stopped) return;
    const messages = await consumer.consume({ max_messages: 1000 });
    this.consumers.set(storeId, messages);
    void (async () => {
      for await (const m of messages) {
        try {
          this.onEvent(decodeEvent(m.string()));
        } catch (e) {
          this.log.warn('undecodable JetStream message dropped', { subject: m.subject, err: (e as Error).message });
        }
      }
    })()
      .catch((e: Error) => this.log.warn('JetStream consumer ended', { store: storeId, err: e.message }))
      .finally(() => {
        // Ended by the server (the stream was lost): the hub follows the store again at its next check.
        if (this.consumers.get(storeId) === messages) this.consumers.delete(storeId);
      });
  }

  /**
   * The store's first message at or after stream sequence `from`, or with `from` null its newest
   * one (null: none). One STREAM.MSG.GET request (`next_by_subj` / `last_by_subj`).
   */
  async locate(storeId: string, from: number | null): Promise<Located | null> {
    const jsm = this.jsm;
    if (!jsm || !this.ready) throw new Error('NATS not connected');
    const query = from === null ? { last_by_subj: storeSubjects(storeId) } : { seq: from, next_by_subj: storeSubjects(storeId) };
    // The client's type names only seq / last_by_subj; the server (2.9+) takes next_by_subj with seq too.
    const m = await jsm.streams.getMessage(STREAM, query as MsgRequest);
    return m ? { streamSeq: m.seq, seq: (m.json() as Wire).seq } : null;
  }

  /** An ordered consumer of the store's messages from stream sequence `streamSeq` on, read page by page (a resume). */
  async replay(storeId: string, streamSeq: number): Promise<ReplayCursor> {
    const js = this.js;
    if (!js || !this.ready) throw new Error('NATS not connected');
    const consumer = await within(
      js.consumers.get(STREAM, {
        filter_subjects: storeSubjects(storeId),
        deliver_policy: nats().api.DeliverPolicy.StartSequence,
        opt_start_seq: streamSeq,
      }),
      REPLAY_TIMEOUT_MS,
    );
    return {
      async fetch(max) {
        const events: OutboxEvent[] = [];
        const messages = await within(consumer.fetch({ max_messages: max, expires: REPLAY_TIMEOUT_MS }), REPLAY_TIMEOUT_MS);
        // Over a lost connection a fetch waits for the reconnection, past its expiry: stopped when
        // no message came for a while (the page ends there; event_log serves the rest).
        const idle = setTimeout(() => void messages.stop(), REPLAY_TIMEOUT_MS + 500);
        try {
          for await (const m of messages) {
            idle.refresh();
            events.push(decodeEvent(m.string()));
            // The last one there is (now): stop rather than wait for the fetch to expire.
            if (m.info.pending === 0) return { events, end: true };
            if (events.length >= max) return { events, end: false };
          }
        } finally {
          clearTimeout(idle);
        }
        return { events, end: true };
      },
      // The server would drop the idle consumer after its inactivity threshold; free it now.
      close() {
        try {
          void consumer.delete().catch(() => undefined);
        } catch {
          /* never created */
        }
      },
    };
  }

  unfollow(storeId: string): void {
    const m = this.consumers.get(storeId);
    if (!m) return;
    this.consumers.delete(storeId);
    void m.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ready = false;
    for (const s of [...this.consumers.keys()]) this.unfollow(s);
    await this.nc?.drain().catch(() => undefined);
    await this.nc?.close().catch(() => undefined);
  }
}
