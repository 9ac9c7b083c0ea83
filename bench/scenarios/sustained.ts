/**
 * `npm run bench -- --sustained 600`: ten minutes of mixed stock writes against one gateway, on a
 * database where nothing vacuums (the server's autovacuum is off, or, when it is on, switched off
 * for every table of the bench database for this run). Every request is one of (MIX): reserve 1 of
 * the hot SKU (40 %), reserve 1 of a random spread SKU (20 %), adjust the hot SKU by +1 (10 %),
 * adjust a random spread SKU by +1 (30 %), from `--clients` closed-loop clients (default 16).
 *
 * After a 10 s warm-up (not counted), reported per window (`--window`, default 60 s): throughput, latency, and per hot-path table the
 * share of HOT updates, dead tuples and heap/index size. The verdict compares the last window's
 * throughput with the first's (target: within 10 %).
 */
import { authHeaders, type BenchContext } from '../lib/context';
import { httpLoad, type LoadResult } from '../lib/load';
import { deltas, fmtRatio, HOT_PATH_TABLES, settled, tableCounters, type TableDelta } from '../lib/tables';
import { fmtBatched, fmtWaits, startWindowDiag, type WindowDiag } from '../lib/window-diag';
import { adjustBody } from './adjust';
import { reserveBody } from './reserve';

/**
 * Shares of the request kinds. Adjustments of the hot SKU are a small share: each holds the hot row's
 * lock for a whole transaction (several round trips), so with a quarter of them the run measured that
 * lock (~200 ops/s), not the cost of the writes.
 */
export const MIX = { reserveHot: 0.4, reserveSpread: 0.2, adjustHot: 0.1, adjustSpread: 0.3 };

export interface SustainedWindow {
  index: number;
  startS: number;
  load: LoadResult;
  tables: TableDelta[];
  diag: WindowDiag;
}

export interface SustainedResult {
  autovacuum: string;
  autovacuumNote: string;
  /** Whether the run started from a checkpoint. */
  checkpointNote: string;
  windows: SustainedWindow[];
  /** Over the whole run, after the idle connections' counters were reported. */
  total: TableDelta[];
  firstOps: number;
  lastOps: number;
  /** lastOps / firstOps. */
  ratio: number;
  pass: boolean;
}

export async function sustained(ctx: BenchContext, totalS: number, windowS: number, clients: number): Promise<SustainedResult> {
  const { data } = ctx;
  const autovacuum = (await ctx.pg.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0].autovacuum;
  let autovacuumNote = 'server autovacuum = off';
  if (autovacuum !== 'off') {
    // The run is about a server where nothing vacuums: switch it off for this database's tables.
    const t = await ctx.pg.query<{ relname: string }>(`SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'`);
    for (const { relname } of t.rows)
      await ctx.pg.query(`ALTER TABLE "${relname}" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`);
    autovacuumNote = `server autovacuum = ${autovacuum}; autovacuum_enabled = false set on all ${t.rows.length} tables of the bench database for this run`;
  }
  ctx.log(
    `sustained: ${totalS} s of mixed reserve/adjust (${JSON.stringify(MIX)}) at ${clients} clients, ${windowS} s windows (${autovacuumNote})`,
  );
  const levels = data.levels;
  const spread = () => levels[Math.floor(Math.random() * levels.length)].sku;
  const body = () => {
    const r = Math.random();
    if (r < MIX.reserveHot) return reserveBody(data.hot.sku, data.warehouseCode);
    if (r < MIX.reserveHot + MIX.reserveSpread) return reserveBody(spread(), data.warehouseCode);
    if (r < MIX.reserveHot + MIX.reserveSpread + MIX.adjustHot) return adjustBody(data.hot.sku, data.warehouseCode);
    return adjustBody(spread(), data.warehouseCode);
  };
  // Start from a checkpoint: the run begins at the start of a checkpoint cycle, not in the middle of
  // the one the seeding began (after a checkpoint, each page's first change writes a full-page image
  // to the WAL; with the cycle the seeding began, those of the seeded pages fell in a later window).
  // (Needs superuser or pg_checkpoint; without, the run goes on and says so.)
  const checkpointNote = await ctx.pg
    .query('CHECKPOINT')
    .then(() => 'a CHECKPOINT right after seeding, before the warm-up')
    .catch((e: Error) => `no CHECKPOINT before the run (${e.message})`);
  // A short warm-up (JIT, the pool's connections), not counted: the first window then measures
  // the first minute of load rather than the gateway's start.
  await httpLoad({ url: ctx.gateway.url, connections: clients, durationS: Math.min(10, windowS), headers: authHeaders(ctx), body });
  const start = await settled(ctx.pg, ctx.opts.quick);
  let prev = start;
  const windows: SustainedWindow[] = [];
  const n = Math.max(1, Math.round(totalS / windowS));
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const startS = (Date.now() - t0) / 1000;
    const diagnosis = await startWindowDiag(ctx.dbUrl, ctx.dbName, ctx.gateway.pid, ctx.metricsUrl);
    const load = await httpLoad({ url: ctx.gateway.url, connections: clients, durationS: windowS, headers: authHeaders(ctx), body });
    const diag = await diagnosis.stop();
    const now = await tableCounters(ctx.pg);
    const tables = deltas(prev, now);
    prev = now;
    windows.push({ index: i + 1, startS, load, tables, diag });
    const lv = tables.find((t) => t.table === 'inventory_levels')!;
    ctx.log(
      `  window ${i + 1}/${n}: ${load.ops.toFixed(0)} ops/s p50 ${load.p50.toFixed(2)} p99 ${load.p99.toFixed(2)} ms${load.failed ? ` (${load.failed} failed: ${load.sampleFailure})` : ''}; ` +
        `inventory_levels HOT ${fmtRatio(lv.hotRatio)}, dead ${lv.deadAtEnd}, heap ${lv.pagesAtEnd} / index ${lv.indexPagesAtEnd} pages; ` +
        `waits ${fmtWaits(diag)}; active ${diag.active.toFixed(1)}; WAL ${diag.walMb.toFixed(0)} MB, ${diag.walFpi} FPI, ` +
        `${diag.walSyncs} syncs, ${diag.checkpoints} checkpoints; CPU per op gateway ${perOpMs(diag.cpuGatewayS, load)} ms, postgres ${perOpMs(diag.cpuPostgresS, load)} ms; batches: ${fmtBatched(diag)}`,
    );
  }
  const end = await settled(ctx.pg, ctx.opts.quick);
  const firstOps = windows[0].load.ops;
  const lastOps = windows[windows.length - 1].load.ops;
  const ratio = lastOps / firstOps;
  return { autovacuum, autovacuumNote, checkpointNote, windows, total: deltas(start, end), firstOps, lastOps, ratio, pass: ratio >= 0.9 };
}

/** CPU milliseconds per successful operation of a window. */
function perOpMs(cpuS: number, load: LoadResult): string {
  const ops = load.ops * load.durationS;
  return ops > 0 ? ((cpuS * 1000) / ops).toFixed(2) : '—';
}

export function sustainedMarkdown(
  r: SustainedResult,
  head: { command: string; startedAt: Date; finishedAt: Date; machine: string[]; settings: string[] },
): string {
  const L: string[] = [];
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  L.push('# Sustained write run');
  L.push('');
  L.push(
    `Generated by \`${head.command}\` on ${head.startedAt.toISOString()} (took ${Math.round((head.finishedAt.getTime() - head.startedAt.getTime()) / 1000)} s).`,
  );
  L.push('');
  for (const m of head.machine) L.push(`- ${m}`);
  for (const s of head.settings) L.push(`- ${s}`);
  L.push(`- Vacuum: ${r.autovacuumNote}; no VACUUM or ANALYZE during the run.`);
  L.push(
    `- Start: ${r.checkpointNote} (so that the first window, like every later one, pays the full-page images of its first changes after a checkpoint).`,
  );
  L.push('');
  L.push(
    `**Last window ${n(r.lastOps)} ops/s vs first ${n(r.firstOps)} ops/s = ${r.ratio.toFixed(3)}× (target ≥ 0.9×: ${r.pass ? 'PASS' : 'FAIL'}).**`,
  );
  L.push('');
  L.push(
    '| window | from s | ops/s | p50 ms | p99 ms | failed | ' +
      HOT_PATH_TABLES.map((t) => `${t} HOT`).join(' | ') +
      ' | inventory_levels dead | inventory_levels heap / index pages |',
  );
  L.push('|---:|---:|---:|---:|---:|---:|' + HOT_PATH_TABLES.map(() => '---:').join('|') + '|---:|---:|');
  for (const w of r.windows) {
    const lv = w.tables.find((t) => t.table === 'inventory_levels')!;
    L.push(
      `| ${w.index} | ${w.startS.toFixed(0)} | ${n(w.load.ops)} | ${w.load.p50.toFixed(2)} | ${w.load.p99.toFixed(2)} | ${w.load.failed} | ` +
        w.tables.map((t) => fmtRatio(t.hotRatio)).join(' | ') +
        ` | ${n(lv.deadAtEnd)} | ${n(lv.pagesAtEnd)} / ${n(lv.indexPagesAtEnd)} |`,
    );
  }
  L.push('');
  L.push('What the server did in each window: the mean number of active backends of the bench database waiting on each event');
  L.push('(pg_stat_activity sampled every 250 ms), WAL written, its full-page images and fsyncs (pg_stat_wal), checkpoints');
  L.push("(pg_stat_bgwriter, server-wide), and CPU seconds of the gateway process and of the database's backends.");
  L.push('');
  L.push(
    '| window | ops/s | active backends | top waits (mean backends) | WAL MB | full-page images | WAL fsyncs | checkpoints | CPU gateway s | CPU postgres s | CPU ms per op: gateway / postgres | batched requests served by their statement |',
  );
  L.push('|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const w of r.windows) {
    const d = w.diag;
    L.push(
      `| ${w.index} | ${n(w.load.ops)} | ${d.active.toFixed(1)} | ${fmtWaits(d, 5)} | ${n(d.walMb)} | ${n(d.walFpi)} | ${n(d.walSyncs)} | ${d.checkpoints} | ${d.cpuGatewayS.toFixed(1)} | ${d.cpuPostgresS.toFixed(1)} | ${perOpMs(d.cpuGatewayS, w.load)} / ${perOpMs(d.cpuPostgresS, w.load)} | ${fmtBatched(d)} |`,
    );
  }
  L.push('');
  L.push('Per-window HOT ratios are deltas of pg_stat_user_tables between windows (a backend reports at most once a second, so a');
  L.push('window may carry up to a second of its neighbour). Whole run, after the idle connections reported:');
  L.push('');
  L.push('| table | inserted | updated | HOT updated | HOT ratio | dead tuples at end | heap pages | index pages |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of r.total)
    L.push(
      `| ${t.table} | ${n(t.inserted)} | ${n(t.updated)} | ${n(t.hotUpdated)} | ${fmtRatio(t.hotRatio)} | ${n(t.deadAtEnd)} | ${n(t.pagesAtEnd)} | ${n(t.indexPagesAtEnd)} |`,
    );
  L.push('');
  return L.join('\n');
}
