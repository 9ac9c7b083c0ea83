/**
 * The writer's group-committed adjustment statement (ADJUST_BATCH_SQL): many `onHand += delta`
 * requests (inventoryAdjust), from any stores and actors, in ONE statement, each with exactly the
 * result CHANGE_SQL would give it, applied one request after the other in arrival order
 * (test/e2e/adjust-batch.test.ts proves it on twin databases):
 *  - a request with an idempotency key takes part only if its key is free (`claim`, CLAIM_SQL in
 *    sql-parts.ts); its ledger row carries the key. A batch with keys runs in the caller's
 *    transaction, which records their responses before it commits (adjustLevels());
 *  - a request names its level by id or by variant (id or sku) and warehouse (id or code), as
 *    resolveLevel() does; only an existing level of a writable (not read-only) warehouse with no due
 *    reservation lines is served (lazy expiry is the general path's); the others are left to the
 *    caller's general path and write nothing;
 *  - the served levels are locked in ascending id order;
 *  - a level's requests apply in arrival (`idx`) order, each against the counters the previous one
 *    left (a recursive CTE: one step per request of a level; all levels advance together), each with
 *    its own guard, CHANGE_SQL's for a delta: OUT_OF_RANGE; a negative delta may not take onHand −
 *    reserved, nor available, below −allowance of the level's backorder policy (0 under DENY:
 *    INSUFFICIENT, else BACKORDER_LIMIT). A refused request writes nothing (the next one sees the
 *    counters unchanged) and is answered with the counters it saw, as CHANGE_SQL answers it;
 *  - each level's row is updated ONCE (one row version per level per batch keeps the update HOT),
 *    onHand by the net of its applied requests and `version` by one per applied request. The UPDATE
 *    is NOT guarded by `l.version = <version locked>`: its join is evaluated on the row version of
 *    the statement's snapshot, so a level another transaction changed after that snapshot (and
 *    before the lock) would never match it and every request of the level would fall back. FOR
 *    UPDATE in READ COMMITTED returns the latest row version (the one locked), and the UPDATE
 *    changes that version (EvalPlanQual); the final SELECT checks that the row written has exactly
 *    the counters the steps computed, and fails the whole statement otherwise (22P02: the batch
 *    then takes the general path and nothing is written). A level whose requests were all refused
 *    is rewritten with its own values, so its refusals are checked the same way;
 *  - each applied request gets its ledger row and its INVENTORY_UPDATED (and, on a status or
 *    sellable crossing, STOCK_STATUS_CHANGED) event, exactly as CHANGE_SQL writes them; movement ids
 *    are drawn and events queued in arrival order, the order of the one-by-one path. Like every
 *    writer statement it does not NOTIFY (statements.ts): the caller wakes the event hub after it.
 * Parameters (arrays, one element per request): $1 store, $2 level id (or NULL), $3 variant id,
 * $4 sku, $5 warehouse id, $6 warehouse code, $7 delta, $8 reason, $9 note, $10 actor, $11 the
 * traceparent of the request (its events carry it, as a transaction's events carry the
 * app.traceparent the runner sets; the column's default otherwise), $12 the idempotency key (or
 * NULL). One row per
 * request in arrival order: `idx`, `served` (false: left to the general path) and CHANGE_SQL's
 * columns (the writer's Row).
 */
import { preparedStatement } from '../../db/client';
import { allowanceSql, policySql } from './policy';
import { CLAIM_SQL, LEVEL_WRITES, levelEvents, setList } from './sql-parts';

/** The failure of one step: delta `d` from onHand `cur` (CHANGE_SQL's guards for mode 'delta'). */
const failure = (s: string, cur: string, d: string) => `(CASE
        WHEN ${cur} + ${d} > 2147483647 OR ${cur} + ${d} < -2147483647 THEN 'OUT_OF_RANGE'
        WHEN ${s}.res < 0 THEN 'RESERVED_NEGATIVE'
        WHEN ${d} < 0 AND (${cur} + ${d} - ${s}.res < -${s}.allow OR ${cur} + ${d} - ${s}.res - ${s}.safety < -${s}.allow) THEN
          CASE WHEN ${s}.policy = 'DENY' THEN 'INSUFFICIENT' ELSE 'BACKORDER_LIMIT' END
      END)::text`;

/** The columns every step carries along. */
const CARRIED = 'id, n, idxs, deltas, res, safety, allow, policy';

export const ADJUST_BATCH_SQL = preparedStatement(
  'stock_adjust_batch',
  `
WITH RECURSIVE
inp AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::int8[], $8::text[], $9::text[], $10::text[],
                       $11::text[], $12::text[])
    WITH ORDINALITY AS a(store_id, level_id, variant_id, sku, warehouse_id, warehouse_code, delta, reason, note, actor, tp, key, idx)
),
${CLAIM_SQL},
req AS (
  SELECT inp.idx, inp.store_id, inp.delta, inp.reason, inp.note, inp.actor, inp.tp, inp.key,
         CASE WHEN inp.key IS NULL OR inp.idx IN (SELECT idx FROM claim) THEN coalesce(inp.level_id, (
           SELECT l.id FROM variants v
             JOIN warehouses w ON w.store_id = inp.store_id AND (w.id = inp.warehouse_id OR w.code = inp.warehouse_code)
             JOIN inventory_levels l ON l.store_id = inp.store_id AND l.variant_id = v.id AND l.warehouse_id = w.id
            WHERE v.store_id = inp.store_id AND (v.id = inp.variant_id OR v.sku = inp.sku))) END AS level_id
    FROM inp
),
lk AS (
  SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.reserved, l.safety_stock, l.incoming,
         l.low_stock_threshold AS low, l.critical_threshold AS critical, l.version,
         l.inventory_policy::text AS own_policy, l.backorder_limit AS lim, ${policySql('l', 'v')} AS policy, ${allowanceSql('l', 'v')} AS allow
    FROM inventory_levels l
    JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
    JOIN warehouses w ON w.id = l.warehouse_id AND w.store_id = l.store_id
   WHERE (l.store_id, l.id) IN (SELECT store_id, level_id FROM req WHERE level_id IS NOT NULL)
     AND NOT w.read_only
     -- dueLines('d', 'l.store_id', '= l.id'), written out so the store-join check (test/unit/store-joins.test.ts) reads it
     AND NOT EXISTS (SELECT 1 FROM reservation_lines d
                      WHERE d.store_id = l.store_id AND d.inventory_level_id = l.id AND d.status = 'ACTIVE' AND d.expires_at <= now())
   ORDER BY l.id
     FOR UPDATE OF l
),
base AS (
  -- One row per served level: its requests' positions and deltas in arrival order.
  SELECT lk.*, a.idxs, a.deltas, a.n
    FROM lk JOIN (
      SELECT store_id, level_id, array_agg(idx ORDER BY idx) AS idxs, array_agg(delta ORDER BY idx) AS deltas, count(*)::int AS n
        FROM req WHERE level_id IS NOT NULL GROUP BY store_id, level_id
    ) a ON a.level_id = lk.id AND a.store_id = lk.store_id
),
steps AS (
  SELECT b.id, b.n, b.idxs, b.deltas, b.res, b.safety, b.allow, b.policy,
         1 AS k, b.on_hand::int8 AS cur, ${failure('b', 'b.on_hand::int8', 'b.deltas[1]')} AS failure
    FROM (SELECT id, n, idxs, deltas, reserved::int8 AS res, safety_stock::int8 AS safety, allow::int8 AS allow, policy, on_hand FROM base) b
  UNION ALL
  SELECT ${CARRIED.split(', ')
    .map((c) => `s.${c}`)
    .join(', ')}, s.k + 1, c.cur, ${failure('s', 'c.cur', 's.deltas[s.k + 1]')}
    FROM steps s, LATERAL (SELECT CASE WHEN s.failure IS NULL THEN s.cur + s.deltas[s.k] ELSE s.cur END AS cur) c
   WHERE s.k < s.n
),
st AS (
  SELECT s.*, s.idxs[s.k] AS idx, s.deltas[s.k] AS delta,
         CASE WHEN s.failure IS NULL THEN s.cur + s.deltas[s.k] ELSE s.cur END AS after,
         sum((s.failure IS NULL)::int) OVER (PARTITION BY s.id ORDER BY s.k) AS applied
    FROM steps s
),
fin AS MATERIALIZED (
  SELECT DISTINCT ON (st.id) st.id, b.store_id, b.version, b.on_hand, st.after::int AS a_on_hand, st.applied::int AS applied
    FROM st JOIN base b ON b.id = st.id
   ORDER BY st.id, st.k DESC
),
upd AS (
  UPDATE inventory_levels l
     SET ${setList(LEVEL_WRITES.adjust)}
    FROM fin
   WHERE l.id = fin.id AND l.store_id = fin.store_id
  RETURNING l.id, l.on_hand, l.version, l.updated_at
),
-- The applied requests of the levels changed, in arrival order; movement ids are drawn here, in that order.
mvs AS (
  SELECT nextval(pg_get_serial_sequence('stock_movements', 'id')) AS mid, m.* FROM (
    SELECT st.idx, st.id, b.store_id, b.variant_id, b.warehouse_id, st.cur, st.after, st.res, st.safety, st.allow,
           b.incoming, b.low, b.critical, q.reason, q.note, q.actor, q.tp, q.key,
           inventory_stock_status(greatest(st.cur - st.res - st.safety, 0)::int, b.low, b.critical) AS status_before,
           inventory_stock_status(greatest(st.after - st.res - st.safety, 0)::int, b.low, b.critical) AS status_after,
           (st.cur - st.res - st.safety > -st.allow) AS sellable_before, (st.after - st.res - st.safety > -st.allow) AS sellable_after
      FROM st JOIN upd ON upd.id = st.id JOIN base b ON b.id = st.id JOIN req q ON q.idx = st.idx
     WHERE st.failure IS NULL
     ORDER BY st.idx
  ) m
),
mv AS (
  INSERT INTO stock_movements (id, store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
      on_hand_before, on_hand_after, reserved_before, reserved_after, note, actor, idempotency_key,
      safety_stock_before, safety_stock_after, incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after)
  SELECT m.mid, m.store_id, m.id, m.reason::"MovementReason", m.after - m.cur, 0, m.cur, m.after, m.res, m.res, m.note, m.actor, m.key,
         m.safety, m.safety, m.incoming, m.incoming, m.low, m.low, m.critical, m.critical
    FROM mvs m
   ORDER BY m.mid
  RETURNING id
),
ob AS (
  INSERT INTO outbox_events (store_id, topic, level_id, payload, traceparent)
  SELECT e.store_id, t.topic, e.id, t.payload, coalesce(e.tp, nullif(current_setting('app.traceparent', true), ''))
    FROM mvs e, (SELECT count(*) FROM mv) w, ${levelEvents({
      updated: 'true',
      level: 'e.id',
      variant: 'e.variant_id',
      warehouse: 'e.warehouse_id',
      reason: 'e.reason',
      movementId: 'e.mid',
      expiredQuantity: '0',
      actor: 'e.actor',
      before: {
        onHand: 'e.cur',
        reserved: 'e.res',
        safety: 'e.safety',
        incoming: 'e.incoming',
        status: 'e.status_before',
        sellable: 'e.sellable_before',
      },
      after: {
        onHand: 'e.after',
        reserved: 'e.res',
        safety: 'e.safety',
        incoming: 'e.incoming',
        status: 'e.status_after',
        sellable: 'e.sellable_after',
      },
    })}
   WHERE t.payload IS NOT NULL
   ORDER BY e.idx, t.ord
  RETURNING id
)
SELECT q.idx, (upd.id IS NOT NULL) AS served, st.id, b.store_id, b.variant_id, b.warehouse_id, st.failure,
       st.cur AS b_on_hand, st.res AS b_reserved, st.safety AS b_safety,
       st.after::int AS a_on_hand, st.res::int AS a_reserved, st.safety::int AS a_safety, b.incoming AS a_incoming,
       b.low AS a_low, b.critical AS a_critical, b.own_policy AS a_policy, b.lim AS a_limit, st.allow,
       (b.version + st.applied)::int AS version, upd.updated_at, m.mid AS movement_id, 0 AS expired_q,
       -- An adjustment never leaves units uncovered (its guards keep onHand − reserved ≥ −allowance when it
       -- lowers onHand) nor changes incoming: CHANGE_SQL's uncovered figures are 0 and its incoming the level's.
       0 AS unc_before, 0 AS unc_after, b.incoming AS want_incoming,
       -- The rows locked are the rows changed (see above); were it ever not so, the statement fails here and writes nothing.
       (SELECT min(('adjust batch: level ' || u.id || ' moved on')::int) FROM upd u JOIN fin f ON f.id = u.id
         WHERE u.on_hand <> f.a_on_hand OR u.version <> f.version + f.applied) AS moved_on
  FROM req q
  LEFT JOIN st ON st.idx = q.idx
  LEFT JOIN base b ON b.id = st.id
  LEFT JOIN upd ON upd.id = st.id
  LEFT JOIN mvs m ON m.idx = q.idx
 ORDER BY q.idx`,
);
