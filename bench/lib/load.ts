/**
 * Load generators: autocannon for HTTP (closed loop: `connections` clients, each sending its next
 * request when the previous answered), and the same closed loop over raw pg connections for the
 * database baselines. Latencies are recorded by us in 10 µs buckets (autocannon's own histogram
 * keeps whole milliseconds only).
 */
import autocannon from 'autocannon';
import pg from 'pg';
import { Histogram, sleep } from './util';

export interface LoadResult {
  /** Successful operations per second. */
  ops: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  /** Mean SQL statements per request (x-sql-statements header), when the server reports it. */
  statements: number;
  durationS: number;
  /** First failure seen, for the report. */
  sampleFailure?: string;
}

export interface HttpLoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  /** A fresh body per request (random levels) or a constant one. */
  body: string | (() => string);
  /** Whether a 200 body counts as success (GraphQL errors and userErrors do not). */
  isOk?: (body: string) => boolean;
  timeoutS?: number;
}

export const graphqlOk = (body: string) => !body.includes('"errors"') && (!body.includes('"userErrors"') || /"userErrors":\[\]/.test(body));

export function httpLoad(o: HttpLoadOptions): Promise<LoadResult> {
  const hist = new Histogram();
  let ok = 0;
  let failed = 0;
  let statements = 0;
  let counted = 0;
  let sampleFailure: string | undefined;
  const isOk = o.isOk ?? graphqlOk;
  const makeBody = typeof o.body === 'function' ? o.body : null;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const inst = autocannon(
      {
        url: o.url,
        method: 'POST',
        connections: o.connections,
        duration: o.durationS,
        timeout: o.timeoutS ?? 30,
        // Stop checks happen on sample ticks: tick often so a window ends when it should.
        sampleInt: 100,
        headers: { 'content-type': 'application/json', ...o.headers },
        body: makeBody ? undefined : (o.body as string),
        requests: [
          {
            method: 'POST',
            ...(makeBody
              ? {
                  setupRequest: (req: autocannon.Request) => {
                    req.body = makeBody();
                    return req;
                  },
                }
              : {}),
            onResponse: (status: number, body: string, _ctx: unknown, headers?: Record<string, string | string[] | undefined>) => {
              const n = Number(headers?.['x-sql-statements']);
              if (Number.isFinite(n)) {
                statements += n;
                counted++;
              }
              if (status === 200 && isOk(body)) ok++;
              else {
                failed++;
                sampleFailure ??= `HTTP ${status}: ${body.slice(0, 300)}`;
              }
            },
          },
        ],
      },
      (err: Error | null) => {
        if (err) return reject(err);
        const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
        resolve({
          ops: ok / durationS,
          p50: hist.percentile(50),
          p99: hist.percentile(99),
          ok,
          failed,
          statements: counted ? statements / counted : NaN,
          durationS,
          sampleFailure,
        });
      },
    );
    inst.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => hist.record(responseTime));
    inst.on('reqError', (e: Error) => {
      failed++;
      sampleFailure ??= `request error: ${e.message}`;
    });
  });
}

/**
 * One client sending requests back to back until `durationS` has passed and at least `minRequests`
 * completed (for long requests such as bulk updates, where a time window alone could end first).
 */
export async function httpSequential(o: {
  url: string;
  durationS: number;
  minRequests: number;
  headers?: Record<string, string>;
  body: () => string;
  isOk?: (body: string) => boolean;
}): Promise<LoadResult> {
  const hist = new Histogram();
  const isOk = o.isOk ?? graphqlOk;
  let ok = 0;
  let failed = 0;
  let statements = 0;
  let sampleFailure: string | undefined;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + o.durationS * 1000;
  for (let n = 0; n < o.minRequests || Date.now() < end; n++) {
    const body = o.body();
    const s = process.hrtime.bigint();
    try {
      const r = await fetch(o.url, { method: 'POST', headers: { 'content-type': 'application/json', ...o.headers }, body });
      const text = await r.text();
      hist.record(Number(process.hrtime.bigint() - s) / 1e6);
      statements += sqlStatements(r.headers);
      if (r.status === 200 && isOk(text)) ok++;
      else {
        failed++;
        sampleFailure ??= `HTTP ${r.status}: ${text.slice(0, 300)}`;
      }
    } catch (e) {
      failed++;
      sampleFailure ??= (e as Error).message;
    }
  }
  const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    ops: ok / durationS,
    p50: hist.percentile(50),
    p99: hist.percentile(99),
    ok,
    failed,
    statements: statements / Math.max(1, ok + failed),
    durationS,
    sampleFailure,
  };
}

export interface PgLoadOptions {
  url: string;
  /** Concurrent callers, each with its own connection. */
  concurrency: number;
  durationS: number;
  /** One operation; resolves true on success. `i` is the caller's index. */
  op: (client: pg.Client, i: number) => Promise<boolean>;
  /** Keep going past the window until this many operations completed (per caller). */
  minOps?: number;
}

export async function pgLoad(o: PgLoadOptions): Promise<LoadResult> {
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < o.concurrency; i++) {
      const c = new pg.Client({ connectionString: o.url, application_name: 'bench-baseline' });
      await c.connect();
      clients.push(c);
    }
    const hist = new Histogram();
    let ok = 0;
    let failed = 0;
    let sampleFailure: string | undefined;
    const t0 = process.hrtime.bigint();
    const end = Date.now() + o.durationS * 1000;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let n = 0; n < (o.minOps ?? 0) || Date.now() < end; n++) {
          const s = process.hrtime.bigint();
          try {
            if (await o.op(c, i)) ok++;
            else {
              failed++;
              sampleFailure ??= 'condition not met (no row updated)';
            }
          } catch (e) {
            failed++;
            sampleFailure ??= (e as Error).message;
            await sleep(1);
          }
          hist.record(Number(process.hrtime.bigint() - s) / 1e6);
        }
      }),
    );
    const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      ops: ok / durationS,
      p50: hist.percentile(50),
      p99: hist.percentile(99),
      ok,
      failed,
      statements: NaN,
      durationS,
      sampleFailure,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** The x-sql-statements header's count; NaN when the server sends none (NODE_ENV=production). */
export function sqlStatements(headers: Headers): number {
  const v = headers.get('x-sql-statements');
  return v === null ? NaN : Number(v);
}

/**
 * SQL statements per request as the server reports them (x-sql-statements), median of `n`
 * requests sent one at a time. Under concurrent load the header is not reliable: a statement
 * that waited for a pooled connection may be counted for the request that released it.
 */
export async function statementsPerRequest(url: string, headers: Record<string, string>, body: () => string, n = 5): Promise<number> {
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body() });
    await r.text();
    counts.push(sqlStatements(r.headers));
  }
  counts.sort((a, b) => a - b);
  return counts[counts.length >> 1];
}
