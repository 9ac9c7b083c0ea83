/**
 * The writer's set-based bulk statement: many SET / ADJUST changes (inventoryBulkUpdate, the CSV
 * import) in ONE statement, with exactly the per-change semantics of CHANGE_SQL applied one change
 * after the other (test/e2e/bulk-equivalence.test.ts proves it on twin databases):
 *  - the levels are locked in ascending id order; their due reservation lines expire (lazy expiry,
 *    one EXPIRY movement per reservation, as CHANGE_SQL writes them at a level's first change);
 *  - the changes of one level apply in input order, each against the counters the previous one left
 *    (a recursive CTE: one step per change of a level; all levels advance together), each with its
 *    own guard (OUT_OF_RANGE, BELOW_RESERVED for SET, INSUFFICIENT / BACKORDER_LIMIT; a negative
 *    ADJUST must keep available ≥ −allowance of the level's backorder policy, 0 under DENY, and no
 *    change that lowers onHand may take onHand − reserved below −allowance); a refused change writes
 *    nothing and the next one sees the counters unchanged;
 *  - each level's row is updated ONCE, with its final counters and `version` advanced by one per
 *    change that the one-by-one path would have counted (so versions match it): one row version per
 *    level per bulk keeps the update HOT (docs/HOT-UPDATES.md);
 *  - each applied change gets its ledger row and its INVENTORY_UPDATED (and, on a status crossing,
 *    STOCK_STATUS_CHANGED) event, in the order the one-by-one path writes them; movement ids are
 *    drawn from the sequence in that order, so events name their movement.
 * Parameters: $1 store, $2 level ids, $3 modes ('set' | 'delta'), $4 values, $5 reasons, $6 notes
 * (arrays, one element per change, in application order: ascending level id, then input order),
 * $7 actor, $8 idempotency key. One row per change that found its level, with `pos` (1-based).
 */
import { preparedStatement } from '../../db/client';
import { allowanceSql, policySql } from './policy';
import { dueLines, LEVEL_WRITES, levelEvents, setList } from './sql-parts';

/** The columns of a level row that every step carries along (no join back to it later). */
const LEVEL = `id, store_id, variant_id, warehouse_id, on_hand, reserved, safety_stock, incoming, low, critical, version, updated_at,
      policy, lim, allow, poss, modes, vals, reasons, notes, n, expired_q, res0`;

/** One step (the k-th change of a level), from the counters it starts from (`cur`). */
const step = (from: string, src: string, k: string, cur: string) => `SELECT ${LEVEL.split(',')
  .map((c) => `${src}.${c.trim()}`)
  .join(', ')}, (${k})::int AS k, c.cur, x.nxt,
      (CASE
        WHEN greatest(x.nxt, ${src}.res0) > 2147483647 OR x.nxt < -2147483647 THEN 'OUT_OF_RANGE'
        WHEN ${src}.res0 < 0 THEN 'RESERVED_NEGATIVE'
        WHEN x.nxt - ${src}.res0 < -${src}.allow AND x.nxt < c.cur THEN
          CASE WHEN ${src}.modes[${k}] = 'set' THEN 'BELOW_RESERVED' WHEN ${src}.policy = 'DENY' THEN 'INSUFFICIENT' ELSE 'BACKORDER_LIMIT' END
        WHEN ${src}.modes[${k}] = 'delta' AND ${src}.vals[${k}] < 0 AND x.nxt - ${src}.res0 - ${src}.safety_stock < -${src}.allow THEN
          CASE WHEN ${src}.policy = 'DENY' THEN 'INSUFFICIENT' ELSE 'BACKORDER_LIMIT' END
      END)::text AS failure
    FROM ${from}, LATERAL (SELECT (${cur})::int8 AS cur) c,
         LATERAL (SELECT CASE WHEN ${src}.modes[${k}] = 'set' THEN ${src}.vals[${k}] ELSE c.cur + ${src}.vals[${k}] END AS nxt) x`;

const MOVEMENT_COLUMNS = `store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
      reserved_before, reserved_after, note, actor, idempotency_key, reservation_id, safety_stock_before, safety_stock_after,
      incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after`;

export const BULK_SQL = preparedStatement(
  'stock_bulk',
  `
WITH RECURSIVE
lk AS (
  -- One row per change, its level locked, in ascending level id: each change finds and locks its
  -- level (and reads its variant) by the primary key. A LATERAL subquery with FOR UPDATE is never
  -- merged into a join, so no plan reads the store's levels and variants to find the batch's (which
  -- a plan for these parameters did without statistics: test/e2e/bulk-plans.test.ts); the nested
  -- loop takes the changes in the order sorted here, so the locks are taken in level id order.
  SELECT u.pos, u.mode, u.val, u.reason, u.note, l.*
    FROM (SELECT * FROM unnest($2::uuid[], $3::text[], $4::int8[], $5::text[], $6::text[]) WITH ORDINALITY AS u(level_id, mode, val, reason, note, pos)
           ORDER BY u.level_id, u.pos) u,
         LATERAL (
           SELECT l.id, l.store_id, l.variant_id, l.warehouse_id, l.on_hand, l.reserved, l.safety_stock,
                  l.incoming, l.low_stock_threshold AS low, l.critical_threshold AS critical, l.version, l.updated_at,
                  ${policySql('l', 'v')} AS policy, l.inventory_policy::text AS own_policy, l.backorder_limit AS lim, ${allowanceSql('l', 'v')} AS allow
             FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
            WHERE l.store_id = $1::uuid AND l.id = u.level_id
              FOR UPDATE OF l) l
),
due AS (
  UPDATE reservation_lines rl SET status = 'EXPIRED', expired_quantity = rl.quantity
   WHERE ${dueLines('rl', '$1::uuid', 'IN (SELECT id FROM lk)')}
  RETURNING rl.inventory_level_id AS level_id, rl.expired_quantity, rl.reservation_id
),
exp_r AS (
  SELECT level_id, reservation_id, q, n, sum(q) OVER (PARTITION BY level_id ORDER BY reservation_id) AS cum
    FROM (SELECT level_id, reservation_id, sum(expired_quantity)::int8 AS q, count(*)::int AS n FROM due GROUP BY level_id, reservation_id) g
),
base AS (
  -- One row per level: its changes as arrays, in input order; its counters after lazy expiry.
  SELECT v.*, coalesce(e.q, 0)::int8 AS expired_q, (v.reserved - coalesce(e.q, 0))::int8 AS res0
    FROM (
      SELECT id, store_id, variant_id, warehouse_id, on_hand, reserved, safety_stock, incoming, low, critical, version, updated_at,
             policy, own_policy, lim, allow, array_agg(pos ORDER BY pos) AS poss, array_agg(mode ORDER BY pos) AS modes, array_agg(val ORDER BY pos) AS vals,
             array_agg(reason ORDER BY pos) AS reasons, array_agg(note ORDER BY pos) AS notes, count(*)::int AS n
        FROM lk
       GROUP BY id, store_id, variant_id, warehouse_id, on_hand, reserved, safety_stock, incoming, low, critical, version, updated_at, policy, own_policy, lim, allow
    ) v LEFT JOIN (SELECT level_id, sum(q)::int8 AS q FROM exp_r GROUP BY level_id) e ON e.level_id = v.id
),
steps AS (
  ${step('base b', 'b', '1', 'b.on_hand')}
  UNION ALL
  ${step('steps p', 'p', 'p.k + 1', 'CASE WHEN p.failure IS NULL THEN p.nxt ELSE p.cur END')}
   WHERE p.k < p.n
),
st AS (
  SELECT z.*, z.version + sum(z.bump) OVER w AS a_version, sum(z.bump) OVER w > 0 AS touched,
         inventory_stock_status(greatest(z.cur - z.res_before - z.safety_stock, 0)::int, z.low, z.critical) AS status_before,
         inventory_stock_status(greatest(z.after - z.res0 - z.safety_stock, 0)::int, z.low, z.critical) AS status_after,
         (z.cur - z.res_before - z.safety_stock > -z.allow) AS sellable_before, (z.after - z.res0 - z.safety_stock > -z.allow) AS sellable_after
    FROM (
      SELECT t.*, t.poss[t.k] AS pos, t.reasons[t.k] AS reason, t.notes[t.k] AS note,
             CASE WHEN t.failure IS NULL THEN t.nxt ELSE t.cur END AS after,
             (t.failure IS NULL AND t.nxt <> t.cur) AS changed,
             CASE WHEN t.k = 1 THEN t.expired_q ELSE 0 END AS exp_q,
             CASE WHEN t.k = 1 THEN t.reserved::int8 ELSE t.res0 END AS res_before,
             ((t.failure IS NULL AND t.nxt <> t.cur) OR (t.k = 1 AND t.expired_q > 0))::int AS bump
        FROM steps t
    ) z
  WINDOW w AS (PARTITION BY z.id ORDER BY z.k)
),
fin AS MATERIALIZED (
  SELECT DISTINCT ON (id) id, after::int AS a_on_hand, a_version, touched, res0 FROM st ORDER BY id, k DESC
),
upd AS (
  -- The touched levels by the primary key (an id list, not a join the planner could turn into a
  -- scan of the store's levels).
  UPDATE inventory_levels l
     SET ${setList(LEVEL_WRITES.bulk)}
    FROM fin
   WHERE l.store_id = $1::uuid AND l.id = ANY(ARRAY(SELECT f.id FROM fin f WHERE f.touched)) AND l.id = fin.id
  RETURNING l.id
),
-- Every step and every EXPIRY movement in the order the one-by-one path writes them; movement ids
-- are drawn here, in that order (a step gets one only if it changed something).
mvs AS (
  SELECT CASE WHEN m.grp = 0 OR m.changed THEN nextval(pg_get_serial_sequence('stock_movements', 'id')) END AS mid, m.* FROM (
    SELECT u.* FROM (
      SELECT st.pos, 0 AS grp, e.reservation_id AS rsv, true AS changed, st.id, st.store_id, st.variant_id, st.warehouse_id,
             'EXPIRY'::text AS reason, 0::int8 AS qd, -e.q AS rd, st.on_hand::int8 AS ohb, st.on_hand::int8 AS oha,
             (st.reserved - (e.cum - e.q))::int8 AS rb, (st.reserved - e.cum)::int8 AS ra,
             e.n || ' reservation line(s) expired' AS note, 'system:expiry'::text AS actor, NULL::text AS ikey, e.reservation_id AS res_id,
             st.safety_stock, st.incoming, st.low, st.critical,
             NULL::int8 AS exp_q, NULL::int8 AS res_before, NULL::int8 AS res0, NULL::text AS status_before, NULL::text AS status_after,
             NULL::bool AS sellable_before, NULL::bool AS sellable_after,
             NULL::text AS failure, NULL::int8 AS a_version, NULL::bool AS touched, NULL::timestamptz AS updated_at
        FROM st JOIN exp_r e ON e.level_id = st.id WHERE st.k = 1
      UNION ALL
      SELECT st.pos, 1, NULL, st.changed, st.id, st.store_id, st.variant_id, st.warehouse_id,
             st.reason, st.after - st.cur, 0, st.cur, st.after, st.res0, st.res0, st.note, $7::text, $8::text, NULL,
             st.safety_stock, st.incoming, st.low, st.critical,
             st.exp_q, st.res_before, st.res0, st.status_before::text, st.status_after::text,
             st.sellable_before, st.sellable_after, st.failure, st.a_version, st.touched, st.updated_at
        FROM st
    ) u ORDER BY u.pos, u.grp, u.rsv
  ) m
),
mv AS (
  INSERT INTO stock_movements (id, ${MOVEMENT_COLUMNS})
  SELECT m.mid, m.store_id, m.id, m.reason::"MovementReason", m.qd, m.rd, m.ohb, m.oha, m.rb, m.ra, m.note, m.actor, m.ikey, m.res_id,
         m.safety_stock, m.safety_stock, m.incoming, m.incoming, m.low, m.low, m.critical, m.critical
    FROM mvs m WHERE m.mid IS NOT NULL
   ORDER BY m.mid
  RETURNING id
),
ev AS (
  SELECT * FROM (SELECT m.*, max(m.mid) FILTER (WHERE m.grp = 0) OVER (PARTITION BY m.pos) AS expiry_mid FROM mvs m) x WHERE x.grp = 1
),
ob AS (
  INSERT INTO outbox_events (store_id, topic, level_id, payload)
  SELECT ev.store_id, t.topic, ev.id, t.payload
    FROM ev, (SELECT count(*) FROM mv) w, ${levelEvents({
      updated: 'ev.changed OR ev.exp_q > 0',
      level: 'ev.id',
      variant: 'ev.variant_id',
      warehouse: 'ev.warehouse_id',
      reason: `CASE WHEN ev.changed THEN ev.reason ELSE 'EXPIRY' END`,
      movementId: 'coalesce(ev.mid, ev.expiry_mid)',
      expiredQuantity: 'ev.exp_q',
      actor: `CASE WHEN ev.changed THEN $7::text ELSE 'system:expiry' END`,
      before: {
        onHand: 'ev.ohb',
        reserved: 'ev.res_before',
        safety: 'ev.safety_stock',
        incoming: 'ev.incoming',
        status: 'ev.status_before',
        sellable: 'ev.sellable_before',
      },
      after: {
        onHand: 'ev.oha',
        reserved: 'ev.res0',
        safety: 'ev.safety_stock',
        incoming: 'ev.incoming',
        status: 'ev.status_after',
        sellable: 'ev.sellable_after',
      },
    })}
   WHERE t.payload IS NOT NULL
   ORDER BY ev.pos, t.ord
  RETURNING id
)
SELECT ev.pos, ev.id, ev.store_id, ev.variant_id, ev.warehouse_id, ev.failure,
       ev.ohb AS b_on_hand, ev.res0 AS b_reserved, ev.safety_stock AS b_safety,
       ev.oha AS a_on_hand, ev.res0 AS a_reserved, ev.safety_stock AS a_safety, ev.incoming AS a_incoming,
       ev.low AS a_low, ev.critical AS a_critical, b.own_policy AS a_policy, b.lim AS a_limit, b.allow,
       ev.a_version AS version, CASE WHEN ev.touched THEN now() ELSE ev.updated_at END AS updated_at,
       CASE WHEN ev.changed THEN ev.mid END AS movement_id, ev.exp_q AS expired_q,
       (SELECT count(*) FROM upd) AS updated
  FROM ev JOIN base b ON b.id = ev.id
 ORDER BY ev.pos`,
);
