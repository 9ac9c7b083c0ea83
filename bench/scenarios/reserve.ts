/**
 * Scenarios 1 and 2: `inventoryReserve` of 1 unit over HTTP, on one hot level or on levels drawn
 * uniformly from the spread set; baseline: the same conditional reserve (UPDATE … WHERE available
 * ≥ 1) plus its ledger row, as ONE statement sent straight through pg at the same concurrency.
 */
import type pg from 'pg';
import { keyRowCte } from '../lib/db';
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { httpLoad, pgLoad, statementsPerRequest } from '../lib/load';
import type { Row } from '../lib/report';

export const RESERVE_MUTATION = `mutation Reserve($input: InventoryReserveInput!) {
  inventoryReserve(input: $input) {
    reservation { id status expiresAt lines { id quantity } }
    userErrors { code field message }
  }
}`;

/**
 * The baseline statement: the hot path's essential work — a conditional increment of reserved
 * (refused when available would fall below 0) and its RESERVATION ledger row, atomically.
 */
export const BASELINE_RESERVE_SQL = `
WITH u AS (
  UPDATE inventory_levels
     SET reserved = reserved + 1, version = version + 1, updated_at = now()
   WHERE id = $1 AND store_id = $2 AND on_hand - reserved - safety_stock >= 1
  RETURNING id, store_id, on_hand, reserved
)
INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
                             on_hand_before, on_hand_after, reserved_before, reserved_after, actor)
SELECT store_id, id, 'RESERVATION', 0, 1, on_hand, on_hand, reserved - 1, reserved, 'bench:baseline' FROM u
RETURNING id`;

export const reserveBody = (sku: string, warehouseCode: string, idempotencyKey?: string) =>
  JSON.stringify({ query: RESERVE_MUTATION, variables: { input: { lines: [{ sku, warehouseCode, quantity: 1 }], idempotencyKey } } });

/**
 * The keyed baseline: the same conditional reserve and ledger row, made only when the request's
 * key row could be inserted (what an idempotent checkout needs at the least), in one statement.
 */
export const BASELINE_KEYED_RESERVE_SQL = `
WITH ${keyRowCte('$2', '$3')}, u AS (
  UPDATE inventory_levels
     SET reserved = reserved + 1, version = version + 1, updated_at = now()
   WHERE id = $1 AND store_id = $2 AND on_hand - reserved - safety_stock >= 1 AND EXISTS (SELECT 1 FROM k)
  RETURNING id, store_id, on_hand, reserved
)
INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
                             on_hand_before, on_hand_after, reserved_before, reserved_after, actor, idempotency_key)
SELECT store_id, id, 'RESERVATION', 0, 1, on_hand, on_hand, reserved - 1, reserved, 'bench:baseline', $3 FROM u
RETURNING id`;

const BASELINE_NAME =
  'one statement through `pg` (no BEGIN/COMMIT round trips): `WITH u AS (UPDATE inventory_levels SET reserved = reserved + 1 … WHERE id = $1 AND store_id = $2 AND on_hand - reserved - safety_stock >= 1 RETURNING …) INSERT INTO stock_movements … SELECT … FROM u`, one connection per concurrent client (see bench/scenarios/reserve.ts).';

const BASELINE_KEYED_NAME =
  'one statement through `pg`: the key row inserted (`ON CONFLICT DO NOTHING`), then the same conditional reserve and ledger row (with the key) only if it was (BASELINE_KEYED_RESERVE_SQL in bench/scenarios/reserve.ts).';

async function scenario(
  ctx: BenchContext,
  name: string,
  pick: () => { sku: string; levelId: string },
  constant: boolean,
  targetAt: number | null,
  keyed = false,
): Promise<Row[]> {
  const rows: Row[] = [];
  const { opts, data } = ctx;
  const store = data.storeId;
  // Keyed: every request a new checkout, with a key of its own (the gateway's and the baseline's
  // keys never meet: they differ in their prefix).
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  let n = 0;
  const nextKey = (side: string) => `bench-${side}-${run}-${n++}`;
  const hotBody = constant && !keyed ? reserveBody(pick().sku, data.warehouseCode) : null;
  const gatewayLoad = (connections: number, durationS: number) =>
    httpLoad({
      url: ctx.gateway.url,
      connections,
      durationS,
      headers: authHeaders(ctx),
      body: hotBody ?? bodyOf,
    });
  const baselineLoad = (concurrency: number, durationS: number) =>
    pgLoad({
      url: ctx.dbUrl,
      concurrency,
      durationS,
      op: async (c: pg.Client) =>
        keyed
          ? (await c.query(BASELINE_KEYED_RESERVE_SQL, [pick().levelId, store, nextKey('baseline')])).rowCount === 1
          : (await c.query(BASELINE_RESERVE_SQL, [pick().levelId, store])).rowCount === 1,
    });
  const bodyOf = () => hotBody ?? reserveBody(pick().sku, data.warehouseCode, keyed ? nextKey('gateway') : undefined);
  const statements = await withStatementCounts(ctx, (url) => statementsPerRequest(url, authHeaders(ctx), bodyOf));
  for (const c of opts.writeConcurrency) {
    if (!opts.quick || c === opts.writeConcurrency[0]) {
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
        c === targetAt ? { min: 0.5, label: `≥ 0.5× baseline at ${targetAt}` } : null,
      ),
    );
  }
  return rows;
}

export function hotSku(ctx: BenchContext): Promise<Row[]> {
  const hot = { sku: ctx.data.hot.sku, levelId: ctx.data.hot.levelId };
  return scenario(ctx, 'hot SKU reserve', () => hot, true, 16);
}

/**
 * Hot SKU reserve where every request carries an idempotency key of its own (a checkout, as
 * storefronts send it); baseline: BASELINE_KEYED_RESERVE_SQL. No target of issue 21: reported.
 */
export function hotKeyed(ctx: BenchContext): Promise<Row[]> {
  const hot = { sku: ctx.data.hot.sku, levelId: ctx.data.hot.levelId };
  return scenario(ctx, 'hot SKU reserve, keyed', () => hot, true, null, true);
}

export function spreadSkus(ctx: BenchContext): Promise<Row[]> {
  const levels = ctx.data.levels;
  return scenario(
    ctx,
    `spread reserve (${levels.length.toLocaleString('en-US')} levels)`,
    () => {
      const l = levels[Math.floor(Math.random() * levels.length)];
      return { sku: l.sku, levelId: l.id };
    },
    false,
    64,
  );
}
