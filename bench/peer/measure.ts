/**
 * The measurements of `npm run bench:vendure`: paired windows (the gateway and Vendure alternately,
 * the order swapped every window) with the server's CPU, its database's PostgreSQL backends' CPU and
 * its RSS; and the "sell 1" trial (many concurrent requests on one item with little stock).
 */
import { httpLoad, type LoadResult } from '../lib/load';
import type { Server } from '../lib/proc';
import { cpuMeter, median, rssSampler } from '../lib/util';

export interface Target {
  name: 'gateway' | 'vendure';
  server: Server;
  /** The PostgreSQL database this server uses (its backends' CPU is attributed to it). */
  dbName: string;
  headers: () => Record<string, string>;
}

export interface Window extends LoadResult {
  serverCpuS: number;
  pgCpuS: number;
  rssPeakMb: number;
}

export interface Figure {
  ops: number;
  p50: number;
  p99: number;
  runs: number[];
  failed: number;
  sampleFailure?: string;
  /** CPU milliseconds per successful operation. */
  serverCpuMs: number;
  pgCpuMs: number;
  rssPeakMb: number;
}

export async function window(t: Target, connections: number, durationS: number, body: string | (() => string)): Promise<Window> {
  const cpu = cpuMeter(t.server.pid, t.dbName);
  const rss = rssSampler(t.server.pid);
  const r = await httpLoad({ url: t.server.url, connections, durationS, headers: t.headers(), body });
  const c = cpu.stop();
  return { ...r, serverCpuS: c.gateway, pgCpuS: c.postgres, rssPeakMb: rss.stop().peak };
}

export function figure(ws: Window[]): Figure {
  const ok = ws.reduce((s, w) => s + w.ok, 0);
  const per = (k: 'serverCpuS' | 'pgCpuS') => (ok > 0 ? (ws.reduce((s, w) => s + w[k], 0) / ok) * 1000 : NaN);
  return {
    ops: median(ws.map((w) => w.ops)),
    p50: median(ws.map((w) => w.p50)),
    p99: median(ws.map((w) => w.p99)),
    runs: ws.map((w) => w.ops),
    failed: ws.reduce((s, w) => s + w.failed, 0),
    sampleFailure: ws.find((w) => w.sampleFailure)?.sampleFailure,
    serverCpuMs: per('serverCpuS'),
    pgCpuMs: per('pgCpuS'),
    rssPeakMb: Math.max(...ws.map((w) => w.rssPeakMb)),
  };
}

export interface PairSpec {
  label: string;
  concurrency: number;
  windows: number;
  durationS: number;
  warmupS: number;
  body: Record<Target['name'], string | (() => string)>;
}

/** Warm-up of both, then `windows` windows each, alternating (gateway first in even windows, Vendure first in odd ones). */
export async function measurePair(targets: Target[], spec: PairSpec, log: (s: string) => void): Promise<Record<Target['name'], Figure>> {
  if (spec.warmupS > 0) {
    for (const t of targets) await window(t, spec.concurrency, spec.warmupS, spec.body[t.name]);
  }
  const got: Record<string, Window[]> = { gateway: [], vendure: [] };
  for (let w = 0; w < spec.windows; w++) {
    const order = w % 2 === 0 ? targets : [...targets].reverse();
    const parts: string[] = [];
    for (const t of order) {
      const r = await window(t, spec.concurrency, spec.durationS, spec.body[t.name]);
      got[t.name].push(r);
      parts.push(
        `${t.name} ${r.ops.toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms${r.failed ? ` (${r.failed} failed)` : ''}`,
      );
    }
    log(`  ${spec.label} @ ${spec.concurrency} window ${w + 1}/${spec.windows}: ${parts.join(' | ')}`);
  }
  return { gateway: figure(got.gateway), vendure: figure(got.vendure) };
}

export interface SellTrial {
  stock: number;
  clients: number;
  /** Requests the server (or, for Vendure, the read-modify-write client) reported as sold. */
  sold: number;
  refused: number;
  errors: number;
  sampleError?: string;
  /** Stock the server records as taken after the trial (gateway: reserved delta; Vendure: 50 − final stockOnHand). */
  recordedTaken: number;
  /** What the server says is left to sell afterwards. */
  leftAfter: number;
  elapsedMs: number;
}

/**
 * `clients` concurrent calls of `sellOne` (each resolves 'sold' | 'refused'), started together;
 * `before` sets the stock, `after` reads what the server recorded.
 */
export async function sellTrial(
  stock: number,
  clients: number,
  before: () => Promise<void>,
  sellOne: () => Promise<'sold' | 'refused'>,
  after: () => Promise<{ taken: number; left: number }>,
): Promise<SellTrial> {
  await before();
  let sold = 0;
  let refused = 0;
  let errors = 0;
  let sampleError: string | undefined;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      try {
        if ((await sellOne()) === 'sold') sold++;
        else refused++;
      } catch (e) {
        errors++;
        sampleError ??= (e as Error).message.slice(0, 300);
      }
    }),
  );
  const elapsedMs = Date.now() - t0;
  const a = await after();
  return { stock, clients, sold, refused, errors, sampleError, recordedTaken: a.taken, leftAfter: a.left, elapsedMs };
}
