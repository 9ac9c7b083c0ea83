/**
 * Scenario 3 (and 6): `inventoryLevels(first: 50)` with variant, product and warehouse nested,
 * against the bare node:http + graphql-js server with one hand-written SQL statement
 * (bench/bare-server.ts). Both must return identical data (cursors, sealed by each with a key of
 * its own and a random IV, by shape), which is checked first. The gateway's
 * RSS is sampled throughout (memory under load).
 */
import { isDeepStrictEqual } from 'node:util';
import { authHeaders, measurePair, row, type BenchContext, withStatementCounts } from '../lib/context';
import { httpLoad, sqlStatements } from '../lib/load';
import type { Row } from '../lib/report';
import { rssSampler } from '../lib/util';

export const READ_QUERY = `query Levels($first: Int) {
  inventoryLevels(first: $first) {
    edges {
      cursor
      node {
        id onHand reserved available incoming safetyStock status
        variant { id sku product { id name } }
        warehouse { id code name }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const READ_BODY = JSON.stringify({ query: READ_QUERY, variables: { first: 50 } });

/** The data with every cursor replaced by its shape (sealed cursors differ on every response). */
function withoutCursors(v: unknown, key = ''): unknown {
  if (typeof v === 'string' && /cursor$/i.test(key)) return /^[A-Za-z0-9_-]{40,}$/.test(v) ? '<sealed cursor>' : v;
  if (Array.isArray(v)) return v.map((x) => withoutCursors(x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutCursors(x, k)]));
  return v;
}

async function fetchData(url: string, key: string): Promise<{ data: unknown; statements: number }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: READ_BODY,
  });
  const body = (await r.json()) as { data?: unknown; errors?: unknown };
  if (r.status !== 200 || body.errors) throw new Error(`read query failed (${r.status}): ${JSON.stringify(body).slice(0, 500)}`);
  return { data: body.data, statements: sqlStatements(r.headers) };
}

export async function readQuery(ctx: BenchContext): Promise<{ rows: Row[]; rssPeakMb: Record<number, number>; statementCounts: number[] }> {
  const bare = ctx.bare!;
  // Same query, same answer: the baseline does the same work.
  const g = await fetchData(ctx.gateway.url, ctx.data.key);
  await fetchData(bare.url, ctx.data.key); // first request: the bare server caches the key
  const b = await fetchData(bare.url, ctx.data.key);
  if (!isDeepStrictEqual(withoutCursors(g.data), withoutCursors(b.data))) {
    throw new Error(
      `the bare server's answer differs from the gateway's:\n${JSON.stringify(g.data).slice(0, 800)}\n${JSON.stringify(b.data).slice(0, 800)}`,
    );
  }
  // Statement count for 1, 10 and 50 levels (must be constant).
  const statementCounts = await withStatementCounts(ctx, async (url) => {
    const counts: number[] = [];
    for (const first of [1, 10, 50]) {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(ctx) },
        body: JSON.stringify({ query: READ_QUERY, variables: { first } }),
      });
      await r.text();
      counts.push(sqlStatements(r.headers));
    }
    return counts;
  });
  ctx.log(`read: answers identical; gateway SQL statements for first = 1, 10, 50: ${statementCounts.join(', ')}`);

  const rows: Row[] = [];
  const load = (url: string, connections: number, durationS: number) =>
    httpLoad({ url, connections, durationS, headers: authHeaders(ctx), body: READ_BODY });
  const rssPeakMb: Record<number, number> = {};
  for (const c of ctx.opts.readConcurrency) {
    const rss = rssSampler(ctx.gateway.pid);
    if (!ctx.opts.quick || c === ctx.opts.readConcurrency[0]) {
      ctx.log(`read @ ${c}: warm-up ${ctx.opts.warmupS} s`);
      await load(ctx.gateway.url, c, ctx.opts.warmupS);
      await load(bare.url, c, ctx.opts.warmupS);
    }
    const m = await measurePair(
      ctx,
      `read @ ${c}`,
      () => load(ctx.gateway.url, c, ctx.opts.durationS),
      () => load(bare.url, c, ctx.opts.durationS),
      bare.pid,
    );
    m.gateway.statements = statementCounts[statementCounts.length - 1];
    m.baseline!.statements = b.statements;
    rows.push(
      row(
        'read inventoryLevels(first: 50)',
        c,
        'req/s',
        m,
        "bare `node:http` + graphql-js `parse`/`validate`/`execute` per request, one hand-written SQL statement (the page of levels × variants cut first, then the due-lines correction, product and warehouse for its 50 rows), API key cached like the gateway (bench/bare-server.ts). Its answer is checked to be identical to the gateway's before measuring.",
        { min: 0.5, label: '≥ 0.5× bare server' },
      ),
    );
    rssPeakMb[c] = rss.stop().peak;
  }
  return { rows, rssPeakMb, statementCounts };
}
