/**
 * Stock history, read from the ledger (stock_movements): a level's counters at a past moment
 * (snapshot) and net changes per reason and period (summary). Each is ONE statement, whatever the
 * ledger's size or the number of levels asked about. The rules (docs/API.md, "Stock history"):
 *
 * Snapshot at `at`: the counters after the level's last movement with created_at <= at (ledger
 * order: created_at, then id). Every change of onHand, reserved, incoming, safetyStock and the
 * thresholds writes a movement with its values before and after (the stock writer), so that row's
 * "after" values are the level's state at `at`. created_at is the time the change's transaction
 * started. Found by one descent of stock_movements (store_id, inventory_level_id, created_at, id).
 *  - `reserved` is the effective one, as the live field: holds whose lines had expired by `at`
 *    do not count, even if the ledger recorded their EXPIRY later (expiry is lazy). Such holds are
 *    still ACTIVE lines due at `at`, or were expired by the first statement that touched the level
 *    after `at` (every writer statement expires a level's due lines first, the sweeper too): that
 *    statement's EXPIRY rows whose lines were due at `at` are subtracted.
 *  - No movement at or before `at` (the level existed but had not changed): its initial state, all
 *    zero (levels are created at zero; every later value comes through the writer).
 *  - Rows written before the ledger recorded settings (migration 20261130140000) carry no
 *    incoming, safetyStock or thresholds: the level's current values stand in for them.
 *
 * Summary: checkpoints (hourly per reason, per level in stock_movement_rollups and per warehouse in
 * stock_movement_warehouse_rollups, written by ledger-rollup.ts) for the whole hours of the range before stock_rollup_state.rolled_until, and
 * the raw ledger for the rest (the partial hours at both ends and the recent tail), each part a
 * range of an index; the two never overlap, so the sums are exact whether the job ran or not.
 * The last, partial hour (a range to now) is read from its checkpoints up to the bound too, so only
 * the movements since the job's last run are read raw, however busy the current hour was (a full
 * `npm run bench` put 1.5 million movements in it, and a raw read of them took the 30-day summary
 * past 5 s).
 */
import type { Tx } from '../../db/tx';
import type { MovementReason } from '../stock';

export interface SnapshotRow {
  levelId: string;
  /** The level existed at `at` (created at or before it). */
  existed: boolean;
  onHand: number;
  reserved: number;
  incoming: number;
  safetyStock: number;
  lowStockThreshold: number;
  criticalThreshold: number;
}

const SNAPSHOT_SQL = `
SELECT l.id AS "levelId", l.created_at <= $3::timestamptz AS existed,
       coalesce(m.on_hand_after, 0) AS "onHand",
       greatest(coalesce(m.reserved_after, 0) - coalesce(x.q, 0) - coalesce(a.q, 0), 0)::int AS reserved,
       CASE WHEN m.id IS NULL THEN 0 ELSE coalesce(m.incoming_after, l.incoming) END AS incoming,
       CASE WHEN m.id IS NULL THEN 0 ELSE coalesce(m.safety_stock_after, l.safety_stock) END AS "safetyStock",
       CASE WHEN m.id IS NULL THEN 0 ELSE coalesce(m.low_stock_threshold_after, l.low_stock_threshold) END AS "lowStockThreshold",
       CASE WHEN m.id IS NULL THEN 0 ELSE coalesce(m.critical_threshold_after, l.critical_threshold) END AS "criticalThreshold"
  FROM inventory_levels l
  LEFT JOIN LATERAL (
    SELECT s.* FROM stock_movements s
     WHERE s.store_id = l.store_id AND s.inventory_level_id = l.id AND s.created_at <= $3::timestamptz
     ORDER BY s.created_at DESC, s.id DESC LIMIT 1
  ) m ON true
  -- Holds due at $3 that the ledger expired later: EXPIRY rows of the level's first statement after $3.
  LEFT JOIN LATERAL (
    SELECT sum(-e.reserved_delta)::int8 AS q FROM stock_movements e
     WHERE e.store_id = l.store_id AND e.inventory_level_id = l.id AND e.reason = 'EXPIRY' AND e.created_at > $3::timestamptz
       AND e.created_at <= (SELECT n.created_at FROM stock_movements n WHERE n.store_id = l.store_id AND n.inventory_level_id = l.id AND n.created_at > $3::timestamptz
                             ORDER BY n.created_at, n.id LIMIT 1)
       AND (SELECT max(rl.expires_at) FROM reservation_lines rl
             WHERE rl.store_id = l.store_id AND rl.reservation_id = e.reservation_id AND rl.inventory_level_id = l.id) <= $3::timestamptz
  ) x ON true
  -- Holds due at $3 that nothing has expired yet.
  LEFT JOIN LATERAL (
    SELECT sum(rl.quantity)::int8 AS q FROM reservation_lines rl
     WHERE rl.store_id = l.store_id AND rl.inventory_level_id = l.id AND rl.status = 'ACTIVE' AND rl.expires_at <= $3::timestamptz
  ) a ON true
 WHERE l.store_id = $1 AND l.id = ANY($2::uuid[])`;

/** The levels' counters at `at` (one statement for all of them); a level of another store is absent. */
export function snapshots(tx: Tx, storeId: string, levelIds: readonly string[], at: Date): Promise<SnapshotRow[]> {
  return tx.query<SnapshotRow>(SNAPSHOT_SQL, [storeId, levelIds, at]);
}

export type SummaryUnit = 'hour' | 'day' | 'week';

export interface SummaryFilter {
  from: Date;
  to: Date;
  warehouseIds: string[] | null;
  variantIds: string[] | null;
  productIds: string[] | null;
  reasons: MovementReason[] | null;
}

export interface SummaryRow {
  periodStart: Date;
  reason: MovementReason;
  onHandChange: string;
  reservedChange: string;
  incomingChange: string;
  movements: string;
}

/** The filter conditions on a level's variant and warehouse, and the reason ($4–$7). */
const conditions = (v: string, w: string, reason: string) => `($4::uuid[] IS NULL OR ${w} = ANY($4::uuid[]))
     AND ($5::uuid[] IS NULL OR ${v} = ANY($5::uuid[]))
     AND ($6::uuid[] IS NULL OR ${v} IN (SELECT pv.id FROM variants pv WHERE pv.store_id = $1 AND pv.product_id = ANY($6::uuid[])))
     AND ($7::text[] IS NULL OR ${reason}::text = ANY($7::text[]))`;

/**
 * Raw ledger rows of the store with created_at in [lo, hi) (one range of stock_movements (store_id,
 * created_at, id)), joined to their level only when a filter needs its variant or warehouse.
 */
const raw = (lo: string, hi: string, join: boolean) => `
  SELECT m.created_at AS ts, m.reason, m.quantity_delta::int8 AS d_on_hand, m.reserved_delta::int8 AS d_reserved,
         coalesce(m.incoming_after - m.incoming_before, 0)::int8 AS d_incoming, 1::int8 AS n
    FROM stock_movements m ${join ? 'JOIN inventory_levels l ON l.id = m.inventory_level_id AND l.store_id = m.store_id' : ''}, b
   WHERE m.store_id = $1 AND m.created_at >= ${lo} AND m.created_at < ${hi}
     AND ${join ? conditions('l.variant_id', 'l.warehouse_id', 'm.reason') : `($7::text[] IS NULL OR m.reason::text = ANY($7::text[]))`}`;

/**
 * The checkpoints of whole hours [fc, tf): per level when the filter names variants or products,
 * else per warehouse (far fewer rows: all of a warehouse's levels in one row per hour and reason).
 */
const checkpoints = (perLevel: boolean) =>
  perLevel
    ? `SELECT r.hour, r.reason, r.on_hand_change, r.reserved_change, r.incoming_change, r.movements
    FROM stock_movement_rollups r, b
   WHERE r.store_id = $1 AND r.hour >= b.fc AND (r.hour < b.tf OR (b.end_rolled AND r.hour = b.tf))
     AND ${conditions('r.variant_id', 'r.warehouse_id', 'r.reason')}`
    : `SELECT r.hour, r.reason, r.on_hand_change, r.reserved_change, r.incoming_change, r.movements
    FROM stock_movement_warehouse_rollups r, b
   WHERE r.store_id = $1 AND r.hour >= b.fc AND (r.hour < b.tf OR (b.end_rolled AND r.hour = b.tf))
     AND ($4::uuid[] IS NULL OR r.warehouse_id = ANY($4::uuid[])) AND ($7::text[] IS NULL OR r.reason::text = ANY($7::text[]))`;

const summarySql = (perLevel: boolean, join: boolean) => `
WITH b0 AS (
  SELECT $2::timestamptz AS f, $3::timestamptz AS t,
         -- the first whole hour at or after from, the last hour boundary at or before to
         date_trunc('hour', $2::timestamptz, 'UTC')
           + CASE WHEN date_trunc('hour', $2::timestamptz, 'UTC') < $2::timestamptz THEN interval '1 hour' ELSE interval '0' END AS fc,
         date_trunc('hour', $3::timestamptz, 'UTC') AS tf,
         coalesce((SELECT rolled_until FROM stock_rollup_state WHERE id = 1), '-infinity'::timestamptz) AS rolled,
         -- every parameter typed even when no part reads it
         ($4::uuid[] IS NULL AND $5::uuid[] IS NULL AND $6::uuid[] IS NULL) AS unfiltered
),
b AS (
  -- The last, partial hour [tf, t) from its checkpoints up to the bound when the range covers all
  -- they hold (tf is an hour boundary inside the range and the bound lies in [tf, t]): only
  -- [rolled, t) is read raw. Otherwise (t before the bound) the whole partial hour is read raw.
  SELECT b0.*, (b0.tf >= b0.f AND b0.tf >= b0.fc AND b0.rolled > b0.tf AND b0.rolled <= b0.t) AS end_rolled FROM b0
),
parts AS (
  ${raw('b.f', 'least(b.fc, b.t)', join)}
  UNION ALL ${raw('CASE WHEN b.end_rolled THEN b.rolled ELSE greatest(b.tf, b.fc, b.f) END', 'b.t', join)}
  UNION ALL ${raw('greatest(b.rolled, b.fc)', 'b.tf', join)}
  UNION ALL ${checkpoints(perLevel)}
)
SELECT date_trunc($8, ts, 'UTC') AS "periodStart", reason,
       sum(d_on_hand)::text AS "onHandChange", sum(d_reserved)::text AS "reservedChange",
       sum(d_incoming)::text AS "incomingChange", sum(n)::text AS movements
  FROM parts
 GROUP BY 1, 2
 ORDER BY 1, reason::text`;
/** By the filter: variants or products → per-level checkpoints; warehouses → per warehouse, with the join; none → no join. */
const SUMMARY_SQL = { level: summarySql(true, true), warehouse: summarySql(false, true), store: summarySql(false, false) };

/** The summary's one statement and its parameters (exported for the tests that read its plan). */
export function summaryStatement(storeId: string, f: SummaryFilter, unit: SummaryUnit): { sql: string; params: unknown[] } {
  const sql = f.variantIds || f.productIds ? SUMMARY_SQL.level : f.warehouseIds ? SUMMARY_SQL.warehouse : SUMMARY_SQL.store;
  return { sql, params: [storeId, f.from, f.to, f.warehouseIds, f.variantIds, f.productIds, f.reasons, unit] };
}

/** Net changes per period (UTC) and reason of the store's movements with from <= created_at < to, in one statement. */
export function movementSummary(tx: Tx, storeId: string, f: SummaryFilter, unit: SummaryUnit): Promise<SummaryRow[]> {
  const { sql, params } = summaryStatement(storeId, f, unit);
  return tx.query<SummaryRow>(sql, params);
}
