/**
 * THE stock writer's SQL: the only statements that change inventory_levels counters (with
 * bulk-statement.ts and adjust-batch-statement.ts, the only files of src/ with an UPDATE of
 * inventory_levels; test/e2e/hot-updates.test.ts checks it).
 *
 * CHANGE_SQL — one level change in ONE statement (CTEs):
 *   lock the level row → expire its due reservation lines (lazy expiry) → compute the new counters
 *   → conditional UPDATE → ledger rows (EXPIRY + the change) → outbox events (INVENTORY_UPDATED and,
 *   on an actual status crossing, STOCK_STATUS_CHANGED).
 * No statement here NOTIFYs: a transaction that NOTIFYs takes PostgreSQL's one notify-queue lock
 * at commit and holds it through its WAL flush, so every notifying commit of the whole server waits
 * for the previous one's fsync (no group commit: ~580 commits/s here against ~2,600 without, pgbench,
 * 16 clients). The committing process wakes its own event hub instead (TxRunner.afterCommit, or the
 * caller of an autocommit statement), and a process without a hub notifies after its commit
 * (src/events/wake.ts).
 * A change that breaks a rule is not applied (and writes nothing but the expiry of due lines); the
 * statement returns the reason and the current counters so the caller can report a precise error.
 *
 * RESERVE_BATCH_SQL — the same arithmetic for many one-line reservations at once (group commit),
 * which also inserts each granted reservation and its line.
 * Locks are always taken level first, then its reservation lines.
 */
import { preparedStatement } from '../../db/client';
import { ADJUST_BATCH_SQL } from './adjust-batch-statement';
import { BULK_SQL } from './bulk-statement';
import { columns, LINE_FIELDS, RES_FIELDS } from './reservation-rows';
import { INCOMING_OF } from './incoming-sql';
import { allowanceSql } from './policy';
import { CLAIM_SQL, dueLines, LEVEL_WRITES, levelEvents, setList } from './sql-parts';

/** The writer's statement. Parameters $1–$24. */
export const CHANGE_SQL = preparedStatement(
  'stock_writer',
  `
WITH lk AS (
  SELECT l.*, v.inventory_policy::text AS v_policy, v.backorder_limit AS v_limit, ${allowanceSql('l', 'v')} AS allow0
    FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
   WHERE l.id = $1::uuid AND l.store_id = $2::uuid FOR UPDATE OF l
),
due AS (
  UPDATE reservation_lines rl SET status = 'EXPIRED', expired_quantity = rl.quantity
   WHERE ${dueLines('rl', '$2::uuid', '= (SELECT id FROM lk)')}
  RETURNING rl.expired_quantity, rl.reservation_id
),
exp AS (SELECT coalesce(sum(expired_quantity), 0)::int8 AS q, count(*)::int AS n FROM due),
-- One EXPIRY movement per expired reservation (its lines on this level summed), naming it; the
-- running total gives each its reserved before/after.
exp_r AS (
  SELECT reservation_id, q, n, sum(q) OVER (ORDER BY reservation_id) AS cum
    FROM (SELECT reservation_id, sum(expired_quantity)::int8 AS q, count(*)::int AS n FROM due GROUP BY reservation_id) g
),
calc AS (
  SELECT lk.*, exp.q AS expired_q, exp.n AS expired_n,
         lk.reserved - exp.q AS res0,
         CASE WHEN $3 = 'set' THEN $4::int8 WHEN $3 = 'delta' THEN lk.on_hand + $4::int8 ELSE lk.on_hand::int8 END AS new_on_hand,
         lk.reserved - exp.q + CASE WHEN $3 = 'touch' THEN 0 ELSE $5::int8 END AS new_reserved,
         coalesce($13::int8, lk.safety_stock) AS new_safety,
         -- incoming is derived: recomputed from the lines by THE definition when they changed ($14).
         CASE WHEN $14::bool THEN ${INCOMING_OF('lk.store_id', 'lk.id')} ELSE lk.incoming::int8 END AS new_incoming,
         coalesce($15::int8, lk.low_stock_threshold) AS new_low,
         coalesce($16::int8, lk.critical_threshold) AS new_critical,
         CASE WHEN $17::text IS NULL THEN lk.inventory_policy::text WHEN $17::text <> 'INHERIT' THEN $17::text END AS new_policy,
         CASE WHEN $17::text IS NULL THEN lk.backorder_limit::int8 WHEN $17::text <> 'INHERIT' THEN $18::int8 END AS new_limit
    FROM lk, exp
),
-- The guard's allowance: how far below zero available may go under the settings after the change
-- ($19 false: none, whatever the policy, e.g. for the source of a move: only units on hand move).
pol0 AS (
  SELECT calc.*, inventory_backorder_allowance(coalesce(calc.new_policy, calc.v_policy),
           CASE WHEN calc.new_policy IS NULL THEN calc.v_limit ELSE calc.new_limit END, calc.new_incoming) AS pallow
    FROM calc
),
-- Uncovered units: sold or held beyond the allowance of the level's policy, before and after the
-- change (reserved − onHand − allowance, floored at 0; 0 whenever the guards held).
pol AS (
  SELECT pol0.*, CASE WHEN $19::bool THEN coalesce(pol0.new_policy, pol0.v_policy) ELSE 'DENY' END AS eff_policy,
         CASE WHEN $19::bool THEN pol0.pallow ELSE 0 END AS allow,
         greatest(pol0.res0 - pol0.on_hand - pol0.allow0, 0) AS unc_before,
         greatest(pol0.new_reserved - pol0.new_on_hand - pol0.pallow, 0) AS unc_after
    FROM pol0
),
-- The guards (DENY: allow = 0, exactly the rules before backorders). onHand − reserved may not go below
-- −allow by a change that lowers it (a change that does not lower it, e.g. a COMMIT or a receipt, is
-- never refused for it); with requireAvailable, available may not go below −allow. A change that
-- lowers incoming may not leave more units uncovered than before (preorders sold against the
-- incoming it withdraws) unless $24 (allowUncoveredPreorders): PREORDERS_UNCOVERED. The level row
-- is locked, so no reservation can slip in between this check and the write.
chk AS (
  SELECT pol.*, CASE
      WHEN $3 = 'touch' THEN NULL
      WHEN $7::int8 IS NOT NULL AND pol.on_hand <> $7::int8 THEN 'STALE'
      WHEN greatest(pol.new_on_hand, pol.new_reserved, pol.new_safety, pol.new_incoming, pol.new_low, pol.new_critical) > 2147483647
        OR least(pol.new_safety, pol.new_incoming, pol.new_low, pol.new_critical) < 0 OR pol.new_on_hand < -2147483647 THEN 'OUT_OF_RANGE'
      WHEN pol.new_reserved < 0 THEN 'RESERVED_NEGATIVE'
      WHEN pol.new_on_hand - pol.new_reserved < -pol.allow AND pol.new_on_hand - pol.new_reserved < pol.on_hand - pol.res0 THEN
        CASE WHEN $3 = 'set' THEN 'BELOW_RESERVED' WHEN pol.eff_policy = 'DENY' THEN 'INSUFFICIENT' ELSE 'BACKORDER_LIMIT' END
      WHEN $6::bool AND pol.new_on_hand - pol.new_reserved - pol.new_safety < -pol.allow THEN
        CASE WHEN pol.eff_policy = 'DENY' THEN 'INSUFFICIENT' ELSE 'BACKORDER_LIMIT' END
      WHEN pol.new_incoming < pol.incoming AND pol.unc_after > pol.unc_before AND NOT $24::bool THEN 'PREORDERS_UNCOVERED'
      ELSE NULL END AS failure
    FROM pol
),
fin AS (
  SELECT chk.*,
         CASE WHEN failure IS NULL THEN new_on_hand ELSE on_hand END::int AS a_on_hand,
         CASE WHEN failure IS NULL THEN new_reserved ELSE res0 END::int AS a_reserved,
         CASE WHEN failure IS NULL THEN new_safety ELSE safety_stock END::int AS a_safety,
         CASE WHEN failure IS NULL THEN new_incoming ELSE incoming END::int AS a_incoming,
         CASE WHEN failure IS NULL THEN new_low ELSE low_stock_threshold END::int AS a_low,
         CASE WHEN failure IS NULL THEN new_critical ELSE critical_threshold END::int AS a_critical,
         CASE WHEN failure IS NULL THEN new_policy ELSE inventory_policy::text END AS a_policy,
         CASE WHEN failure IS NULL THEN new_limit ELSE backorder_limit END::int AS a_limit,
         CASE WHEN failure IS NULL THEN pallow ELSE allow0 END AS a_allow,
         -- Recorded on the movement when this change took units beyond the allowance (accepted).
         CASE WHEN failure IS NULL AND unc_after > unc_before THEN unc_after END::int AS a_uncovered,
         (failure IS NULL AND (new_on_hand <> on_hand OR new_reserved <> res0 OR new_safety <> safety_stock
            OR new_incoming <> incoming OR new_low <> low_stock_threshold OR new_critical <> critical_threshold
            OR new_policy IS DISTINCT FROM inventory_policy::text OR new_limit IS DISTINCT FROM backorder_limit)) AS changed
    FROM chk
),
upd AS (
  UPDATE inventory_levels l
     SET ${setList(LEVEL_WRITES.change)}
    FROM fin
   WHERE l.id = fin.id AND l.store_id = fin.store_id AND (fin.changed OR fin.expired_q > 0)
  RETURNING l.version, l.updated_at
),
mv_exp AS (
  INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
      on_hand_before, on_hand_after, reserved_before, reserved_after, note, actor, reservation_id,
      safety_stock_before, safety_stock_after, incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after)
  SELECT fin.store_id, fin.id, 'EXPIRY', 0, -e.q, fin.on_hand, fin.on_hand, fin.reserved - (e.cum - e.q), fin.reserved - e.cum,
         e.n || ' reservation line(s) expired', 'system:expiry', e.reservation_id,
         fin.safety_stock, fin.safety_stock, fin.incoming, fin.incoming, fin.low_stock_threshold, fin.low_stock_threshold,
         fin.critical_threshold, fin.critical_threshold
    FROM fin, exp_r e WHERE fin.expired_q > 0
   ORDER BY e.reservation_id
  RETURNING id
),
mv AS (
  -- Any change: counters or settings (safetyStock, incoming, thresholds), with before and after.
  INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
      on_hand_before, on_hand_after, reserved_before, reserved_after, note, actor, idempotency_key, reservation_id,
      safety_stock_before, safety_stock_after, incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after,
      inbound_shipment_id, transfer_id, uncovered_after)
  SELECT store_id, id, $8::"MovementReason", a_on_hand - on_hand, a_reserved - res0, on_hand, a_on_hand, res0, a_reserved,
         $9, $10, $11, $12::uuid,
         safety_stock, a_safety, incoming, a_incoming, low_stock_threshold, a_low, critical_threshold, a_critical,
         $20::uuid, $21::uuid, a_uncovered
    FROM fin, (SELECT count(*) FROM mv_exp) e
   WHERE fin.changed
  RETURNING id
),
st AS (
  SELECT fin.*,
    inventory_stock_status(greatest(on_hand - reserved - safety_stock, 0), low_stock_threshold, critical_threshold) AS status_before,
    inventory_stock_status(greatest(a_on_hand - a_reserved - a_safety, 0), a_low, a_critical) AS status_after,
    (on_hand - reserved - safety_stock > -allow0) AS sellable_before,
    (a_on_hand - a_reserved - a_safety > -a_allow) AS sellable_after,
    (SELECT id FROM mv) AS movement_id,
    (SELECT max(id) FROM mv_exp) AS expiry_movement_id
  FROM fin
),
ob AS (
  INSERT INTO outbox_events (store_id, topic, level_id, payload)
  SELECT st.store_id, t.topic, st.id, t.payload
    FROM st, ${levelEvents({
      updated: 'st.changed OR st.expired_q > 0',
      level: 'st.id',
      variant: 'st.variant_id',
      warehouse: 'st.warehouse_id',
      reason: `CASE WHEN st.changed THEN $8 ELSE 'EXPIRY' END`,
      movementId: 'coalesce(st.movement_id, st.expiry_movement_id)',
      expiredQuantity: 'st.expired_q',
      actor: `CASE WHEN st.changed THEN $10 ELSE 'system:expiry' END`,
      uncovered: 'CASE WHEN st.changed THEN st.a_uncovered END',
      before: {
        onHand: 'st.on_hand',
        reserved: 'st.reserved',
        safety: 'st.safety_stock',
        incoming: 'st.incoming',
        status: 'st.status_before',
        sellable: 'st.sellable_before',
      },
      after: {
        onHand: 'st.a_on_hand',
        reserved: 'st.a_reserved',
        safety: 'st.a_safety',
        incoming: 'st.a_incoming',
        status: 'st.status_after',
        sellable: 'st.sellable_after',
      },
      extra: { topic: '$22::text', payload: '$23::jsonb', when: 'st.changed' },
    })}
   WHERE t.payload IS NOT NULL
  RETURNING id
)
SELECT st.id, st.store_id, st.variant_id, st.warehouse_id, st.failure,
       st.on_hand AS b_on_hand, st.res0 AS b_reserved, st.safety_stock AS b_safety,
       st.a_on_hand, st.a_reserved, st.a_safety, st.a_incoming, st.a_low, st.a_critical, st.a_policy, st.a_limit,
       st.allow,
       coalesce((SELECT version FROM upd), st.version) AS version,
       coalesce((SELECT updated_at FROM upd), st.updated_at) AS updated_at,
       st.movement_id, st.expired_q, st.unc_before, st.unc_after, st.new_incoming AS want_incoming
  FROM st`,
);

/**
 * The writer's batched reservation statement (group commit): many one-line reservations, each a
 * `reserved += qty` change (reason RESERVATION, available must stay ≥ −allowance of the level's
 * backorder policy, 0 under DENY; lazy expiry not needed),
 * in ONE statement. $1–$11 are arrays with one element per request (see reserveLines()):
 *  - `claim`: a request with an idempotency key ($11) takes part only if its key is free: the
 *    first request of the batch with that key, no unexpired row of it in idempotency_keys, and the
 *    key's claim (the transaction-scoped advisory lock runStockOperation() takes, non-blocking)
 *    granted. The statement then runs inside the caller's transaction, which records the key's
 *    response before it commits (reserveLines(); the INSERT there also refuses, and so rolls back,
 *    a key whose row was committed after this statement's snapshot was taken);
 *  - `req`: a request targets the only active, writable level of its variant (id or sku) in its
 *    warehouse (id or code, when given); `idx` is its position, `level_id` NULL when there is none
 *    (or when its key is not free);
 *  - the targeted levels that have no due reservation lines are locked, in ascending id order;
 *  - per level, requests are granted in `idx` order while the running total fits in available
 *    (so the granted ones are a prefix; the rest are refused and write nothing);
 *  - each level's counters change once (reserved += the granted total, version + 1). The UPDATE is
 *    NOT guarded by `l.version = <version locked>`: its quals are first evaluated on the row version
 *    of the statement's snapshot, so a level another transaction changed after that snapshot (and
 *    before the lock) never matched and all its requests left the batch: 55 % of the reservations
 *    in the sustained mixed run (bench/SUSTAINED.md, batch outcomes), where adjustments of the
 *    same hot SKU commit between batches. FOR UPDATE in READ COMMITTED returns the latest row
 *    version (the one locked) and the UPDATE changes that version (EvalPlanQual); the final SELECT
 *    checks that the row written has exactly the counters the grants were computed from plus the
 *    granted total, and fails the whole statement otherwise (22P02: nothing is written and the
 *    batch takes the general path), as does a constraint the change would break (23514). The
 *    ledger rows therefore always match the counters (ADJUST_BATCH_SQL does the same);
 *  - each granted request gets its own ledger row (reserved_before/after from the running total),
 *    its INVENTORY_UPDATED event and, on a status crossing, STOCK_STATUS_CHANGED, exactly as one
 *    change of the single statement would, in the same order;
 *  - each granted request's reservation and its one line are inserted.
 * The result has one row per request, in idx order: idx, granted, movement_id and the inserted
 * reservation and line (columns of RES_FIELDS prefixed r_, of LINE_FIELDS prefixed l_).
 * A refused or untargeted request is left for the caller's general path, which reports exactly.
 */
export const RESERVE_BATCH_SQL = preparedStatement(
  'reserve_batch',
  `
WITH inp AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::int[], $7::uuid[], $8::int[], $9::text[], $10::text[], $11::text[])
    WITH ORDINALITY AS a(store_id, variant_id, sku, warehouse_id, warehouse_code, qty, reservation_id, ttl, note, actor, key, idx)
),
${CLAIM_SQL},
req AS (
  SELECT inp.idx, inp.store_id, t.level_id, inp.qty, inp.reservation_id, inp.note, inp.actor, inp.ttl, inp.key
    FROM inp LEFT JOIN LATERAL (
      SELECT (array_agg(l.id))[1] AS level_id
        FROM inventory_levels l
        JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
        JOIN warehouses w ON w.id = l.warehouse_id AND w.store_id = l.store_id
       WHERE l.store_id = inp.store_id
         AND (v.id = inp.variant_id OR v.sku = inp.sku)
         AND (inp.warehouse_id IS NULL OR w.id = inp.warehouse_id) AND (inp.warehouse_code IS NULL OR w.code = inp.warehouse_code)
         AND w.active AND NOT w.read_only
      HAVING count(*) = 1
    ) t ON inp.key IS NULL OR inp.idx IN (SELECT idx FROM claim)
),
lk AS (
  SELECT l.*, ${allowanceSql('l', 'v')} AS allow
    FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
   WHERE (l.store_id, l.id) IN (SELECT store_id, level_id FROM req WHERE level_id IS NOT NULL)
     -- dueLines('d', 'l.store_id', '= l.id'), written out so the store-join check (test/unit/store-joins.test.ts) reads it
     AND NOT EXISTS (SELECT 1 FROM reservation_lines d
                      WHERE d.store_id = l.store_id AND d.inventory_level_id = l.id AND d.status = 'ACTIVE' AND d.expires_at <= now())
   ORDER BY l.id
     FOR UPDATE OF l
),
run AS (
  SELECT q.*, lk.variant_id, lk.warehouse_id, lk.on_hand, lk.reserved, lk.safety_stock, lk.incoming,
         lk.low_stock_threshold AS low, lk.critical_threshold AS critical, lk.version AS lk_version, lk.allow,
         (lk.reserved + sum(q.qty) OVER (PARTITION BY lk.id ORDER BY q.idx))::int8 AS res_after
    FROM req q JOIN lk ON lk.id = q.level_id AND lk.store_id = q.store_id
   WHERE q.qty > 0
),
ok AS (
  SELECT run.*, run.res_after - run.qty AS res_before,
         inventory_stock_status(greatest(run.on_hand - (run.res_after - run.qty) - run.safety_stock, 0)::int, run.low, run.critical) AS status_before,
         inventory_stock_status(greatest(run.on_hand - run.res_after - run.safety_stock, 0)::int, run.low, run.critical) AS status_after,
         (run.on_hand - (run.res_after - run.qty) - run.safety_stock > -run.allow) AS sellable_before,
         (run.on_hand - run.res_after - run.safety_stock > -run.allow) AS sellable_after
    FROM run WHERE run.on_hand - run.res_after - run.safety_stock >= -run.allow
),
grp AS MATERIALIZED (
  SELECT store_id, level_id, sum(qty)::int AS q, min(lk_version) AS v, min(reserved) AS r0 FROM ok GROUP BY store_id, level_id
),
upd AS (
  UPDATE inventory_levels l SET ${setList(LEVEL_WRITES.batch)}
    FROM grp g
   WHERE l.id = g.level_id AND l.store_id = g.store_id
  RETURNING l.id, l.reserved, l.version
),
won AS (SELECT ok.* FROM ok JOIN upd ON upd.id = ok.level_id),
mv AS (
  INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
      on_hand_before, on_hand_after, reserved_before, reserved_after, note, actor, idempotency_key, reservation_id,
      safety_stock_before, safety_stock_after, incoming_before, incoming_after, low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after)
  SELECT store_id, level_id, 'RESERVATION', 0, qty, on_hand, on_hand, res_before, res_after, note, actor, key, reservation_id,
         safety_stock, safety_stock, incoming, incoming, low, low, critical, critical
    FROM won ORDER BY level_id, idx
  RETURNING id, reservation_id
),
ob AS (
  INSERT INTO outbox_events (store_id, topic, level_id, payload)
  SELECT e.store_id, t.topic, e.level_id, t.payload
    FROM (SELECT won.*, mv.id AS movement_id FROM won JOIN mv ON mv.reservation_id = won.reservation_id) e,
    ${levelEvents({
      updated: 'true',
      level: 'e.level_id',
      variant: 'e.variant_id',
      warehouse: 'e.warehouse_id',
      reason: `'RESERVATION'`,
      movementId: 'e.movement_id',
      expiredQuantity: '0',
      actor: 'e.actor',
      before: {
        onHand: 'e.on_hand',
        reserved: 'e.res_before',
        safety: 'e.safety_stock',
        incoming: 'e.incoming',
        status: 'e.status_before',
        sellable: 'e.sellable_before',
      },
      after: {
        onHand: 'e.on_hand',
        reserved: 'e.res_after',
        safety: 'e.safety_stock',
        incoming: 'e.incoming',
        status: 'e.status_after',
        sellable: 'e.sellable_after',
      },
    })}
   WHERE t.payload IS NOT NULL
   ORDER BY e.level_id, e.idx, t.ord
  RETURNING id
),
r AS (
  INSERT INTO reservations (id, store_id, status, reference, expires_at, idempotency_key, actor)
  SELECT won.reservation_id, won.store_id, 'ACTIVE', won.note, now() + make_interval(secs => won.ttl), won.key, won.actor FROM won
  RETURNING *
),
rl AS (
  INSERT INTO reservation_lines (store_id, reservation_id, inventory_level_id, quantity, original_quantity, expires_at, position)
  SELECT r.store_id, r.id, won.level_id, won.qty, won.qty, r.expires_at, 0 FROM r JOIN won ON won.reservation_id = r.id
  RETURNING *
)
SELECT q.idx, (ok.idx IS NOT NULL) AS granted, mv.id AS movement_id,
       ${columns(RES_FIELDS, 'r_')}, ${columns(LINE_FIELDS, 'l_')},
       -- The rows locked are the rows changed (see above); were it ever not so, the statement fails here and writes nothing.
       (SELECT min(('reserve batch: level ' || u.id || ' moved on')::int) FROM upd u JOIN grp g ON g.level_id = u.id
         WHERE u.reserved <> g.r0 + g.q OR u.version <> g.v + 1) AS moved_on
  FROM req q LEFT JOIN won ok ON ok.idx = q.idx LEFT JOIN mv ON mv.reservation_id = ok.reservation_id LEFT JOIN r ON r.id = q.reservation_id LEFT JOIN rl ON rl.reservation_id = q.reservation_id
 ORDER BY q.idx`,
);

/** The writer's statement texts (for tests that read what they write). */
export const WRITER_STATEMENTS: readonly string[] = [CHANGE_SQL, RESERVE_BATCH_SQL, BULK_SQL, ADJUST_BATCH_SQL];
