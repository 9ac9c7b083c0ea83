/**
 * Scenario 4: `inventoryBulkUpdate` of 500 ADJUST items on distinct random levels, one request at a
 * time: items/s. For context (no target), the same 500 conditional adjustments and ledger rows as
 * one set-based statement through pg.
 */
import type pg from 'pg';
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { graphqlOk, httpSequential, pgLoad, statementsPerRequest, type LoadResult } from '../lib/load';
import type { Row } from '../lib/report';
import { shuffle } from '../lib/util';

export const BULK_MUTATION = `mutation Bulk($input: InventoryBulkUpdateInput!) {
  inventoryBulkUpdate(input: $input) {
    updatedCount failedCount
    results { index inventoryLevel { id onHand available } userErrors { code message } }
    userErrors { code field message }
  }
}`;

const BASELINE_BULK_SQL = `
WITH a AS (SELECT * FROM unnest($2::uuid[], $3::int[]) AS a(id, d) ORDER BY id),
u AS (
  UPDATE inventory_levels l
     SET on_hand = l.on_hand + a.d, version = l.version + 1, updated_at = now()
    FROM a
   WHERE l.id = a.id AND l.store_id = $1 AND l.on_hand + a.d >= l.reserved
  RETURNING l.id, l.store_id, l.on_hand, l.reserved, a.d
)
INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
                             on_hand_before, on_hand_after, reserved_before, reserved_after, actor)
SELECT store_id, id, 'CORRECTION', d, 0, on_hand - d, on_hand, reserved, reserved, 'bench:baseline' FROM u`;

/** Items per second from a closed loop of one client sending whole batches. */
const perItem = (r: LoadResult, items: number): LoadResult => ({ ...r, ops: r.ops * items, ok: r.ok * items, failed: r.failed * items });

export async function bulk(ctx: BenchContext): Promise<Row[]> {
  const n = Math.min(ctx.opts.bulkItems, ctx.data.levels.length);
  const pickLevels = () => shuffle([...ctx.data.levels]).slice(0, n);
  const body = () =>
    JSON.stringify({
      query: BULK_MUTATION,
      variables: {
        input: { items: pickLevels().map((l) => ({ mode: 'ADJUST', sku: l.sku, warehouseCode: ctx.data.warehouseCode, delta: 1 })) },
      },
    });
  const isOk = (b: string) => graphqlOk(b.replace(/"results":\[.*\],"userErrors"/s, '"userErrors"')) && b.includes(`"updatedCount":${n}`);
  const minRequests = ctx.opts.quick ? 1 : 3;
  const gateway = async (durationS: number) =>
    perItem(await httpSequential({ url: ctx.gateway.url, durationS, minRequests, headers: authHeaders(ctx), body, isOk }), n);
  const baseline = async (durationS: number) =>
    perItem(
      await pgLoad({
        url: ctx.dbUrl,
        concurrency: 1,
        durationS,
        minOps: minRequests,
        op: async (c: pg.Client) => {
          const ls = pickLevels();
          return (await c.query(BASELINE_BULK_SQL, [ctx.data.storeId, ls.map((l) => l.id), ls.map(() => 1)])).rowCount === n;
        },
      }),
      n,
    );
  ctx.log(`bulk ${n} items: warm-up`);
  await gateway(ctx.opts.warmupS);
  await baseline(ctx.opts.warmupS);
  const m = await measurePair(
    ctx,
    `bulk ${n}`,
    () => gateway(ctx.opts.durationS),
    () => baseline(ctx.opts.durationS),
    null,
  );
  m.gateway.statements = await withStatementCounts(ctx, (url) => statementsPerRequest(url, authHeaders(ctx), body, 1));
  m.baseline!.statements = 1;
  return [
    row(
      `bulk inventoryBulkUpdate (${n} items)`,
      1,
      'items/s',
      m,
      `the same ${n} conditional adjustments and their ledger rows as ONE set-based statement through \`pg\` (\`UPDATE … FROM unnest(…)\` + \`INSERT … SELECT\`); for context only, no target. Latencies are per request of ${n} items.`,
      null,
    ),
  ];
}
