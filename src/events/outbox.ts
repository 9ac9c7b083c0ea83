/**
 * The transactional outbox and the per-store event streams, read side and sequencer.
 *
 * Stock changes insert rows into `outbox_events` in their own transaction (see the stock writer);
 * rolled-back changes leave none. After commit, the sequencer moves them into their store's stream:
 * it deletes them from the queue and inserts them into `event_log` numbered 1, 2, 3 … per store,
 * continuing from `event_streams.head` (not a database sequence: nextval() leaks numbers on
 * rollback). Each store is numbered by one sequencing transaction at a time (an advisory lock keyed
 * by the store, across every instance), in outbox id order, so a store's sequence has no gaps and a
 * reader that has seen seq N of a store has seen every smaller one: `seq > cursor` never skips one.
 * Stores do not wait on each other, and a store's numbers say nothing about another's traffic.
 */
import type { Conn, Tx } from '../db/tx';

/** Advisory lock class of the sequencer; the second key is hashtext(store id): one lock per store. */
export const SEQUENCER_LOCK = 72707370;

/** SQL: the webhook topics of event `e`. */
const WEBHOOK_TOPICS_SQL = `CASE WHEN e.topic IN ('INVENTORY_UPDATED', 'INBOUND_RECEIVED', 'TRANSFER_SHIPPED', 'TRANSFER_RECEIVED') THEN ARRAY[e.topic]
  ELSE array_remove(ARRAY[
    CASE WHEN e.payload->>'previousStatus' IS DISTINCT FROM e.payload->>'status' THEN CASE e.payload->>'status'
      WHEN 'LOW_STOCK' THEN 'STOCK_LOW' WHEN 'CRITICAL' THEN 'STOCK_CRITICAL' WHEN 'OUT_OF_STOCK' THEN 'STOCK_OUT' END END,
    CASE WHEN (e.payload->>'backInStock')::boolean THEN 'BACK_IN_STOCK' END,
    CASE WHEN (e.payload->>'sellable')::boolean IS DISTINCT FROM (e.payload->>'previousSellable')::boolean THEN 'SELLABLE_CHANGED' END], NULL) END`;

/** Event topics: a level's change, a status crossing, and the inbound and transfer events of a change. */
export type Topic = 'INVENTORY_UPDATED' | 'STOCK_STATUS_CHANGED' | 'INBOUND_RECEIVED' | 'TRANSFER_SHIPPED' | 'TRANSFER_RECEIVED';

export interface OutboxEvent {
  /** The event's number in its store's stream. */
  seq: number;
  storeId: string;
  topic: Topic;
  levelId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}

interface Row {
  seq: string;
  store_id: string;
  topic: Topic;
  level_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

const toEvent = (r: Row): OutboxEvent => ({
  seq: Number(r.seq),
  storeId: r.store_id,
  topic: r.topic,
  levelId: r.level_id,
  payload: r.payload,
  createdAt: r.created_at,
});

/**
 * The stores this transaction may number: those with queued events (a skip scan of the queue's key,
 * (store_id, id): one probe per store) whose sequencer lock it got (another instance numbering a
 * store keeps it; its commit notifies us). The list goes to the numbering statement through a
 * transaction-local setting, so that statement, which starts after the locks are held, sees every
 * earlier numbering of those stores.
 */
const LOCK_STORES_SQL = `WITH RECURSIVE q AS (
    (SELECT store_id FROM outbox_events ORDER BY store_id LIMIT 1)
    UNION ALL
    SELECT (SELECT o.store_id FROM outbox_events o WHERE o.store_id > q.store_id ORDER BY o.store_id LIMIT 1) FROM q WHERE q.store_id IS NOT NULL
  )
SELECT set_config('app.seq_stores', coalesce(string_agg(store_id::text, ',') FILTER (WHERE got), ''), true) AS stores,
       count(*) FILTER (WHERE NOT got) AS busy
  FROM (SELECT store_id, pg_try_advisory_xact_lock(${SEQUENCER_LOCK}, hashtext(store_id::text)) AS got FROM q WHERE store_id IS NOT NULL) s`;

/** At most this many store ids (36 characters and a comma each) in an `inventory_sequenced` payload. */
const SEQUENCED_STORES_MAX = 200;

/**
 * The numbering statement (at most `batch` rows; `$1` when prepared): takes the oldest queued rows
 * of the locked stores, numbers them per store from the stream's head, logs them, and creates the
 * webhook deliveries, so that each matching subscription gets exactly one delivery per event and
 * webhook topic, created once, here. Notifies `inventory_sequenced` when it numbered anything
 * (delivered at commit): `<notifier>:<store ids, comma-separated>` (no ids: many stores), where the
 * notifier is the caller's tag (a hub ignores its own notifications: it read what it numbered).
 */
const SEQUENCE_SQL = (batch: string) => `WITH mine AS MATERIALIZED (
       SELECT s::uuid AS store_id FROM unnest(string_to_array(nullif(current_setting('app.seq_stores', true), ''), ',')) s
     ), pending AS MATERIALIZED (
       SELECT p.id, m.store_id FROM mine m
        CROSS JOIN LATERAL (SELECT id FROM outbox_events o WHERE o.store_id = m.store_id ORDER BY id LIMIT ${batch}) p
        ORDER BY p.id LIMIT ${batch}
     ), del AS (
       -- A range of the key per store, with no join: a join with pending (estimated, like the queue,
       -- at one row) was planned as a scan of the whole queue (see QUEUE_BY_INDEX). Each store's rows
       -- in pending are the oldest it has, so its rows between pending's lowest and highest id are
       -- exactly those (the last condition only restates it).
       DELETE FROM outbox_events o
        WHERE o.store_id = ANY (ARRAY(SELECT DISTINCT store_id FROM pending))
          AND o.id BETWEEN (SELECT min(id) FROM pending) AND (SELECT max(id) FROM pending)
          AND o.id = ANY (ARRAY(SELECT id FROM pending))
       RETURNING o.id, o.store_id, o.topic, o.level_id, o.payload, o.created_at, o.traceparent
     ), counts AS (
       SELECT store_id, count(*)::bigint AS c FROM del GROUP BY store_id
     ), heads AS (
       -- Gap-free: continues from the stream's head; a sequencing transaction that rolls back
       -- assigns nothing. The row lock also orders two sequencers of one store.
       INSERT INTO event_streams AS s (store_id, head) SELECT store_id, c FROM counts
       ON CONFLICT (store_id) DO UPDATE SET head = s.head + excluded.head
       RETURNING s.store_id, s.head
     ), numbered AS (
       SELECT d.*, h.head - c.c + row_number() OVER (PARTITION BY d.store_id ORDER BY d.id) AS seq
         FROM del d JOIN counts c USING (store_id) JOIN heads h USING (store_id)
     ), logged AS (
       INSERT INTO event_log (store_id, seq, topic, level_id, payload, created_at, traceparent)
       SELECT store_id, seq, topic, level_id, payload, created_at, traceparent FROM numbered
       RETURNING store_id, seq, topic, payload, created_at, traceparent
     ), ins AS (
       INSERT INTO webhook_deliveries (store_id, subscription_id, event_seq, topic, payload, traceparent)
       SELECT e.store_id, s.id, e.seq, w.topic,
              jsonb_build_object('sequence', e.seq, 'occurredAt', e.created_at, 'data', e.payload), e.traceparent
         FROM logged e
         CROSS JOIN LATERAL unnest(${WEBHOOK_TOPICS_SQL}) AS w(topic)
         JOIN webhook_subscriptions s ON s.store_id = e.store_id AND s.active AND w.topic = ANY(s.topics)
          AND (NOT (s.filter ? 'warehouseIds') OR (e.payload->>'warehouseId') IN (SELECT jsonb_array_elements_text(s.filter->'warehouseIds')))
          AND (NOT (s.filter ? 'variantIds') OR (e.payload->>'variantId') IN (SELECT jsonb_array_elements_text(s.filter->'variantIds')))
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), nt AS (
       -- The stores numbered (a hub woken by it reads only those), or '' (read every followed store)
       -- past what fits a notification's 8,000 bytes.
       SELECT pg_notify('inventory_sequenced', coalesce(current_setting('app.notifier', true), '') || ':' ||
                        CASE WHEN count(*) <= ${SEQUENCED_STORES_MAX} THEN string_agg(store_id::text, ',') ELSE '' END) AS n
         FROM counts HAVING count(*) > 0
     )
     SELECT (SELECT count(*) FROM logged) AS n, (SELECT count(*) FROM ins) AS d, (SELECT count(*) FROM nt) AS notified,
            (SELECT count(*) FROM mine) AS stores`;

const EVENT_COLUMNS = 'seq, store_id, topic, level_id, payload, created_at';

const int = (n: number, what: string) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${n}`);
  return n;
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = (s: string) => {
  if (!UUID.test(s)) throw new Error(`not a store id: ${JSON.stringify(s).slice(0, 60)}`);
  return s;
};

/** SQL: the first `limit` events after each store's position (`after`: store id → seq), in order per store. */
export function readStreamsSql(after: ReadonlyMap<string, number>, limit: number): string | null {
  if (after.size === 0) return null;
  const rows = [...after].map(([s, seq]) => `('${uuid(s)}'::uuid, ${int(seq, 'seq')}::bigint)`).join(', ');
  return `SELECT e.seq, e.store_id, e.topic, e.level_id, e.payload, e.created_at
  FROM (VALUES ${rows}) AS t(store_id, after)
  CROSS JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM event_log l WHERE l.store_id = t.store_id AND l.seq > t.after ORDER BY l.seq LIMIT ${int(limit, 'limit')}) e`;
}

/**
 * The queue is read by its key, always. `outbox_events` is empty most of the time and large under a
 * burst, and its only statistics come from the hub's own VACUUM of the drained queue (no ANALYZE runs
 * without autovacuum): that records it as empty (reltuples 0 over its pages), so every later plan
 * estimates it at one row, whatever it holds. The DELETE was then planned as a scan of the whole
 * queue per pending row (20,000,000 rows compared for a batch of 1,000 with 20,000 queued: 4.8 s);
 * under a burst on a loaded machine every batch outlasted the statement timeout and the queue stopped
 * draining for good (its vacuum runs after a batch). Now the DELETE looks its rows up by the key, and
 * with these two settings, for this transaction only, every plan takes a store's oldest rows from
 * the (store_id, id) key and stops after `batch`, at any size of the queue
 * (test/e2e/event-streams.test.ts, "the numbering reads the queue by its key").
 */
export const QUEUE_BY_INDEX = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off';

/** Sessions that have the numbering statement prepared (SQL PREPARE: planned once per session). */
const preparedOn = new WeakSet<object>();

export interface SequenceResult {
  /** Rows numbered, webhook deliveries created, stores this transaction numbered. */
  sequenced: number;
  deliveries: number;
  stores: number;
  /** Stores with queued events that another instance was numbering (their locks were taken). */
  busy: number;
  /** The events read after the commit (see `after`). */
  events: OutboxEvent[];
}

/**
 * The event hub's pump in ONE round trip: a transaction that takes the sequencer locks of the
 * stores with queued events (skipping stores another instance is numbering), numbers at most
 * `batch` queued rows of those stores and commits; then, after the commit, the first `limit`
 * events of each store in `after` (store id → the last seq this process has published).
 */
export async function sequenceAndRead(
  c: Conn,
  after: ReadonlyMap<string, number>,
  batch = 1000,
  limit = 500,
  notifier = '',
): Promise<SequenceResult> {
  if (!/^[0-9a-z-]*$/.test(notifier)) throw new Error(`notifier tag ${JSON.stringify(notifier)}: letters, digits and dashes only`);
  if (!preparedOn.has(c.session)) {
    await c.script(`PREPARE outbox_sequence(int) AS ${SEQUENCE_SQL('$1')}`);
    preparedOn.add(c.session);
  }
  const read = readStreamsSql(after, limit);
  const script = `BEGIN;
${QUEUE_BY_INDEX};
SET LOCAL app.notifier = '${notifier}';
${LOCK_STORES_SQL};
EXECUTE outbox_sequence(${int(batch, 'batch')});
COMMIT${read ? `;\n${read}` : ''}`;
  let results: Record<string, unknown>[][];
  try {
    results = await c.script(script);
  } catch (e) {
    // The rest of the script was skipped; end a transaction left open (a no-op when there is none).
    await c.script('ROLLBACK');
    throw e;
  }
  // One result per statement: BEGIN, the three SETs, the locks, the numbering, COMMIT, the read.
  const [locks] = results[4] as { busy: string }[];
  const [counts] = results[5] as { n: string; d: string; stores: string }[];
  return {
    busy: Number(locks.busy),
    sequenced: Number(counts.n),
    deliveries: Number(counts.d),
    stores: Number(counts.stores),
    events: read ? (results[7] as unknown as Row[]).map(toEvent) : [],
  };
}

/** Events of several stores after each one's position, at most `limit` per store, in order per store. */
export async function streamsAfter(tx: Tx, after: ReadonlyMap<string, number>, limit: number): Promise<OutboxEvent[]> {
  const sql = readStreamsSql(after, limit);
  return sql ? (await tx.query<Row>(sql)).map(toEvent) : [];
}

/** A store's events after `afterSeq`, in order. */
export async function eventsAfter(tx: Tx, storeId: string, afterSeq: number, limit: number): Promise<OutboxEvent[]> {
  const rows = await tx.query<Row>(`SELECT ${EVENT_COLUMNS} FROM event_log WHERE store_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
    storeId,
    afterSeq,
    limit,
  ]);
  return rows.map(toEvent);
}

/** A store's stream: its newest number, and the highest number retention deleted (0 and 0 for a store without events). */
export async function streamOf(tx: Tx, storeId: string): Promise<{ head: number; purgedThrough: number }> {
  const [r] = await tx.query<{ head: string; purged_through: string }>(
    `SELECT head, purged_through FROM event_streams WHERE store_id = $1`,
    [storeId],
  );
  return { head: Number(r?.head ?? 0), purgedThrough: Number(r?.purged_through ?? 0) };
}
