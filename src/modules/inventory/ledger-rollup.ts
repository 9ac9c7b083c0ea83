/**
 * The ledger's hourly checkpoints (stock_movement_rollups), for stockMovementsSummary: a periodic
 * job moves stock_rollup_state.rolled_until forward and inserts, for the movements between the old
 * and the new bound, their net changes per store, level, UTC hour and reason. Insert-only: the
 * ledger is never updated, checkpoints are never updated; only the one state row is.
 *
 * The new bound must leave no movement behind: a movement's created_at is its transaction's start,
 * and it becomes visible at commit. So the bound is at most
 *  - now() − LEDGER_ROLLUP_LAG_MS, and
 *  - the start of every transaction still open in this database (pg_stat_activity), read in one
 *    statement; the checkpoint rows are computed in the NEXT statement (a newer snapshot, READ
 *    COMMITTED), which sees every transaction that was finished when the bound was taken.
 * A run covers at most one hour of ledger (LEDGER_ROLLUP_WINDOW_MS) and the job repeats while it is
 * behind. A transaction-level advisory lock keeps it to one instance at a time.
 * pg_stat_activity shows other roles' transaction starts only to roles with pg_read_all_stats:
 * writers of the ledger must use the gateway's role (they do), or the lag must exceed their
 * transactions' length.
 */
import type { App } from '../../app';
import { withTx } from '../../db/tx';
import { CoalescedLoop } from '../../util/coalesced-loop';

/** The lock key of the job (pg_try_advisory_xact_lock). */
export const LOCK_KEY = 2021092; // 0x1ed6e4, "ledger"

const BOUNDS_SQL = `
SELECT pg_try_advisory_xact_lock(${LOCK_KEY}) AS locked, s.rolled_until AS "from",
       least(now() - make_interval(secs => $1::float8 / 1000),
             (SELECT min(a.xact_start) FROM pg_stat_activity a
               WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
                 AND a.backend_type = 'client backend'),
             coalesce(s.rolled_until, first.at) + make_interval(secs => $2::float8 / 1000)) AS "until",
       coalesce(s.rolled_until, first.at) AS start
  FROM stock_rollup_state s
  -- Before the first run: the oldest movement of any store (one index probe per store).
  LEFT JOIN LATERAL (
    SELECT min(x.created_at) AS at FROM stores st
      CROSS JOIN LATERAL (SELECT m.created_at FROM stock_movements m WHERE m.store_id = st.id ORDER BY m.created_at LIMIT 1) x
     WHERE s.rolled_until IS NULL
  ) first ON true
 WHERE s.id = 1`;

/**
 * Both checkpoint tables from one scan of the ledger between the bounds. $1: the old bound (NULL on
 * the first run: everything before $2), $2: the new one.
 */
const ROLLUP_SQL = `
WITH agg AS MATERIALIZED (
  SELECT m.store_id, m.inventory_level_id, l.variant_id, l.warehouse_id, date_trunc('hour', m.created_at, 'UTC') AS hour, m.reason,
         sum(m.quantity_delta)::int8 AS d_on_hand, sum(m.reserved_delta)::int8 AS d_reserved,
         sum(coalesce(m.incoming_after - m.incoming_before, 0))::int8 AS d_incoming, count(*)::int8 AS n
    FROM stores st
    CROSS JOIN LATERAL (
      SELECT * FROM stock_movements m
       WHERE m.store_id = st.id AND m.created_at >= coalesce($1::timestamptz, '-infinity') AND m.created_at < $2::timestamptz
    ) m
    JOIN inventory_levels l ON l.id = m.inventory_level_id AND l.store_id = m.store_id
   GROUP BY 1, 2, 3, 4, 5, 6
),
by_level AS (
  INSERT INTO stock_movement_rollups (store_id, inventory_level_id, variant_id, warehouse_id, hour, reason,
      on_hand_change, reserved_change, incoming_change, movements)
  SELECT store_id, inventory_level_id, variant_id, warehouse_id, hour, reason, d_on_hand, d_reserved, d_incoming, n FROM agg
  RETURNING 1
),
by_warehouse AS (
  INSERT INTO stock_movement_warehouse_rollups (store_id, warehouse_id, hour, reason, on_hand_change, reserved_change, incoming_change, movements)
  SELECT store_id, warehouse_id, hour, reason, sum(d_on_hand), sum(d_reserved), sum(d_incoming), sum(n) FROM agg GROUP BY 1, 2, 3, 4
  RETURNING 1
)
SELECT (SELECT count(*) FROM by_level)::int AS n, (SELECT count(*) FROM by_warehouse)::int AS w`;

export interface RollupOutcome {
  /** Another instance holds the job's lock, or there is nothing to roll up yet. */
  skipped: boolean;
  rolledUntil: Date | null;
  rows: number;
  /** The bound can move further right away (the run stopped at its window). */
  behind: boolean;
}

/** One run of the job: at most one window of ledger, in one transaction of three statements. */
export async function rollupOnce(app: App): Promise<RollupOutcome> {
  const lagMs = app.config.ledgerRollupLagMs;
  const windowMs = app.config.ledgerRollupWindowMs;
  // Checkpoints queue no event: the commit does not wake the event hub (app.tx.afterCommit).
  return withTx({ ...app.tx, afterCommit: undefined }, async (tx) => {
    const [b] = await tx.query<{ locked: boolean; from: Date | null; until: Date | null; start: Date | null }>(BOUNDS_SQL, [
      lagMs,
      windowMs,
    ]);
    if (!b?.locked) return { skipped: true, rolledUntil: b?.from ?? null, rows: 0, behind: false };
    // No movement at all yet, or the bound would not move: nothing to do.
    if (b.start === null || b.until === null || b.until <= b.start) return { skipped: true, rolledUntil: b.from, rows: 0, behind: false };
    // The first run starts before the oldest movement: a transaction still open may add older ones.
    const [r] = await tx.query<{ n: number }>(ROLLUP_SQL, [b.from, b.until]);
    await tx.query(`UPDATE stock_rollup_state SET rolled_until = $1 WHERE id = 1`, [b.until]);
    const behind = b.until.getTime() - b.start.getTime() >= windowMs;
    return { skipped: false, rolledUntil: b.until, rows: r.n, behind };
  });
}

/**
 * Empties the checkpoints and resets their bound (under the job's lock, so no run is halfway): the
 * job then starts over from the oldest movement. For rows imported into the ledger with past
 * timestamps (docs/OPERATIONS.md).
 */
export async function resetCheckpoints(app: Pick<App, 'tx'>): Promise<void> {
  await withTx(app.tx, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.query('DELETE FROM stock_movement_rollups');
    await tx.query('DELETE FROM stock_movement_warehouse_rollups');
    await tx.query('UPDATE stock_rollup_state SET rolled_until = NULL WHERE id = 1');
  });
}

/** Runs rollupOnce() every LEDGER_ROLLUP_INTERVAL_MS (and again at once while behind), on every instance. */
export class LedgerRollup {
  private readonly loop: CoalescedLoop;

  constructor(app: App) {
    this.loop = new CoalescedLoop(
      async () => {
        const r = await rollupOnce(app);
        if (r.behind) this.loop.poke();
      },
      app.config.ledgerRollupIntervalMs,
      (e) => app.log.warn('ledger rollup failed', { err: e.message }),
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
