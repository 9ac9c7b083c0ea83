/**
 * Scenario 5: `inventoryAdjust` (+1 onHand, reason RECEIVED) over HTTP on the hot SKU: every
 * request rewrites the same row, the worst case for heap-only (HOT) updates; and the same on levels
 * drawn uniformly from the spread set (issue 21's target: ≥ 0.5× at 16 clients). Baseline: the same
 * conditional UPDATE (the same columns the stock writer sets: on_hand, version, updated_at) plus
 * its ledger row, as ONE statement through pg at the same concurrency (1 and 16 clients).
 * With `--only keyed`: the spread adjustment with an idempotency key of its own per request (a
 * partner's sync), against BASELINE_KEYED_ADJUST_SQL.
 */
import type pg from 'pg';
import { keyRowCte } from '../lib/db';
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { httpLoad, pgLoad, statementsPerRequest } from '../lib/load';
import type { Row } from '../lib/report';

export const ADJUST_MUTATION = `mutation Adjust($input: InventoryAdjustInput!) {
  inventoryAdjust(input: $input) { inventoryLevel { id onHand available } userErrors { code field message } }
}`;

export const adjustBody = (sku: string, warehouseCode: string, delta = 1, idempotencyKey?: string) =>
  JSON.stringify({ query: ADJUST_MUTATION, variables: { input: { sku, warehouseCode, delta, reason: 'RECEIVED', idempotencyKey } } });

export const BASELINE_ADJUST_SQL = `
WITH u AS (
  UPDATE inventory_levels
     SET on_hand = on_hand + $3, version = version + 1, updated_at = now()
   WHERE id = $1 AND store_id = $2 AND on_hand + $3 >= reserved
  RETURNING id, store_id, on_hand, reserved
)
INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
                             on_hand_before, on_hand_after, reserved_before, reserved_after, actor)
SELECT store_id, id, 'RECEIVED', $3, 0, on_hand - $3, on_hand, reserved, reserved, 'bench:baseline' FROM u
RETURNING id`;

/**
 * The keyed baseline: the same conditional adjustment and ledger row, made only when the request's
 * key row could be inserted (what an idempotent adjustment needs at the least), in one statement.
 */
export const BASELINE_KEYED_ADJUST_SQL = `
WITH ${keyRowCte('$2', '$4')}, u AS (
  UPDATE inventory_levels
     SET on_hand = on_hand + $3, version = version + 1, updated_at = now()
   WHERE id = $1 AND store_id = $2 AND on_hand + $3 >= reserved AND EXISTS (SELECT 1 FROM k)
  RETURNING id, store_id, on_hand, reserved
)
INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
                             on_hand_before, on_hand_after, reserved_before, reserved_after, actor, idempotency_key)
SELECT store_id, id, 'RECEIVED', $3, 0, on_hand - $3, on_hand, reserved, reserved, 'bench:baseline', $4 FROM u
RETURNING id`;

const BASELINE_KEYED_NAME =
  'one statement through `pg`: the key row inserted (`ON CONFLICT DO NOTHING`), then the same conditional adjustment and ledger row (with the key) only if it was (BASELINE_KEYED_ADJUST_SQL in bench/scenarios/adjust.ts).';

const BASELINE_NAME =
  'one statement through `pg`: `WITH u AS (UPDATE inventory_levels SET on_hand = on_hand + 1, version = version + 1, updated_at = now() WHERE id = $1 AND store_id = $2 AND on_hand + 1 >= reserved RETURNING …) INSERT INTO stock_movements … SELECT … FROM u`, one connection per concurrent client (see bench/scenarios/adjust.ts).';

async function scenario(
  ctx: BenchContext,
  name: string,
  pick: () => { sku: string; levelId: string },
  constant: boolean,
  target: { at: number; min: number } | null,
  keyed = false,
): Promise<Row[]> {
  const rows: Row[] = [];
  const { opts, data } = ctx;
  // Keyed: a key of its own per request (the gateway's and the baseline's differ in their prefix).
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  let n = 0;
  const nextKey = (side: string) => `bench-adjust-${side}-${run}-${n++}`;
  const fixed = constant && !keyed ? adjustBody(pick().sku, data.warehouseCode) : null;
  const bodyOf = () => fixed ?? adjustBody(pick().sku, data.warehouseCode, 1, keyed ? nextKey('gateway') : undefined);
  const gatewayLoad = (connections: number, durationS: number) =>
    httpLoad({ url: ctx.gateway.url, connections, durationS, headers: authHeaders(ctx), body: fixed ?? bodyOf });
  const baselineLoad = (concurrency: number, durationS: number) =>
    pgLoad({
      url: ctx.dbUrl,
      concurrency,
      durationS,
      op: async (c: pg.Client) =>
        keyed
          ? (await c.query(BASELINE_KEYED_ADJUST_SQL, [pick().levelId, data.storeId, 1, nextKey('baseline')])).rowCount === 1
          : (await c.query(BASELINE_ADJUST_SQL, [pick().levelId, data.storeId, 1])).rowCount === 1,
    });
  const statements = await withStatementCounts(ctx, (url) => statementsPerRequest(url, authHeaders(ctx), bodyOf));
  // At most 16 clients: the baseline's 64 connections plus the gateway's pool can exceed a shared
  // server's max_connections (100 by default), and 16 is the concurrency the issues measured.
  const levels = opts.writeConcurrency.filter((c) => c <= 16);
  for (const c of levels) {
    if (!opts.quick || c === levels[0]) {
      ctx.log(`${name} @ ${c}: warm-up ${opts.warmupS} s`);
      await gatewayLoad(c, opts.warmupS);
      await baselineLoad(c, Math.min(1, opts.warmupS));
    }
    const m = await measurePair(
      ctx,
      `${name} @ ${c}`,
      () => gatewayLoad(c, opts.durationS),
      () => baselineLoad(c, opts.durationS),
      null,
    );
    m.gateway.statements = statements;
    m.baseline!.statements = 1;
    rows.push(
      row(
        name,
        c,
        'ops/s',
        m,
        keyed ? BASELINE_KEYED_NAME : BASELINE_NAME,
        target && c === target.at ? { min: target.min, label: `≥ ${target.min}× baseline at ${c}` } : null,
      ),
    );
  }
  return rows;
}

export function hotAdjust(ctx: BenchContext): Promise<Row[]> {
  const hot = { sku: ctx.data.hot.sku, levelId: ctx.data.hot.levelId };
  return scenario(ctx, 'hot SKU adjust', () => hot, true, null);
}

function spreadLevel(ctx: BenchContext): { sku: string; levelId: string } {
  const l = ctx.data.levels[Math.floor(Math.random() * ctx.data.levels.length)];
  return { sku: l.sku, levelId: l.id };
}

export function spreadAdjust(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.data.levels.length.toLocaleString('en-US');
  return scenario(ctx, `spread adjust (${n} levels)`, () => spreadLevel(ctx), false, { at: 16, min: 0.5 });
}

/** The spread adjustment with an idempotency key of its own per request. No target of issue 21: reported. */
export function spreadAdjustKeyed(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.data.levels.length.toLocaleString('en-US');
  return scenario(ctx, `spread adjust, keyed (${n} levels)`, () => spreadLevel(ctx), false, null, true);
}
