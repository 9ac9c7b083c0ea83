/** SQL checks of the stock invariants, run after concurrency tests. */
import type { App } from '../../src/app';
import { availableOf, stockStatus } from '../../src/modules/stock';
import { levelSummary, stockTotals } from '../../src/modules/inventory/level.reads';
import { allowanceSql, effectiveReserved, INCOMING_OF } from '../../src/modules/stock';

/**
 * SQL (parameter $1: the store): the levels out of bounds. reserved ≥ 0, and onHand − reserved ≥
 * −allowance (under DENY onHand ≥ reserved; a backorder policy lets it go down to −allowance) —
 * except by exactly what the ledger recorded: a level may be beyond its allowance by at most the
 * `uncovered_after` units of its latest movement that recorded some (a change accepted with
 * allowUncoveredPreorders, or a level policy tightened while backordered). Any other excess, or one
 * larger than recorded, is out of bounds. (Later changes can only lower the excess: the writer
 * refuses every change that raises it without recording it.)
 */
export const OUT_OF_BOUNDS_SQL = `SELECT l.id, l.on_hand, l.reserved, ${allowanceSql('l', 'v')} AS allowance, r.uncovered_after AS recorded
    FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
    LEFT JOIN LATERAL (SELECT m.uncovered_after FROM stock_movements m
                        WHERE m.store_id = l.store_id AND m.inventory_level_id = l.id AND m.uncovered_after IS NOT NULL
                        ORDER BY m.id DESC LIMIT 1) r ON true
   WHERE l.store_id = $1
     AND NOT (l.reserved >= 0 AND l.reserved - l.on_hand - ${allowanceSql('l', 'v')} <= coalesce(r.uncovered_after, 0))`;

export async function checkInvariants(app: App, storeId: string) {
  const q = (sql: string) => app.db.pool.query(sql, [storeId]).then((r) => r.rows);
  const ledger = await q(`SELECT l.id, l.on_hand, coalesce(sum(m.quantity_delta), 0)::int AS sum_moves
      FROM inventory_levels l LEFT JOIN stock_movements m ON m.store_id = l.store_id AND m.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.store_id, l.id HAVING l.on_hand <> coalesce(sum(m.quantity_delta), 0)`);
  const reservedLedger =
    await q(`SELECT l.id FROM inventory_levels l LEFT JOIN stock_movements m ON m.store_id = l.store_id AND m.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.store_id, l.id HAVING l.reserved <> coalesce(sum(m.reserved_delta), 0)`);
  // Under DENY onHand ≥ reserved ≥ 0; under a backorder policy onHand − reserved may go down to
  // −allowance; beyond it only by the uncovered units the ledger recorded (OUT_OF_BOUNDS_SQL).
  const bounds = await q(OUT_OF_BOUNDS_SQL);
  const reservedVsLines = await q(`SELECT l.id, l.reserved, coalesce(sum(rl.quantity) FILTER (WHERE rl.status = 'ACTIVE'), 0)::int AS active
      FROM inventory_levels l LEFT JOIN reservation_lines rl ON rl.store_id = l.store_id AND rl.inventory_level_id = l.id
     WHERE l.store_id = $1 GROUP BY l.store_id, l.id HAVING l.reserved <> coalesce(sum(rl.quantity) FILTER (WHERE rl.status = 'ACTIVE'), 0)`);
  const dupKeys = await q(`SELECT idempotency_key, inventory_level_id, reason, count(*) FROM stock_movements
     WHERE store_id = $1 AND idempotency_key IS NOT NULL AND reason IN ('SALE','CORRECTION','RECEIVED','CYCLE_COUNT','DAMAGED')
     GROUP BY 1, 2, 3 HAVING count(*) > 1`);
  return { ledger, reservedLedger, bounds, reservedVsLines, dupKeys };
}

/**
 * Issue 22: incoming is derived. Every level's stored incoming equals open inbound lines plus units
 * in transit to it (the stock core's one definition, INCOMING_OF, and an independent sum here), the
 * ledger's last incoming_after equals it, and every transfer line conserves its units.
 */
export async function incomingInvariants(app: App, storeId: string) {
  const q = (sql: string) => app.db.pool.query(sql, [storeId]).then((r) => r.rows);
  const incoming = await q(`SELECT l.id, l.incoming, ${INCOMING_OF('l.store_id', 'l.id')}::int AS derived,
        (coalesce((SELECT sum(greatest(il.quantity - il.received_quantity - il.cancelled_quantity, 0)) FROM inbound_lines il WHERE il.inventory_level_id = l.id), 0)
       + coalesce((SELECT sum(tl.quantity - tl.received_quantity - tl.lost_quantity) FROM transfer_lines tl WHERE tl.destination_level_id = l.id), 0))::int AS summed
      FROM inventory_levels l WHERE l.store_id = $1`);
  const incomingDrift = incoming.filter((r) => r.incoming !== r.derived || r.incoming !== r.summed);
  const ledgerIncoming = await q(`SELECT l.id, l.incoming, m.incoming_after FROM inventory_levels l
      JOIN LATERAL (SELECT incoming_after FROM stock_movements m WHERE m.inventory_level_id = l.id ORDER BY m.id DESC LIMIT 1) m ON true
     WHERE l.store_id = $1 AND m.incoming_after IS DISTINCT FROM l.incoming`);
  const transferConservation = await q(`SELECT id FROM transfer_lines WHERE store_id = $1
      AND NOT (received_quantity >= 0 AND lost_quantity >= 0 AND received_quantity + lost_quantity <= quantity)`);
  return { incomingDrift, ledgerIncoming, transferConservation };
}

/** Units in the store: onHand everywhere + in transit + written off in transit (constant across transfers). */
export async function unitsOnHandAndInTransit(app: App, storeId: string, variantIds?: string[]) {
  const { rows } = await app.db.pool.query(
    `SELECT (SELECT coalesce(sum(on_hand), 0) FROM inventory_levels WHERE store_id = $1 AND ($2::uuid[] IS NULL OR variant_id = ANY($2)))::int AS on_hand,
            (SELECT coalesce(sum(quantity - received_quantity - lost_quantity), 0) FROM transfer_lines WHERE store_id = $1 AND ($2::uuid[] IS NULL OR variant_id = ANY($2)))::int AS in_transit,
            (SELECT coalesce(sum(lost_quantity), 0) FROM transfer_lines WHERE store_id = $1 AND ($2::uuid[] IS NULL OR variant_id = ANY($2)))::int AS lost`,
    [storeId, variantIds ?? null],
  );
  return rows[0] as { on_hand: number; in_transit: number; lost: number };
}

/**
 * Every store's event stream has no gaps: every number between the store's lowest kept seq and the
 * highest is assigned exactly once (summed over the stores). `pending` counts committed events not
 * yet numbered.
 */
export async function outboxGaps(pool: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) {
  const { rows } = await pool.query(`SELECT coalesce(sum(hi - lo + 1 - d), 0)::int AS missing, coalesce(sum(n - d), 0)::int AS duplicated,
      (SELECT count(*)::int FROM outbox_events) AS pending
    FROM (SELECT store_id, count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM event_log GROUP BY store_id) s`);
  const r = rows[0] as { missing: number; duplicated: number; pending: number };
  return { missing: r.missing, duplicated: r.duplicated, pending: r.pending };
}

/**
 * The invariants that must hold at ANY moment, checked in one REPEATABLE READ snapshot (so they can
 * run while writes are in flight): every product's totals (the API's own stockTotals() SQL) equal
 * the sum of its levels; inventorySummary (levelSummary()) equals a count made here from the rows;
 * and each level's ledger is an unbroken chain from (0, 0, 0) to its current onHand, reserved and
 * safetyStock — every change of available (and of reserved) has its movement, with before = the
 * previous after. Returns the violations (all empty when sound).
 */
export async function snapshotInvariants(app: App, storeId: string) {
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tx = { query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params as unknown[])).rows as T[] };
    type L = {
      id: string;
      product_id: string;
      on_hand: number;
      reserved: number;
      stored_reserved: number;
      safety_stock: number;
      incoming: number;
      low: number;
      critical: number;
    };
    const levels = await tx.query<L>(
      `SELECT l.id, v.product_id, l.on_hand, ${effectiveReserved()} AS reserved, l.reserved AS stored_reserved, l.safety_stock, l.incoming,
              l.low_stock_threshold AS low, l.critical_threshold AS critical
         FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id WHERE l.store_id = $1`,
      [storeId],
    );
    // Product totals.
    const manual = new Map<string, { onHand: bigint; reserved: bigint; available: bigint; incoming: bigint }>();
    for (const l of levels) {
      const m = manual.get(l.product_id) ?? { onHand: 0n, reserved: 0n, available: 0n, incoming: 0n };
      m.onHand += BigInt(l.on_hand);
      m.reserved += BigInt(l.reserved);
      m.available += BigInt(availableOf(l.on_hand, l.reserved, l.safety_stock));
      m.incoming += BigInt(l.incoming);
      manual.set(l.product_id, m);
    }
    const api = await stockTotals(tx, storeId, 'product', [...manual.keys()]);
    const productTotals = api
      .filter((a) => JSON.stringify(a.totals, big) !== JSON.stringify(manual.get(a.key), big))
      .map((a) => ({ product: a.key, api: JSON.stringify(a.totals, big), manual: JSON.stringify(manual.get(a.key), big) }));
    // Summary.
    const counts = { total: levels.length, inStock: 0, lowStock: 0, critical: 0, outOfStock: 0 };
    const key = { IN_STOCK: 'inStock', LOW_STOCK: 'lowStock', CRITICAL: 'critical', OUT_OF_STOCK: 'outOfStock' } as const;
    for (const l of levels) counts[key[stockStatus(availableOf(l.on_hand, l.reserved, l.safety_stock), l.low, l.critical)]]++;
    const s = await levelSummary(tx, storeId, {});
    const summaryApi = { total: s.total, inStock: s.inStock, lowStock: s.lowStock, critical: s.critical, outOfStock: s.outOfStock };
    const sums = [...manual.values()].reduce((a, m) => ({ onHand: a.onHand + m.onHand, available: a.available + m.available }), {
      onHand: 0n,
      available: 0n,
    });
    const summary =
      JSON.stringify(summaryApi) === JSON.stringify(counts) && s.totals.onHand === sums.onHand && s.totals.available === sums.available
        ? []
        : [
            {
              api: { ...summaryApi, onHand: String(s.totals.onHand), available: String(s.totals.available) },
              manual: { ...counts, onHand: String(sums.onHand), available: String(sums.available) },
            },
          ];
    // Ledger chains.
    type M = { level: string; id: string; ohb: number; oha: number; rb: number; ra: number; sb: number | null; sa: number | null };
    const moves = await tx.query<M>(
      `SELECT m.inventory_level_id AS level, m.id::text AS id, on_hand_before AS ohb, on_hand_after AS oha, reserved_before AS rb, reserved_after AS ra,
              safety_stock_before AS sb, safety_stock_after AS sa
         FROM stock_movements m WHERE m.store_id = $1 ORDER BY m.inventory_level_id, m.id`,
      [storeId],
    );
    const byLevel = new Map<string, M[]>();
    for (const m of moves) byLevel.set(m.level, [...(byLevel.get(m.level) ?? []), m]);
    const ledgerChain: unknown[] = [];
    for (const l of levels) {
      let cur = { onHand: 0, reserved: 0, safety: 0 };
      for (const m of byLevel.get(l.id) ?? []) {
        if (m.ohb !== cur.onHand || m.rb !== cur.reserved || (m.sb ?? cur.safety) !== cur.safety) {
          ledgerChain.push({
            level: l.id,
            movement: m.id,
            expected: cur,
            got: { onHand: m.ohb, reserved: m.rb, safety: m.sb },
            chain: (byLevel.get(l.id) ?? []).map((x) => `${x.id}:${x.ohb}>${x.oha}`).join(' '),
          });
          break;
        }
        cur = { onHand: m.oha, reserved: m.ra, safety: m.sa ?? cur.safety };
      }
      if (cur.onHand !== l.on_hand || cur.reserved !== l.stored_reserved || cur.safety !== l.safety_stock) {
        ledgerChain.push({
          level: l.id,
          ledgerEndsAt: cur,
          level_is: { onHand: l.on_hand, reserved: l.stored_reserved, safety: l.safety_stock },
        });
      }
    }
    // Issue 22: incoming is derived; the writer's copy equals the definition in every snapshot.
    const incoming = await tx.query<{ id: string }>(
      `SELECT l.id, l.incoming, ${INCOMING_OF('l.store_id', 'l.id')} AS derived FROM inventory_levels l
        WHERE l.store_id = $1 AND l.incoming <> ${INCOMING_OF('l.store_id', 'l.id')}`,
      [storeId],
    );
    await client.query('COMMIT');
    return { productTotals, summary, ledgerChain, incoming, levels: levels.length, movements: moves.length };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
