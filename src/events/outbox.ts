/**
 * The transactional outbox, read side. Stock changes insert outbox rows in their own transaction
 * (see the stock writer); rolled-back changes leave none.
 *
 * The delivery order is assigned *after* commit by the sequencer: one transaction at a time (an
 * advisory lock across every instance) numbers the committed rows that have no `seq` yet, in id
 * order, from the `outbox_seq` sequence. Because sequencing transactions are serialized, a reader
 * that has seen seq N has seen every event with a smaller seq: `seq > cursor` never skips one.
 */
import type { Tx } from '../db/tx';

const SEQUENCER_LOCK = 72707370;

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

const toEvent = (r: Row): OutboxEvent => ({ seq: Number(r.seq), storeId: r.store_id, topic: r.topic, levelId: r.level_id, payload: r.payload, createdAt: r.created_at });

/**
 * Numbers pending rows (at most `batch`). Returns how many were numbered, or -1 when another
 * instance is sequencing right now. Call inside a transaction.
 */
export async function sequencePending(tx: Tx, batch = 1000): Promise<number> {
  const [{ locked }] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [SEQUENCER_LOCK]);
  if (!locked) return -1;
  const rows = await tx.query<{ n: string }>(
    `WITH pending AS (
       SELECT id FROM outbox_events WHERE seq IS NULL ORDER BY id LIMIT $1
     ), numbered AS (
       SELECT id, nextval('outbox_seq') AS seq FROM (SELECT id FROM pending ORDER BY id) p
     ), upd AS (
       UPDATE outbox_events o SET seq = n.seq FROM numbered n WHERE o.id = n.id RETURNING 1
     )
     SELECT count(*) AS n FROM upd`,
    [batch],
  );
  const n = Number(rows[0].n);
  if (n > 0) await tx.query(`SELECT pg_notify('inventory_sequenced', '')`);
  return n;
}

/** Sequenced events after `afterSeq`, in order (all stores, or one). */
export async function eventsAfter(tx: Tx, afterSeq: number, limit: number, storeId?: string): Promise<OutboxEvent[]> {
  const rows = storeId
    ? await tx.query<Row>(
        `SELECT seq, store_id, topic, level_id, payload, created_at FROM outbox_events WHERE store_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [storeId, afterSeq, limit],
      )
    : await tx.query<Row>(`SELECT seq, store_id, topic, level_id, payload, created_at FROM outbox_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
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
