/**
 * The relay (NATS_URL set): publishes each store's numbered events from event_log to JetStream,
 * in order, and records how far it got (`event_relay.relayed_through`).
 *
 * One relay at a time per store, across every instance: a relaying transaction holds a
 * transaction-scoped advisory lock keyed by the store (`RELAY_LOCK`, hashtext(store id)) while it
 * reads the events after the store's position, publishes them with the message id
 * `<storeId>:<seq>` and waits for JetStream's acknowledgements, then moves the position and
 * commits. A relay that dies mid-batch (process killed, connection lost, NATS down) moves nothing:
 * the next relay publishes the batch again and JetStream drops what it already has (duplicate
 * window, ./jetstream.ts); consumers also drop any seq they have already published. The outbox and
 * event_log stay the source of truth: the relay only carries events, it never decides them.
 */
import type { Conn } from '../db/tx';
import type { OutboxEvent, Topic } from './outbox';

/** Advisory lock class of the relay; the second key is hashtext(store id): one relay per store. */
export const RELAY_LOCK = 72707371;
/** Events per store and relaying transaction. */
export const RELAY_BATCH = 500;
/** Stores per relaying transaction. */
const RELAY_STORES = 200;
/**
 * A store whose relay is further behind than this (NATS was off or down for long) skips to the
 * newest events: the older ones stay in event_log, where resume and gap repair read them.
 */
export const RELAY_MAX_BACKLOG = 10_000;

/**
 * The stores with numbered events not yet relayed whose relay lock this transaction got, each
 * with the position to relay from. The OFFSET 0 fence keeps the lock attempts to those stores.
 */
export const CLAIM_SQL = `SELECT s.store_id, greatest(s.relayed_through, s.purged_through, s.head - ${RELAY_MAX_BACKLOG})::bigint AS from_seq
  FROM (SELECT e.store_id, e.head, e.purged_through, coalesce(r.relayed_through, 0) AS relayed_through
          FROM event_streams e LEFT JOIN event_relay r ON r.store_id = e.store_id
         WHERE e.head > coalesce(r.relayed_through, 0) OFFSET 0) s
 WHERE pg_try_advisory_xact_lock(${RELAY_LOCK}, hashtext(s.store_id::text))
 LIMIT ${RELAY_STORES}`;

/**
 * The claim and the read in one statement (one round trip): each claimed store with its start
 * position, and its next events (none: a row with null event columns).
 */
export const CLAIM_AND_READ_SQL = `WITH c AS MATERIALIZED (${CLAIM_SQL})
SELECT c.store_id, c.from_seq, e.seq, e.topic, e.level_id, e.payload, e.created_at
  FROM c LEFT JOIN LATERAL (
    SELECT l.seq, l.topic, l.level_id, l.payload, l.created_at FROM event_log l
     WHERE l.store_id = c.store_id AND l.seq > c.from_seq ORDER BY l.seq LIMIT ${RELAY_BATCH}) e ON true
 ORDER BY c.store_id, e.seq`;

interface ClaimRow {
  store_id: string;
  from_seq: string;
  seq: string | null;
  topic: Topic | null;
  level_id: string | null;
  payload: Record<string, unknown> | null;
  created_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SQL: moves the relay positions (store id → seq) forward, never back. */
export function advanceSql(positions: ReadonlyMap<string, number>): string {
  const rows = [...positions]
    .map(([s, seq]) => {
      if (!UUID.test(s) || !Number.isSafeInteger(seq) || seq < 0) throw new Error(`bad relay position ${s}=${seq}`);
      return `('${s}'::uuid, ${seq}::bigint)`;
    })
    .join(', ');
  return `INSERT INTO event_relay AS r (store_id, relayed_through) VALUES ${rows}
  ON CONFLICT (store_id) DO UPDATE SET relayed_through = greatest(r.relayed_through, excluded.relayed_through)`;
}

/** The new position of each claimed store: past the last event relayed, or at least where it started. */
export function positionsAfter(claimed: ReadonlyMap<string, number>, events: readonly OutboxEvent[]): Map<string, number> {
  const out = new Map(claimed);
  for (const e of events) if (e.seq > (out.get(e.storeId) ?? 0)) out.set(e.storeId, e.seq);
  return out;
}

export interface RelayResult {
  events: number;
  /** Some store had a full batch: relay again. */
  more: boolean;
}

/**
 * One relaying transaction on `c`: claims stores, reads and publishes their next events, moves
 * their positions. Nothing moves unless every publication was acknowledged.
 */
export async function relayOnce(c: Conn, publish: (events: OutboxEvent[]) => Promise<void>): Promise<RelayResult> {
  const results = await c.script(`BEGIN;\n${CLAIM_AND_READ_SQL}`);
  try {
    const rows = results[1] as unknown as ClaimRow[];
    const claimed = new Map(rows.map((r) => [r.store_id, Number(r.from_seq)]));
    if (claimed.size === 0) {
      await c.script('COMMIT');
      return { events: 0, more: false };
    }
    const events: OutboxEvent[] = rows
      .filter((r) => r.seq !== null)
      .map((r) => ({
        seq: Number(r.seq),
        storeId: r.store_id,
        topic: r.topic!,
        levelId: r.level_id,
        payload: r.payload!,
        createdAt: r.created_at!,
      }));
    if (events.length > 0) await publish(events);
    await c.script(`${advanceSql(positionsAfter(claimed, events))};\nCOMMIT`);
    const perStore = new Map<string, number>();
    for (const e of events) perStore.set(e.storeId, (perStore.get(e.storeId) ?? 0) + 1);
    return { events: events.length, more: [...perStore.values()].some((n) => n >= RELAY_BATCH) };
  } catch (e) {
    await c.script('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
