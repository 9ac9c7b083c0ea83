/**
 * Scenario 7: reads by update time, the ones an index on inventory_levels.updated_at used to serve
 * (docs/HOT-UPDATES.md): `inventoryLevels(first: 50, sortKey: UPDATED_AT, reverse: true)` (the 50 most
 * recently changed levels) and `inventoryLevels(first: 50, sortKey: UPDATED_AT, filter: { updatedSince:
 * <60 s ago> })` (what changed lately, as a sync client asks), 16 clients each. Gateway only: for
 * comparing builds and schemas (e.g. `--gateway` or another checkout), run it after the write scenarios
 * so that recent changes exist.
 */
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { httpLoad, statementsPerRequest } from '../lib/load';
import type { Row } from '../lib/report';

const QUERY = `query Recent($first: Int, $filter: InventoryLevelFilter, $reverse: Boolean) {
  inventoryLevels(first: $first, filter: $filter, sortKey: UPDATED_AT, reverse: $reverse) {
    nodes { id onHand reserved available updatedAt variant { sku } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export async function updatedReads(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  const c = 16;
  const cases: [string, () => string][] = [
    ['read UPDATED_AT reverse (first: 50)', () => JSON.stringify({ query: QUERY, variables: { first: 50, reverse: true } })],
    [
      'read updatedSince 60 s ago (first: 50)',
      () =>
        JSON.stringify({
          query: QUERY,
          variables: { first: 50, reverse: false, filter: { updatedSince: new Date(Date.now() - 60_000).toISOString() } },
        }),
    ],
  ];
  for (const [name, body] of cases) {
    const load = (durationS: number) => httpLoad({ url: ctx.gateway.url, connections: c, durationS, headers: authHeaders(ctx), body });
    ctx.log(`${name} @ ${c}: warm-up ${ctx.opts.warmupS} s`);
    await load(ctx.opts.warmupS);
    const m = await measurePair(ctx, `${name} @ ${c}`, () => load(ctx.opts.durationS), null, null);
    m.gateway.statements = await withStatementCounts(ctx, (url) => statementsPerRequest(url, authHeaders(ctx), body));
    rows.push(row(name, c, 'ops/s', m, 'none (gateway only: compares schemas and builds; see bench/scenarios/updated.ts)', null));
  }
  return rows;
}
