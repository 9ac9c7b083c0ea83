/** What every scenario gets, and the paired gateway/baseline measurement they share. */
import type pg from 'pg';
import type { Dataset } from './db';
import type { LoadResult } from './load';
import { startGateway, type Server } from './proc';
import type { Row, Side } from './report';
import { cpuMeter, median } from './util';

export interface Options {
  quick: boolean;
  /** Runs per figure (median reported). */
  runs: number;
  /** Seconds per measured window. */
  durationS: number;
  /** Seconds of warm-up before each concurrency level. */
  warmupS: number;
  writeConcurrency: number[];
  readConcurrency: number[];
  levels: number;
  /** Rows of the history scenario's ledger. */
  ledgerRows: number;
  subscribers: number;
  /** Milliseconds between adjusts in the fan-out scenario. */
  fanoutIntervalMs: number;
  fanoutS: number;
  bulkItems: number;
  profile: boolean;
  profileS: number;
  only: Set<string> | null;
  out: string;
  poolSize: number | null;
  keepDb: boolean;
  /** Another build's dist/src/main.js to measure instead of this one. */
  gatewayMain: string | null;
  /** Flags for the gateway's node process. */
  nodeOptions: string[];
  /** NODE_ENV=production for the measured gateway, as deployed (default; `--development` turns it off). */
  production: boolean;
  /** `--sustained S`: only the sustained mixed-write run, for S seconds (null: the scenarios). */
  sustainedS: number | null;
  /** Window of the sustained run, seconds. */
  windowS: number;
  /** Clients of the sustained run. */
  clients: number;
}

export interface BenchContext {
  opts: Options;
  data: Dataset;
  dbUrl: string;
  dbName: string;
  /** A connection to the bench database, for counters. */
  pg: pg.Client;
  gateway: Server;
  /** The gateway's Prometheus endpoint (METRICS_PORT), when it has one. */
  metricsUrl?: string;
  bare: Server | null;
  log: (line: string) => void;
  warnings: string[];
}

export const authHeaders = (ctx: BenchContext) => ({ authorization: `Bearer ${ctx.data.key}` });

/**
 * Runs a statement-count probe (x-sql-statements) and returns its result. The measured gateway runs
 * as deployed (NODE_ENV=production) and sends no such header: the probe then goes to a development
 * gateway on the same database, started for it and stopped after it, so that it holds no
 * connections and does no work while anything is measured. The probe runs twice and the second
 * result counts (a fresh process's first answers may load a cache). With `--development` the
 * measured gateway answers it.
 */
export async function withStatementCounts<T>(ctx: BenchContext, probe: (url: string) => Promise<T>): Promise<T> {
  if (!ctx.opts.production) return probe(ctx.gateway.url);
  const counting = await startGateway({ databaseUrl: ctx.dbUrl, poolSize: 2, main: ctx.opts.gatewayMain ?? undefined });
  try {
    await probe(counting.url);
    return await probe(counting.url);
  } finally {
    await counting.stop();
  }
}

/** Transaction ids assigned so far (write transactions), minus the one this call takes. */
async function xid(ctx: BenchContext): Promise<number> {
  const r = await ctx.pg.query<{ x: string }>('SELECT pg_current_xact_id()::text::int8 AS x');
  return Number(r.rows[0].x);
}

function side(results: (LoadResult & { cpu: { gateway: number; postgres: number; loadgen: number }; xacts: number })[]): Side {
  const okTotal = results.reduce((s, r) => s + r.ok, 0);
  const sum = (k: 'gateway' | 'postgres' | 'loadgen') => results.reduce((s, r) => s + r.cpu[k], 0);
  return {
    ops: median(results.map((r) => r.ops)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    runs: results.map((r) => r.ops),
    failed: results.reduce((s, r) => s + r.failed, 0),
    statements: median(results.map((r) => r.statements)),
    cpuPerK:
      okTotal > 0
        ? {
            gateway: (sum('gateway') / okTotal) * 1000,
            postgres: (sum('postgres') / okTotal) * 1000,
            loadgen: (sum('loadgen') / okTotal) * 1000,
          }
        : undefined,
    xactsPerOp: okTotal > 0 ? results.reduce((s, r) => s + r.xacts, 0) / okTotal : NaN,
    sampleFailure: results.find((r) => r.sampleFailure)?.sampleFailure,
  };
}

/**
 * `runs` alternating windows, gateway first, then its baseline; returns the medians. `gatewayPid`
 * and `baselinePid` are the server processes whose CPU is attributed (null: none, e.g. raw pg).
 */
export async function measurePair(
  ctx: BenchContext,
  label: string,
  gateway: () => Promise<LoadResult>,
  baseline: (() => Promise<LoadResult>) | null,
  baselinePid: number | null,
): Promise<{ gateway: Side; baseline: Side | null }> {
  const g: Parameters<typeof side>[0] = [];
  const b: Parameters<typeof side>[0] = [];
  for (let run = 0; run < ctx.opts.runs; run++) {
    let m = cpuMeter(ctx.gateway.pid, ctx.dbName);
    let x0 = await xid(ctx);
    const gr = await gateway();
    g.push({ ...gr, cpu: m.stop(), xacts: (await xid(ctx)) - x0 - 1 });
    let line = `  ${label} run ${run + 1}/${ctx.opts.runs}: gateway ${gr.ops.toFixed(0)}/s p50 ${gr.p50.toFixed(2)} p99 ${gr.p99.toFixed(2)} ms${gr.failed ? ` (${gr.failed} failed)` : ''}`;
    if (baseline) {
      m = cpuMeter(baselinePid, ctx.dbName);
      x0 = await xid(ctx);
      const br = await baseline();
      b.push({ ...br, cpu: m.stop(), xacts: (await xid(ctx)) - x0 - 1 });
      line += ` | baseline ${br.ops.toFixed(0)}/s p50 ${br.p50.toFixed(2)} p99 ${br.p99.toFixed(2)} ms${br.failed ? ` (${br.failed} failed)` : ''}`;
    }
    ctx.log(line);
  }
  const gs = side(g);
  const bs = baseline ? side(b) : null;
  if (gs.failed) ctx.warnings.push(`${label}: ${gs.failed} gateway operations failed, e.g. ${gs.sampleFailure}`);
  if (bs?.failed) ctx.warnings.push(`${label}: ${bs.failed} baseline operations failed, e.g. ${bs.sampleFailure}`);
  return { gateway: gs, baseline: bs };
}

export function row(
  scenario: string,
  concurrency: number | string,
  unit: string,
  m: { gateway: Side; baseline: Side | null },
  baselineName: string,
  target: { min: number; label: string } | null,
  note?: string,
): Row {
  const ratio = m.baseline ? m.gateway.ops / m.baseline.ops : NaN;
  return {
    scenario,
    concurrency: String(concurrency),
    unit,
    gateway: m.gateway,
    baseline: m.baseline,
    baselineName,
    ratio,
    target: target?.label ?? '',
    pass: target ? Number.isFinite(ratio) && ratio >= target.min : null,
    note,
  };
}
