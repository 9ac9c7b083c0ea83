/**
 * Scenario 8: stock history on a large ledger (issue 22: "fast on a ledger of 10 million movements").
 * Builds the ledger with generate_series INSERTs straight into stock_movements (`--ledger N` rows,
 * default 10,000,000, --quick 100,000) over the last 30 days: one row in ten on the hot SKU's level,
 * the rest spread over every level. Then the checkpoints are rebuilt (rollupOnce, as the gateway's
 * job runs it) and measured:
 *  - `InventoryLevel.snapshot(at: 15 days ago)` on a page of 10 levels plus the hot level
 *    (100,000s of movements at 10 M); baseline: the same page without snapshots, same gateway;
 *  - `stockMovementsSummary` over 30 days by DAY; baseline: the same sums straight from the ledger
 *    through pg (one GROUP BY over the store's rows of the range: what the checkpoints save).
 */
import pg from 'pg';
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { httpLoad, pgLoad, statementsPerRequest } from '../lib/load';
import type { ExtraFigure, Row } from '../lib/report';
import { resetCheckpoints, rollupOnce } from '../../src/modules/inventory';
import type { App } from '../../src/app';

const DAY_MS = 86_400_000;
const CHUNK = 1_000_000;

const SNAPSHOT_QUERY = `query Snap($at: DateTimeISO!, $hot: [String!]) {
  page: inventoryLevels(first: 10) { nodes { id onHand snapshot(at: $at) { onHand reserved available status } } }
  hot: inventoryLevels(first: 1, filter: { skus: $hot }) { nodes { id onHand snapshot(at: $at) { onHand reserved available status } } }
}`;
const PAGE_QUERY = `query Page($hot: [String!]) {
  page: inventoryLevels(first: 10) { nodes { id onHand } }
  hot: inventoryLevels(first: 1, filter: { skus: $hot }) { nodes { id onHand } }
}`;
const SUMMARY_QUERY = `query Summary($f: StockMovementsSummaryFilter!) {
  stockMovementsSummary(filter: $f, groupBy: DAY) { buckets { periodStart reason onHandChange reservedChange movements } }
}`;
const RAW_SUMMARY_SQL = `SELECT date_trunc('day', created_at, 'UTC') AS p, reason, sum(quantity_delta), sum(reserved_delta), count(*)
  FROM stock_movements WHERE store_id = $1 AND created_at >= $2 AND created_at < now() GROUP BY 1, 2 ORDER BY 1, 2`;

/** Appends `rows` movements over the last 30 days, in chunks (one statement each). */
async function buildLedger(ctx: BenchContext, rows: number): Promise<void> {
  const sql = `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta,
      on_hand_before, on_hand_after, reserved_before, reserved_after, incoming_before, incoming_after,
      safety_stock_before, safety_stock_after, low_stock_threshold_before, low_stock_threshold_after,
      critical_threshold_before, critical_threshold_after, created_at)
    SELECT $1, CASE WHEN g % 10 = 0 THEN $2::uuid ELSE lv.ids[1 + g % array_length(lv.ids, 1)] END,
           (ARRAY['RECEIVED','SALE','RESERVATION','RELEASE','COMMIT','DAMAGED']::"MovementReason"[])[1 + g % 6],
           (g % 7) - 3, (g % 5) - 2, 100, 100 + (g % 7) - 3, 10, 10 + (g % 5) - 2, 0, 0, 0, 0, 0, 0, 0, 0,
           now() - interval '1 hour' - make_interval(secs => ((g * 7919) % 2592000)::float8)
      FROM generate_series($3::int8, $4::int8) g,
           (SELECT array_agg(id ORDER BY id) AS ids FROM inventory_levels WHERE store_id = $1) lv`;
  for (let from = 1; from <= rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK - 1);
    await ctx.pg.query(sql, [ctx.data.storeId, ctx.data.hot.levelId, from, to]);
    ctx.log(`history: ledger ${to.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} rows`);
  }
  // The levels existed before their history (a snapshot before a level's creation is refused).
  await ctx.pg.query(`UPDATE inventory_levels SET created_at = now() - interval '31 days' WHERE store_id = $1`, [ctx.data.storeId]);
  await ctx.pg.query('ANALYZE stock_movements');
}

/** Rebuilds the checkpoints from scratch (the documented rebuild), as the gateway's job would; returns seconds. */
async function rebuildCheckpoints(ctx: BenchContext): Promise<number> {
  const pool = new pg.Pool({ connectionString: ctx.dbUrl, max: 1 });
  const app = { config: { ledgerRollupLagMs: 0, ledgerRollupWindowMs: 31 * DAY_MS }, tx: { pool, maxRetries: 3 } } as unknown as App;
  const t0 = Date.now();
  try {
    await resetCheckpoints(app);
    for (let i = 0; i < 1000; i++) {
      const r = await rollupOnce(app);
      if (!r.behind && !r.skipped) break;
      // Skipped: the gateway's own run holds the job's lock; try again when it is done.
      if (r.skipped) await new Promise((res) => setTimeout(res, 200));
    }
  } finally {
    await pool.end();
  }
  await ctx.pg.query('ANALYZE stock_movement_rollups');
  await ctx.pg.query('ANALYZE stock_movement_warehouse_rollups');
  return (Date.now() - t0) / 1000;
}

export async function history(ctx: BenchContext): Promise<{ rows: Row[]; extras: ExtraFigure[] }> {
  const { opts, data } = ctx;
  const ledgerRows = opts.ledgerRows;
  let t0 = Date.now();
  await buildLedger(ctx, ledgerRows);
  const buildS = (Date.now() - t0) / 1000;
  const rollupS = await rebuildCheckpoints(ctx);
  const hotRows = Math.floor(ledgerRows / 10);
  ctx.log(`history: ledger built in ${buildS.toFixed(1)} s, checkpoints in ${rollupS.toFixed(1)} s`);
  const extras: ExtraFigure[] = [
    {
      name: 'history: ledger rows (generate_series)',
      value: `${ledgerRows.toLocaleString('en-US')} (${hotRows.toLocaleString('en-US')} on the hot level); built in ${buildS.toFixed(1)} s`,
      target: '',
      pass: null,
    },
    { name: 'history: checkpoint rebuild (rollupOnce)', value: `${rollupS.toFixed(1)} s`, target: '', pass: null },
  ];
  const rows: Row[] = [];
  const c = opts.quick ? 4 : 16;
  const at = new Date(Date.now() - 15 * DAY_MS).toISOString();
  const snapBody = JSON.stringify({ query: SNAPSHOT_QUERY, variables: { at, hot: [data.hot.sku] } });
  const pageBody = JSON.stringify({ query: PAGE_QUERY, variables: { hot: [data.hot.sku] } });
  const from = new Date(Date.now() - 30 * DAY_MS);
  const sumBody = JSON.stringify({ query: SUMMARY_QUERY, variables: { f: { from: from.toISOString() } } });
  const http = (body: string) => (durationS: number) =>
    httpLoad({ url: ctx.gateway.url, connections: c, durationS, headers: authHeaders(ctx), body });
  t0 = Date.now();
  // A summary takes seconds (the raw GROUP BY a minute): a window of opts.durationS could end before
  // any completed, so its windows are at least SUMMARY_WINDOW_S and its ratio compares p50 latencies.
  const SUMMARY_WINDOW_S = opts.quick ? opts.durationS : 15;
  for (const [name, gw, base, baseName, stmtBody, baseStatements, long] of [
    [
      'history snapshot (10 levels + hot level, at 15 days ago)',
      http(snapBody),
      http(pageBody),
      'the same page without snapshot (same gateway)',
      snapBody,
      null,
      false,
    ],
    [
      'history summary (30 days by DAY)',
      http(sumBody),
      (durationS: number) =>
        pgLoad({
          url: ctx.dbUrl,
          concurrency: c,
          durationS,
          op: async (cl) => (await cl.query(RAW_SUMMARY_SQL, [data.storeId, from])).rowCount! > 0,
        }),
      'the same sums straight from the ledger through pg: one GROUP BY over the range (no checkpoints); ratio: baseline p50 / gateway p50',
      sumBody,
      1,
      true,
    ],
  ] as const) {
    ctx.log(`${name} @ ${c}: warm-up ${opts.warmupS} s`);
    await gw(opts.warmupS);
    const windowS = long ? Math.max(opts.durationS, SUMMARY_WINDOW_S) : opts.durationS;
    const m = await measurePair(
      ctx,
      `${name} @ ${c}`,
      () => gw(windowS),
      () => base(windowS),
      null,
    );
    m.gateway.statements = await withStatementCounts(ctx, (url) => statementsPerRequest(url, authHeaders(ctx), () => stmtBody));
    if (baseStatements !== null) m.baseline!.statements = baseStatements;
    const r = row(name, c, 'ops/s', m, baseName, null, `p50 ${m.gateway.p50.toFixed(1)} ms vs baseline ${m.baseline!.p50.toFixed(1)} ms`);
    if (long) r.ratio = m.baseline!.p50 / m.gateway.p50;
    rows.push(r);
  }
  ctx.log(`history: measured in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { rows, extras };
}
