/**
 * The SQL parts the writer statements share: the outbox events of a level change, the claim of an
 * idempotency key in a group-committed statement, and the one list of the inventory_levels columns
 * a stock change writes (the SET lists are built from it).
 */

/**
 * The `claim` CTE of the group-committed statements (RESERVE_BATCH_SQL, ADJUST_BATCH_SQL), over
 * their `inp` (columns store_id, key, idx): the positions of the requests with an idempotency key
 * that may take part, the first request of the batch with its key, when no unexpired row of the
 * key is in idempotency_keys and the key's claim (the transaction-scoped advisory lock
 * runStockOperation() takes, here non-blocking) is granted. A keyed batch runs in a transaction
 * that records the served keys' responses before it commits (recordResponses(): its INSERT also
 * refuses, and so rolls back, a key whose row was committed after the statement's snapshot).
 */
export const CLAIM_SQL = `claim AS MATERIALIZED (
  SELECT k.idx
    FROM (SELECT inp.*, row_number() OVER (PARTITION BY inp.store_id, inp.key ORDER BY inp.idx) AS n FROM inp WHERE inp.key IS NOT NULL) k
   WHERE k.n = 1
     AND NOT EXISTS (SELECT 1 FROM idempotency_keys ik WHERE ik.store_id = k.store_id AND ik.key = k.key AND ik.expires_at > now())
     AND pg_try_advisory_xact_lock(hashtextextended(k.store_id::text || ':' || k.key, 7))
)`;

/**
 * SQL condition: `rl` is a due reservation line (active, expired by the clock, not yet swept) of
 * the level(s) `level` (`= <expr>` or `IN (…)`) in store `store`. Every stock change checks its
 * levels with it, so it must read only the due lines whatever the statistics: its four columns are
 * exactly the index reservation_lines_level_due_idx (store_id, inventory_level_id, status,
 * expires_at), and no other index of the table starts with (store_id, inventory_level_id)
 * (test/e2e/due-lines-plan.test.ts reads the catalog and the plans).
 */
export const dueLines = (rl: string, store: string, level: string) =>
  `${rl}.store_id = ${store} AND ${rl}.inventory_level_id ${level} AND ${rl}.status = 'ACTIVE' AND ${rl}.expires_at <= now()`;

/** SQL expressions of one level's counters, for levelEvents(). */
export interface CountersSql {
  onHand: string;
  reserved: string;
  safety: string;
  incoming: string;
  status: string;
  /** Whether one more unit can be sold (available above −allowance of the backorder policy). */
  sellable: string;
}

/**
 * The outbox events of one level change, as `LATERAL (VALUES …) AS t(ord, topic, payload)` (a NULL
 * payload means no event): INVENTORY_UPDATED when `updated` holds, and STOCK_STATUS_CHANGED on a
 * status crossing. One definition of the event payloads for every writer statement.
 */
export function levelEvents(e: {
  updated: string;
  level: string;
  variant: string;
  warehouse: string;
  reason: string;
  movementId: string;
  expiredQuantity: string;
  actor: string;
  /**
   * Units beyond the allowance after the change, when this change took them there (the movement's
   * `uncovered_after`, the payload's `uncoveredAfter`; NULL otherwise: no key in the payload). Only the one-change statement can.
   */
  uncovered?: string;
  before: CountersSql;
  after: CountersSql;
  /**
   * A third event of the change (INBOUND_RECEIVED, TRANSFER_SHIPPED, TRANSFER_RECEIVED): its topic
   * and the caller's payload, completed with the level's ids and the movement id, when `when` holds
   * and the topic is not NULL.
   */
  extra?: { topic: string; payload: string; when: string };
}): string {
  const counters = (c: CountersSql) =>
    `jsonb_build_object('onHand', ${c.onHand}, 'reserved', ${c.reserved}, 'safetyStock', ${c.safety}, 'incoming', ${c.incoming},
                      'available', greatest(${c.onHand} - ${c.reserved} - ${c.safety}, 0), 'status', ${c.status},
                      'backordered', greatest(${c.reserved} + ${c.safety} - ${c.onHand}, 0), 'sellable', ${c.sellable})`;
  const ids = `'levelId', ${e.level}, 'variantId', ${e.variant}, 'warehouseId', ${e.warehouse}`;
  return `LATERAL (VALUES
      (1, 'INVENTORY_UPDATED', CASE WHEN ${e.updated} THEN jsonb_build_object(
          ${ids},
          'reason', ${e.reason}, 'movementId', ${e.movementId}, 'expiredQuantity', ${e.expiredQuantity}, 'actor', ${e.actor},
          'before', ${counters(e.before)},
          'after', ${counters(e.after)})${
            // The key only when set: events of the other statements (and of changes without it) stay as they were.
            e.uncovered
              ? ` || CASE WHEN (${e.uncovered}) IS NOT NULL THEN jsonb_build_object('uncoveredAfter', ${e.uncovered}) ELSE '{}'::jsonb END`
              : ''
          } END),
      (2, 'STOCK_STATUS_CHANGED', CASE WHEN ${e.before.status} <> ${e.after.status} OR ${e.before.sellable} <> ${e.after.sellable} THEN jsonb_build_object(
          ${ids},
          'previousStatus', ${e.before.status}, 'status', ${e.after.status},
          'backInStock', ${e.before.status} = 'OUT_OF_STOCK' AND ${e.after.status} <> 'OUT_OF_STOCK', 'movementId', ${e.movementId},
          'available', greatest(${e.after.onHand} - ${e.after.reserved} - ${e.after.safety}, 0),
          'previousSellable', ${e.before.sellable}, 'sellable', ${e.after.sellable},
          'backordered', greatest(${e.after.reserved} + ${e.after.safety} - ${e.after.onHand}, 0)) END)${
            e.extra
              ? `,
      (3, ${e.extra.topic}, CASE WHEN ${e.extra.when} AND ${e.extra.topic} IS NOT NULL THEN ${e.extra.payload} || jsonb_build_object(
          ${ids}, 'movementId', ${e.movementId}, 'actor', ${e.actor},
          'incomingBefore', ${e.before.incoming}, 'incomingAfter', ${e.after.incoming},
          'onHandBefore', ${e.before.onHand}, 'onHandAfter', ${e.after.onHand}) END)`
              : ''
          }
    ) AS t(ord, topic, payload)`;
}

/**
 * Every column of inventory_levels a stock change writes, with its new value, per writer statement:
 * the one place they are listed. Every writer UPDATE builds its SET list from here (setList), and
 * test/e2e/hot-updates.test.ts reads the catalog and fails if an index on inventory_levels covers
 * one of LEVEL_WRITTEN_COLUMNS: an indexed column that changes makes every stock change a non-HOT
 * update (a new entry in every index and a dead row version only VACUUM removes; docs/HOT-UPDATES.md).
 */
export const LEVEL_WRITES = {
  /** CHANGE_SQL (applyLevelChange()): from the `fin` CTE, on the locked row `l`. */
  change: {
    on_hand: 'fin.a_on_hand',
    reserved: 'fin.a_reserved',
    safety_stock: 'fin.a_safety',
    incoming: 'fin.a_incoming',
    low_stock_threshold: 'fin.a_low',
    critical_threshold: 'fin.a_critical',
    inventory_policy: 'fin.a_policy::"InventoryPolicy"',
    backorder_limit: 'fin.a_limit',
    version: 'l.version + 1',
    updated_at: 'now()',
  },
  /** RESERVE_BATCH_SQL (reserveLines()): the granted total `g.q` per level. */
  batch: { reserved: 'l.reserved + g.q', version: 'l.version + 1', updated_at: 'now()' },
  /** BULK_SQL (applyBulkChanges()): each level's final counters `fin`, once per bulk. */
  bulk: { on_hand: 'fin.a_on_hand', reserved: 'fin.res0', version: 'fin.a_version', updated_at: 'now()' },
  /**
   * ADJUST_BATCH_SQL (adjustLevels()): each level's final onHand `fin`, once per batch; a level whose
   * requests were all refused keeps its values (version and updated_at included).
   */
  adjust: {
    on_hand: 'l.on_hand + (fin.a_on_hand - fin.on_hand)',
    version: 'l.version + fin.applied',
    updated_at: 'CASE WHEN fin.applied > 0 THEN now() ELSE l.updated_at END',
  },
} as const;

/** The columns of inventory_levels that a stock change sets (no index may cover them). */
export const LEVEL_WRITTEN_COLUMNS: readonly string[] = [...new Set(Object.values(LEVEL_WRITES).flatMap((w) => Object.keys(w)))];

export const setList = (w: Record<string, string>) =>
  Object.entries(w)
    .map(([col, value]) => `${col} = ${value}`)
    .join(', ');
