/**
 * The transactional outbox, read side. Stock changes insert outbox rows in their own transaction
 * (see the stock writer); rolled-back changes leave none.
 *
 * The delivery order is assigned *after* commit by the sequencer: one transaction at a time (an
 * advisory lock across every instance) numbers the committed rows that have no `seq` yet, in id
 * order, continuing from the highest assigned seq, so the sequence has no gaps (not a database
 * sequence: nextval() leaks numbers on rollback). Because
 * sequencing transactions are serialized, a reader that has seen seq N has seen every event with a
 * smaller seq: `seq > cursor` never skips one.
 */
import type { Conn, Tx } from '../db/tx';

const SEQUENCER_LOCK = 72707370;

/** SQL: the webhook topics of outbox event `e`. */
const WEBHOOK_TOPICS_SQL = `CASE WHEN e.topic = 'INVENTORY_UPDATED' THEN ARRAY['INVENTORY_UPDATED']
  ELSE array_remove(ARRAY[
    CASE WHEN e.payload->>'previousStatus' IS DISTINCT FROM e.payload->>'status' THEN CASE e.payload->>'status'
      WHEN 'LOW_STOCK' THEN 'STOCK_LOW' WHEN 'CRITICAL' THEN 'STOCK_CRITICAL' WHEN 'OUT_OF_STOCK' THEN 'STOCK_OUT' END END,
    CASE WHEN (e.payload->>'backInStock')::boolean THEN 'BACK_IN_STOCK' END,
    CASE WHEN (e.payload->>'sellable')::boolean IS DISTINCT FROM (e.payload->>'previousSellable')::boolean THEN 'SELLABLE_CHANGED' END], NULL) END`;

export type Topic = 'INVENTORY_UPDATED' | 'STOCK_STATUS_CHANGED';

export interface OutboxEvent {
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
 * The numbering statement (at most `batch` rows; `$1` when prepared): numbering and webhook deliveries in one
 * statement, so that each matching subscription gets exactly one delivery per event and webhook
 * topic, created once, here, under the sequencer lock. Notifies `inventory_sequenced` when it
 * numbered anything (delivered at commit).
 */
const SEQUENCE_SQL = (batch: string) => `WITH pending AS (
       SELECT id FROM outbox_events WHERE seq IS NULL ORDER BY id LIMIT ${batch}
     ), head AS (
       -- Gap-free: continue from the highest assigned seq (or the purge mark when retention
       -- deleted everything). Stable because sequencing transactions hold the lock; a sequencing
       -- transaction that rolls back assigns nothing, unlike nextval().
       SELECT greatest((SELECT max(seq) FROM outbox_events WHERE seq IS NOT NULL),
                       (SELECT purged_through_seq FROM outbox_state WHERE id = 1), 0) AS s
     ), numbered AS (
       SELECT id, (SELECT s FROM head) + row_number() OVER (ORDER BY id) AS seq FROM pending
     ), upd AS (
       UPDATE outbox_events o SET seq = n.seq FROM numbered n WHERE o.id = n.id
       RETURNING o.seq, o.store_id, o.topic, o.payload, o.created_at, o.traceparent
     ), ins AS (
       INSERT INTO webhook_deliveries (store_id, subscription_id, event_seq, topic, payload, traceparent)
       SELECT e.store_id, s.id, e.seq, w.topic,
              jsonb_build_object('sequence', e.seq, 'occurredAt', e.created_at, 'data', e.payload), e.traceparent
         FROM upd e
         CROSS JOIN LATERAL unnest(${WEBHOOK_TOPICS_SQL}) AS w(topic)
         JOIN webhook_subscriptions s ON s.store_id = e.store_id AND s.active AND w.topic = ANY(s.topics)
          AND (NOT (s.filter ? 'warehouseIds') OR (e.payload->>'warehouseId') IN (SELECT jsonb_array_elements_text(s.filter->'warehouseIds')))
          AND (NOT (s.filter ? 'variantIds') OR (e.payload->>'variantId') IN (SELECT jsonb_array_elements_text(s.filter->'variantIds')))
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), nt AS (
       SELECT pg_notify('inventory_sequenced', '') AS n FROM (SELECT count(*) AS c FROM upd) u WHERE u.c > 0
     )
     SELECT (SELECT count(*) FROM upd) AS n, (SELECT count(*) FROM ins) AS d, (SELECT count(*) FROM nt) AS notified`;

const EVENT_COLUMNS = 'seq, store_id, topic, level_id, payload, created_at';

const int = (n: number, what: string) => {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${n}`);
  return n;
};

/** Sessions that have the numbering statement prepared (SQL PREPARE: planned once per session). */
const preparedOn = new WeakSet<object>();

/**
 * The event hub's pump in ONE round trip: a transaction that waits for the sequencer lock (an
 * advisory lock across every instance; a statement after it sees every earlier sequencing
 * transaction's numbers), numbers at most `batch` pending rows and commits; then, after the
 * commit, the first `limit` sequenced events after `afterSeq`. Returns how many rows it numbered,
 * how many webhook deliveries that created, and the events read.
 */
export async function sequenceAndRead(
  c: Conn,
  afterSeq: number,
  batch = 1000,
  limit = 500,
): Promise<{ sequenced: number; deliveries: number; events: OutboxEvent[] }> {
  if (!preparedOn.has(c.session)) {
    await c.script(`PREPARE outbox_sequence(int) AS ${SEQUENCE_SQL('$1')}`);
    preparedOn.add(c.session);
  }
  const script = `BEGIN;
SELECT pg_advisory_xact_lock(${SEQUENCER_LOCK});
EXECUTE outbox_sequence(${int(batch, 'batch')});
COMMIT;
SELECT ${EVENT_COLUMNS} FROM outbox_events WHERE seq > ${int(afterSeq, 'afterSeq')} ORDER BY seq LIMIT ${int(limit, 'limit')}`;
  let results: Record<string, unknown>[][];
  try {
    results = await c.script(script);
  } catch (e) {
    // The rest of the script was skipped; end a transaction left open (a no-op when there is none).
    await c.script('ROLLBACK');
    throw e;
  }
  const [counts] = results[2] as { n: string; d: string }[];
  return { sequenced: Number(counts.n), deliveries: Number(counts.d), events: (results[4] as unknown as Row[]).map(toEvent) };
}

/** Sequenced events after `afterSeq`, in order (all stores, or one). */
export async function eventsAfter(tx: Tx, afterSeq: number, limit: number, storeId?: string): Promise<OutboxEvent[]> {
  const rows = storeId
    ? await tx.query<Row>(`SELECT ${EVENT_COLUMNS} FROM outbox_events WHERE store_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
        storeId,
        afterSeq,
        limit,
      ])
    : await tx.query<Row>(`SELECT ${EVENT_COLUMNS} FROM outbox_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
  return rows.map(toEvent);
}

/** The highest assigned seq (0 when none). */
export async function headSeq(tx: Tx): Promise<number> {
  const [r] = await tx.query<{ s: string | null }>(`SELECT max(seq) AS s FROM outbox_events WHERE seq IS NOT NULL`);
  return Number(r?.s ?? 0);
}

/** Events with seq ≤ this were deleted by retention. */
export async function purgedThrough(tx: Tx): Promise<number> {
  const [r] = await tx.query<{ s: string }>(`SELECT purged_through_seq AS s FROM outbox_state WHERE id = 1`);
  return Number(r?.s ?? 0);
}

/** Deletes sequenced events older than the retention window; records how far it went. */
export async function purgeOutbox(tx: Tx, retentionSeconds: number): Promise<number> {
  const [r] = await tx.query<{ n: string; m: string | null }>(
    `WITH d AS (
       DELETE FROM outbox_events WHERE id IN (
         SELECT id FROM outbox_events WHERE seq IS NOT NULL AND created_at < now() - make_interval(secs => $1) ORDER BY seq LIMIT 5000)
       RETURNING seq
     ), s AS (
       UPDATE outbox_state SET purged_through_seq = greatest(purged_through_seq, (SELECT max(seq) FROM d)) WHERE id = 1 AND EXISTS (SELECT 1 FROM d)
       RETURNING purged_through_seq
     )
     SELECT (SELECT count(*) FROM d) AS n, (SELECT purged_through_seq FROM s) AS m`,
    [retentionSeconds],
  );
  return Number(r.n);
}
