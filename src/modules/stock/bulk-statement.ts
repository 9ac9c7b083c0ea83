/**
 * The writer's set-based bulk statement: many SET / ADJUST changes (inventoryBulkUpdate, the CSV
 * import) in ONE statement, with exactly the per-change semantics of CHANGE_SQL applied one change
 * after the other (test/e2e/bulk-equivalence.test.ts proves it on twin databases):
 *  - the levels are locked in ascending id order; their due reservation lines expire (lazy expiry,
 *    one EXPIRY movement per reservation, as CHANGE_SQL writes them at a level's first change);
 *  - the changes of one level apply in input order, each against the counters the previous one left
 *    (a recursive CTE: one step per change of a level; all levels advance together), each with its
 *    own guard (OUT_OF_RANGE, BELOW_RESERVED for SET, INSUFFICIENT; a negative ADJUST must keep
 *    available ≥ 0); a refused change writes nothing and the next one sees the counters unchanged;
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
import { LEVEL_WRITES, levelEvents, setList } from './sql-parts';

/** The guard of one step, from its counters before (cur), the candidate (nxt) and the level (b). */
const STEP_FAILURE = `CASE
      WHEN greatest(n.nxt, b.res0) > 2147483647 THEN 'OUT_OF_RANGE'
      WHEN b.res0 < 0 THEN 'RESERVED_NEGATIVE'
      WHEN s.mode = 'set' AND n.nxt < b.res0 THEN 'BELOW_RESERVED'
      WHEN n.nxt < 0 OR n.nxt < b.res0 THEN 'INSUFFICIENT'
      WHEN s.mode = 'delta' AND s.val < 0 AND n.nxt - b.res0 - b.safety_stock < 0 THEN 'INSUFFICIENT'
    END`;

const step = (cur: string) => `SELECT s.level_id, s.k, s.pos, s.mode, s.val, s.reason, s.note, c.cur, n.nxt, (${STEP_FAILURE})::text AS failure
      FROM seq s JOIN base b ON b.id = s.level_id,
           LATERAL (SELECT (${cur})::int8 AS cur) c,
           LATERAL (SELECT CASE WHEN s.mode = 'set' THEN s.val ELSE c.cur + s.val END AS nxt) n`;

const MOVEMENT_COLUMNS = `store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
      reserved_before, reserved_after, note, actor, idempotency_key, reservation_id, safety_stock_before, safety_stock_after,
      incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after`;

export const BULK_SQL = preparedStatement(
  'stock_bulk',
  `
WITH RECURSIVE
inp AS (
  SELECT * FROM unnest($2::uuid[], $3::text[], $4::int8[], $5::text[], $6::text[]) WITH ORDINALITY AS a(level_id, mode, val, reason, note, pos)
),
lk AS (
  SELECT l.* FROM inventory_levels l WHERE l.id IN (SELECT level_id FROM inp) AND l.store_id = $1::uuid ORDER BY l.id FOR UPDATE
),
due AS (
  UPDATE reservation_lines rl SET status = 'EXPIRED', expired_quantity = rl.quantity
   WHERE rl.inventory_level_id IN (SELECT id FROM lk) AND rl.status = 'ACTIVE' AND rl.expires_at <= now()
  RETURNING rl.inventory_level_id AS level_id, rl.expired_quantity, rl.reservation_id
),
exp_r AS (
  SELECT level_id, reservation_id, q, n, sum(q) OVER (PARTITION BY level_id ORDER BY reservation_id) AS cum
    FROM (SELECT level_id, reservation_id, sum(expired_quantity)::int8 AS q, count(*)::int AS n FROM due GROUP BY level_id, reservation_id) g
),
base AS (
  SELECT lk.*, coalesce(e.q, 0)::int8 AS expired_q, (lk.reserved - coalesce(e.q, 0))::int8 AS res0
    FROM lk LEFT JOIN (SELECT level_id, sum(q)::int8 AS q FROM exp_r GROUP BY level_id) e ON e.level_id = lk.id
),
seq AS (
  SELECT inp.*, row_number() OVER (PARTITION BY inp.level_id ORDER BY inp.pos) AS k FROM inp WHERE inp.level_id IN (SELECT id FROM base)
),
steps AS (
  ${step('b.on_hand')}
   WHERE s.k = 1
  UNION ALL
  SELECT x.* FROM steps p, LATERAL (${step('CASE WHEN p.failure IS NULL THEN p.nxt ELSE p.cur END')} WHERE s.level_id = p.level_id AND s.k = p.k + 1) x
),
st AS (
  SELECT z.*, b.version + sum(z.bump) OVER w AS a_version, sum(z.bump) OVER w > 0 AS touched,
         inventory_stock_status(greatest(z.cur - z.res_before - b.safety_stock, 0)::int, b.low_stock_threshold, b.critical_threshold) AS status_before,
         inventory_stock_status(greatest(z.after - b.res0 - b.safety_stock, 0)::int, b.low_stock_threshold, b.critical_threshold) AS status_after
    FROM (
      SELECT t.*, CASE WHEN t.failure IS NULL THEN t.nxt ELSE t.cur END AS after,
             (t.failure IS NULL AND t.nxt <> t.cur) AS changed,
             CASE WHEN t.k = 1 THEN b.expired_q ELSE 0 END AS exp_q,
             CASE WHEN t.k = 1 THEN b.reserved ELSE b.res0 END AS res_before,
             ((t.failure IS NULL AND t.nxt <> t.cur) OR (t.k = 1 AND b.expired_q > 0))::int AS bump
        FROM steps t JOIN base b ON b.id = t.level_id
    ) z JOIN base b ON b.id = z.level_id
  WINDOW w AS (PARTITION BY z.level_id ORDER BY z.k)
),
fin AS (
  SELECT DISTINCT ON (level_id) level_id, after::int AS a_on_hand, a_version, touched FROM st ORDER BY level_id, k DESC
),
upd AS (
  UPDATE inventory_levels l
     SET ${setList(LEVEL_WRITES.bulk)}
    FROM fin JOIN base b ON b.id = fin.level_id
   WHERE l.id = fin.level_id AND fin.touched
  RETURNING l.id
),
mvs AS (
  SELECT nextval(pg_get_serial_sequence('stock_movements', 'id')) AS mid, m.* FROM (
    SELECT u.* FROM (
      SELECT st.pos, 0 AS grp, e.reservation_id AS rsv, b.store_id, b.id AS level_id, 'EXPIRY'::text AS reason, 0::int8 AS qd, -e.q AS rd,
             b.on_hand::int8 AS ohb, b.on_hand::int8 AS oha, b.reserved - (e.cum - e.q) AS rb, b.reserved - e.cum AS ra,
             e.n || ' reservation line(s) expired' AS note, 'system:expiry'::text AS actor, NULL::text AS ikey, e.reservation_id AS res_id
        FROM st JOIN base b ON b.id = st.level_id JOIN exp_r e ON e.level_id = st.level_id WHERE st.k = 1
      UNION ALL
      SELECT st.pos, 1, NULL, b.store_id, b.id, st.reason, st.after - st.cur, 0, st.cur, st.after, b.res0, b.res0, st.note, $7::text, $8::text, NULL
        FROM st JOIN base b ON b.id = st.level_id WHERE st.changed
    ) u ORDER BY u.pos, u.grp, u.rsv
  ) m
),
mv AS (
  INSERT INTO stock_movements (id, ${MOVEMENT_COLUMNS})
  SELECT m.mid, m.store_id, m.level_id, m.reason::"MovementReason", m.qd, m.rd, m.ohb, m.oha, m.rb, m.ra, m.note, m.actor, m.ikey, m.res_id,
         b.safety_stock, b.safety_stock, b.incoming, b.incoming, b.low_stock_threshold, b.low_stock_threshold, b.critical_threshold, b.critical_threshold
    FROM mvs m JOIN base b ON b.id = m.level_id
   ORDER BY m.mid
  RETURNING id
),
ev AS (
  SELECT st.*, b.store_id, b.variant_id, b.warehouse_id, b.safety_stock, b.incoming, b.res0,
         (SELECT m.mid FROM mvs m WHERE m.grp = 1 AND m.pos = st.pos) AS movement_id,
         (SELECT max(m.mid) FROM mvs m WHERE m.grp = 0 AND m.pos = st.pos) AS expiry_movement_id
    FROM st JOIN base b ON b.id = st.level_id
),
ob AS (
  INSERT INTO outbox_events (store_id, topic, level_id, payload)
  SELECT ev.store_id, t.topic, ev.level_id, t.payload
    FROM ev, (SELECT count(*) FROM mv) w, ${levelEvents({
      updated: 'ev.changed OR ev.exp_q > 0',
      level: 'ev.level_id',
      variant: 'ev.variant_id',
      warehouse: 'ev.warehouse_id',
      reason: `CASE WHEN ev.changed THEN ev.reason ELSE 'EXPIRY' END`,
      movementId: 'coalesce(ev.movement_id, ev.expiry_movement_id)',
      expiredQuantity: 'ev.exp_q',
      actor: `CASE WHEN ev.changed THEN $7::text ELSE 'system:expiry' END`,
      before: { onHand: 'ev.cur', reserved: 'ev.res_before', safety: 'ev.safety_stock', incoming: 'ev.incoming', status: 'ev.status_before' },
      after: { onHand: 'ev.after', reserved: 'ev.res0', safety: 'ev.safety_stock', incoming: 'ev.incoming', status: 'ev.status_after' },
    })}
   WHERE t.payload IS NOT NULL
   ORDER BY ev.pos, t.ord
  RETURNING id
),
nt AS (SELECT pg_notify('inventory_outbox', '') AS n FROM (SELECT count(*) AS c FROM ob) o WHERE o.c > 0)
SELECT ev.pos, ev.level_id AS id, ev.store_id, ev.variant_id, ev.warehouse_id, ev.failure,
       ev.cur AS b_on_hand, ev.res0 AS b_reserved, b.safety_stock AS b_safety,
       ev.after AS a_on_hand, ev.res0 AS a_reserved, b.safety_stock AS a_safety, b.incoming AS a_incoming,
       b.low_stock_threshold AS a_low, b.critical_threshold AS a_critical,
       ev.a_version AS version, CASE WHEN ev.touched THEN now() ELSE b.updated_at END AS updated_at,
       ev.movement_id, ev.exp_q AS expired_q, (SELECT count(*) FROM upd) AS updated, (SELECT count(*) FROM nt) AS notified
  FROM ev JOIN base b ON b.id = ev.level_id
 ORDER BY ev.pos`,
);
