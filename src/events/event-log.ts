/**
 * Upkeep of the event log and the outbox queue, with no VACUUM of the server needed
 * (docs/EVENTS.md "Retention"):
 *
 * - `event_log` is partitioned by range of `logged_at`. Partitions are `width` wide (a quarter of
 *   the retention, at least 1 s) and aligned on multiples of it; the upkeep creates the partitions
 *   of the next two widths ahead of time, and drops a whole partition once its newest possible row
 *   is older than the retention, first recording per store the highest number it held
 *   (`event_streams.purged_through`: older cursors are expired). Dropping a partition costs the
 *   same at 5 or 5,000 events a second, and leaves no dead rows behind.
 * - Rows the partitions did not cover (the upkeep fell behind) go to `event_log_default`; the
 *   retention deletes them there.
 * - `outbox_events` is a queue: the sequencer deletes what it numbers. On a server without
 *   autovacuum its dead rows would pile up, so the upkeep vacuums it (a small table: the queue is
 *   normally empty) once enough rows went through it.
 *
 * One instance at a time does the upkeep (an advisory lock); DDL waits at most `LOCK_TIMEOUT` for
 * its lock, and is tried again at the next round.
 */
import type { Conn, Tx } from '../db/tx';

const UPKEEP_LOCK = 72707371;
const LOCK_TIMEOUT = '2s';
/** Partitions created ahead of the current one. */
const AHEAD = 2;
const NAME = /^event_log_p(\d{13})_(\d{13})$/;

export interface Partition {
  name: string;
  from: number;
  to: number;
}

/** Partition width for a retention (ms): a quarter of it, at least one second. */
export function partitionWidth(retentionMs: number): number {
  return Math.max(1000, Math.floor(retentionMs / 4));
}

const pad = (n: number) => String(n).padStart(13, '0');
export const partitionName = (from: number, to: number) => `event_log_p${pad(from)}_${pad(to)}`;

export function parsePartition(name: string): Partition | null {
  const m = NAME.exec(name);
  return m ? { name, from: Number(m[1]), to: Number(m[2]) } : null;
}

/**
 * The plan of one round (pure): the partitions to create (aligned slots from the current one to
 * `AHEAD` ahead that overlap no existing partition) and those to drop (ending before now − retention).
 */
export function planPartitions(
  existing: Partition[],
  nowMs: number,
  retentionMs: number,
  /** The span of the rows in the default partition (a new partition may not cover any of them). */
  stray: { from: number; to: number } | null = null,
): { create: Partition[]; drop: Partition[] } {
  const width = partitionWidth(retentionMs);
  const first = Math.floor(nowMs / width) * width;
  const create: Partition[] = [];
  for (let i = 0; i <= AHEAD; i++) {
    const from = first + i * width;
    const to = from + width;
    if (existing.some((p) => p.from < to && from < p.to)) continue;
    if (stray && stray.from < to && from <= stray.to) continue;
    create.push({ name: partitionName(from, to), from, to });
  }
  const drop = existing.filter((p) => p.to <= nowMs - retentionMs);
  return { create, drop };
}

/** The partitions of event_log (other than the default one), by their names. */
async function partitions(tx: Tx): Promise<Partition[]> {
  const rows = await tx.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event_log'::regclass`,
  );
  return rows.map((r) => parsePartition(r.name)).filter((p): p is Partition => p !== null);
}

/** Records, per store, the highest number of the rows about to be deleted (`rows`: a FROM item with store_id and seq). */
const markPurged = (rows: string) =>
  `UPDATE event_streams s SET purged_through = greatest(s.purged_through, m.mx)
     FROM (SELECT store_id, max(seq) AS mx FROM ${rows} GROUP BY store_id) m
    WHERE s.store_id = m.store_id AND s.purged_through < m.mx`;

export interface UpkeepResult {
  /** False when another instance holds the upkeep. */
  ran: boolean;
  created: number;
  dropped: number;
  /** Rows deleted from the default partition. */
  deleted: number;
}

/**
 * One round of event-log upkeep in one transaction (see the file comment). `tx` must be a
 * transaction: the locks last until it ends.
 */
export async function upkeepEventLog(tx: Tx, retentionMs: number): Promise<UpkeepResult> {
  const [got] = await tx.query<{ ok: boolean; now: string }>(
    `SELECT pg_try_advisory_xact_lock(${UPKEEP_LOCK}) AS ok, (extract(epoch FROM now()) * 1000)::bigint::text AS now`,
  );
  if (!got.ok) return { ran: false, created: 0, dropped: 0, deleted: 0 };
  await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
  const now = Number(got.now);
  const [span] = await tx.query<{ lo: string | null; hi: string | null }>(
    `SELECT (extract(epoch FROM min(logged_at)) * 1000)::bigint::text AS lo, (extract(epoch FROM max(logged_at)) * 1000)::bigint::text AS hi
       FROM event_log_default`,
  );
  const stray = span.lo === null ? null : { from: Number(span.lo), to: Number(span.hi) };
  const plan = planPartitions(await partitions(tx), now, retentionMs, stray);
  for (const p of plan.create) {
    const at = (ms: number) => `'${new Date(ms).toISOString()}'`;
    await tx.query(`CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF event_log FOR VALUES FROM (${at(p.from)}) TO (${at(p.to)})`);
  }
  for (const p of plan.drop) {
    await tx.query(markPurged(p.name));
    await tx.query(`DROP TABLE ${p.name}`);
  }
  const deleted = await deleteEvents(tx, 'event_log_default', retentionMs);
  return { ran: true, created: plan.create.length, dropped: plan.drop.length, deleted };
}

/**
 * Deletes the events logged more than `olderThanMs` ago from `table` (the default partition, or the
 * whole log), recording per store how far retention went. Returns how many it deleted.
 */
export async function deleteEvents(tx: Tx, table: 'event_log' | 'event_log_default', olderThanMs: number): Promise<number> {
  const [d] = await tx.query<{ n: string }>(
    `WITH d AS (DELETE FROM ${table} WHERE logged_at < now() - make_interval(secs => $1) RETURNING store_id, seq),
          m AS (${markPurged('d')} RETURNING 1)
     SELECT (SELECT count(*) FROM d) AS n, (SELECT count(*) FROM m) AS m`,
    [olderThanMs / 1000],
  );
  return Number(d.n);
}

/** Vacuums the outbox queue (autocommit: VACUUM cannot run in a transaction). */
export async function vacuumOutboxQueue(c: Conn): Promise<void> {
  await c.script('VACUUM (TRUNCATE false) outbox_events');
}
