/**
 * Heap-only-tuple (HOT) updates and dead tuples of the tables the hot path writes, from
 * pg_stat_user_tables. Counters are cumulative; a scenario reports the deltas between the
 * snapshot before it and the one after it.
 *
 * PostgreSQL (15+) backends report their table counters to shared memory at most once a second
 * while busy and 10 s after going idle (PGSTAT_IDLE_INTERVAL), so a snapshot taken right after a
 * load still misses the last second of the gateway's pooled (now idle) connections. `settled()`
 * waits that out (11 s); the quick mode skips the wait (its figures are then approximate).
 */
import type pg from 'pg';
import { sleep } from './util';

/** Every table a stock change, a reservation or its request writes (docs/HOT-UPDATES.md). */
export const HOT_PATH_TABLES = [
  'inventory_levels',
  'reservations',
  'reservation_lines',
  'stock_movements',
  'outbox_events',
  'event_streams',
  // Partitioned: the figures of its partitions (event_log_p…, event_log_default) are summed.
  'event_log',
  'idempotency_keys',
  'rate_limit_buckets',
] as const;

export interface TableCounters {
  ins: number;
  upd: number;
  hot: number;
  del: number;
  live: number;
  dead: number;
  /** Heap size in 8 kB pages (relpages is stale without VACUUM/ANALYZE; this is the real size). */
  pages: number;
  /** Size of all its indexes, in 8 kB pages. */
  indexPages: number;
}

export type Snapshot = Map<string, TableCounters>;

export async function tableCounters(c: pg.Client): Promise<Snapshot> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  const r = await c.query<{
    relname: string;
    ins: string;
    upd: string;
    hot: string;
    del: string;
    live: string;
    dead: string;
    pages: string;
    ipages: string;
  }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del, n_live_tup AS live, n_dead_tup AS dead,
            pg_relation_size(relid) / current_setting('block_size')::int AS pages,
            pg_indexes_size(relid) / current_setting('block_size')::int AS ipages
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND (relname = ANY($1::text[]) OR relname LIKE 'event\\_log\\_%')`,
    [[...HOT_PATH_TABLES]],
  );
  const out: Snapshot = new Map();
  for (const x of r.rows) {
    const name = x.relname.startsWith('event_log_') ? 'event_log' : x.relname;
    const t = out.get(name) ?? { ins: 0, upd: 0, hot: 0, del: 0, live: 0, dead: 0, pages: 0, indexPages: 0 };
    out.set(name, {
      ins: t.ins + +x.ins,
      upd: t.upd + +x.upd,
      hot: t.hot + +x.hot,
      del: t.del + +x.del,
      live: t.live + +x.live,
      dead: t.dead + +x.dead,
      pages: t.pages + +x.pages,
      indexPages: t.indexPages + +x.ipages,
    });
  }
  return out;
}

/** A snapshot after the counters of idle connections have been reported (see the file comment). */
export async function settled(c: pg.Client, quick: boolean): Promise<Snapshot> {
  if (!quick) await sleep(11_000);
  return tableCounters(c);
}

export interface TableDelta {
  table: string;
  inserted: number;
  updated: number;
  hotUpdated: number;
  /** hotUpdated / updated (NaN when nothing was updated). */
  hotRatio: number;
  /** Dead tuples at the end (no VACUUM runs during the bench unless the server's autovacuum does). */
  deadAtEnd: number;
  pagesAtEnd: number;
  indexPagesAtEnd: number;
}

export function deltas(before: Snapshot, after: Snapshot): TableDelta[] {
  return HOT_PATH_TABLES.map((table) => {
    const a = after.get(table);
    const b = before.get(table) ?? a;
    const updated = (a?.upd ?? 0) - (b?.upd ?? 0);
    const hotUpdated = (a?.hot ?? 0) - (b?.hot ?? 0);
    return {
      table,
      inserted: (a?.ins ?? 0) - (b?.ins ?? 0),
      updated,
      hotUpdated,
      hotRatio: updated > 0 ? hotUpdated / updated : NaN,
      deadAtEnd: a?.dead ?? 0,
      pagesAtEnd: a?.pages ?? 0,
      indexPagesAtEnd: a?.indexPages ?? 0,
    };
  });
}

export const fmtRatio = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
