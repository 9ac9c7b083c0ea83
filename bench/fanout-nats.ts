/**
 * `npm run bench:fanout -- [--gateways 4] [--subscribers 5000] [--stores 50] [--rate 200] [--duration 20]
 *  [--warmup 3] [--modes in-process,jetstream] [--nats-url nats://…] [--cpu-prof DIR]`
 *
 * Fan-out over several gateway processes on one PostgreSQL: the subscribers are spread over the
 * gateways and the stores, and `rate` committed changes a second are spread over the stores (each
 * through a gateway in turn). Run once per mode on a fresh database: `in-process` (every process reads
 * its followed stores' streams from PostgreSQL, the path without NATS_URL) and `jetstream`
 * (NATS_URL: the relay publishes to JetStream, processes consume their stores from it). Reports per
 * mode: commit → receipt p50 / p99 (receipt time − the event's occurredAt, the outbox row's time
 * in the committing transaction), whether every subscriber got exactly its store's events once and
 * in order (checked against event_log), the gateways' CPU per delivered event, and PostgreSQL reads
 * per delivered event (pg_stat_database: tuples returned + fetched, and statements, over the window).
 *
 * Without --nats-url, the jetstream mode starts its own nats-server (test/helpers/nats.ts).
 * The acceptance run is 4 gateways, 5,000 subscribers, 50 stores, 200 changes/s, p99 ≤ 150 ms.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { startNatsServer, type NatsServer } from '../test/helpers/nats';
import { createBenchDatabase, DEFAULT_ADMIN_URL, runCli } from './lib/db';
import { startGateway, type Server } from './lib/proc';
import { cpuMeter, cpuSeconds, fmtMs, percentile, sleep } from './lib/util';

export interface Opts {
  gateways: number;
  subscribers: number;
  stores: number;
  rate: number;
  durationS: number;
  warmupS: number;
  modes: ('in-process' | 'jetstream')[];
  natsUrl: string | null;
  /** The gateways' DATABASE_POOL_SIZE (default: theirs). */
  poolSize?: number;
  /** Between the warm-up and the measured window (default 2,000 ms: the warm-up's events delivered). */
  pauseMs?: number;
  /** --cpu-prof DIR: the first gateway runs under `node --cpu-prof` into DIR (written when it stops). */
  cpuProfDir?: string;
}

function parse(argv: string[]): Opts {
  const get = (n: string) => {
    const i = argv.indexOf(`--${n}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (n: string, d: number) => {
    const v = Number(get(n) ?? d);
    if (!(v > 0)) throw new Error(`--${n} must be a positive number`);
    return v;
  };
  const modes = (get('modes') ?? 'in-process,jetstream').split(',') as Opts['modes'];
  for (const m of modes) if (m !== 'in-process' && m !== 'jetstream') throw new Error(`unknown mode ${m}`);
  return {
    gateways: num('gateways', 4),
    subscribers: num('subscribers', 5000),
    stores: num('stores', 50),
    rate: num('rate', 200),
    durationS: num('duration', 20),
    warmupS: num('warmup', 3),
    modes,
    natsUrl: get('nats-url') ?? null,
    cpuProfDir: get('cpu-prof'),
  };
}

interface Store {
  id: string;
  key: string;
  sku: string;
}

/** Stores with an admin key each (the real CLI), one stocked SKU each (SQL). */
async function seedStores(url: string, n: number): Promise<Store[]> {
  const env = { DATABASE_URL: url, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  await runCli('migrate', [], env);
  const keys: string[] = [];
  for (let i = 0; i < n; i += 4) {
    const batch = Array.from({ length: Math.min(4, n - i) }, (_, k) =>
      runCli('keys', ['create', '--store', `fan${i + k}`, '--create-store', '--scopes', 'admin', '--name', `fan${i + k}`], env),
    );
    keys.push(...(await Promise.all(batch)).map((s) => s.trim()));
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Store[] = [];
    for (let i = 0; i < n; i++) {
      const [{ id }] = (await c.query(`SELECT id FROM stores WHERE code = $1`, [`fan${i}`])).rows;
      await c.query(
        `WITH w AS (INSERT INTO warehouses (store_id, code, name, priority) VALUES ($1, 'W1', 'W1', 0) RETURNING id),
              p AS (INSERT INTO products (store_id, external_id, name) VALUES ($1, 'EXT-F', 'F') RETURNING id),
              v AS (INSERT INTO variants (store_id, product_id, sku, label, is_default) SELECT $1, p.id, 'FAN-1', 'Default', true FROM p RETURNING id)
         INSERT INTO inventory_levels (store_id, variant_id, warehouse_id, on_hand) SELECT $1, v.id, w.id, 1000000 FROM v, w`,
        [id],
      );
      out.push({ id, key: keys[i], sku: 'FAN-1' });
    }
    return out;
  } finally {
    await c.end();
  }
}

interface Sub {
  store: number;
  /** Events with a cursor at or below this are not counted (the warm-up); Infinity: none yet. */
  from: number;
  cursors: number[];
  latencies: number[];
  closed: number | null;
  /** A graphql-ws error or complete message for the subscription. */
  error?: string;
}

const SUBSCRIPTION = `subscription($after: String) { inventoryChanged(after: $after) { cursor occurredAt after { onHand } } }`;

function subscribeRaw(url: string, key: string, after: number, sub: Sub): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // The instrument shares the 2 cores with what it measures: no compression offer, no UTF-8 validation.
    const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    const timer = setTimeout(() => reject(new Error('subscriber not acknowledged in 60 s')), 60_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${key}` } })));
    ws.on('message', (raw: Buffer) => {
      const now = Date.now();
      const m = JSON.parse(raw.toString()) as {
        type: string;
        payload?: { data?: { inventoryChanged?: { cursor: string; occurredAt: string } } };
      };
      if (m.type === 'next') {
        const e = m.payload!.data!.inventoryChanged!;
        if (Number(e.cursor) <= sub.from) return;
        sub.cursors.push(Number(e.cursor));
        sub.latencies.push(now - Date.parse(e.occurredAt));
      } else if (m.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { after: String(after) } } }));
        clearTimeout(timer);
        resolve(ws);
      } else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      else if (m.type === 'error' || m.type === 'complete') sub.error = `${m.type} ${JSON.stringify(m.payload ?? null).slice(0, 200)}`;
    });
    ws.on('close', (code) => {
      sub.closed = code;
      clearTimeout(timer);
      reject(new Error(`closed ${code}`));
    });
    ws.on('error', () => undefined);
  });
}

const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`;

export interface Result {
  mode: string;
  p50: number;
  p99: number;
  changes: number;
  delivered: number;
  expected: number;
  exact: boolean;
  problems: string[];
  cpuUsPerEvent: number;
  natsCpuUsPerEvent: number | null;
  pgTuplesPerEvent: number;
  pgStatementsPerEvent: number;
  /** CPU seconds per second during the measured window: the gateways together, PostgreSQL, this process. */
  cores?: { gateways: number; postgres: number; loadgen: number };
}

async function dbStats(c: pg.Client, name: string): Promise<{ tuples: number; xacts: number }> {
  const [r] = (
    await c.query(`SELECT tup_returned + tup_fetched AS t, xact_commit + xact_rollback AS x FROM pg_stat_database WHERE datname = $1`, [
      name,
    ])
  ).rows;
  return { tuples: Number(r.t), xacts: Number(r.x) };
}

async function runMode(mode: Opts['modes'][number], o: Opts, adminUrl: string): Promise<Result> {
  const db = await createBenchDatabase(adminUrl);
  let nats: NatsServer | null = null;
  const gateways: Server[] = [];
  const sockets: WebSocket[] = [];
  const stats = new pg.Client({ connectionString: adminUrl });
  await stats.connect();
  try {
    const stores = await seedStores(db.url, o.stores);
    let natsUrl = o.natsUrl;
    if (mode === 'jetstream' && !natsUrl) natsUrl = (nats = await startNatsServer()).url;
    // The gateways as deployed (NODE_ENV=production): outside production each HTTP request runs in
    // the statement scope of x-sql-statements, which leaves async hooks on for every promise of the
    // process, the fan-out's included (measured: bench/RESULTS.md, session 20).
    const extraEnv = { NODE_ENV: 'production', ...(mode === 'jetstream' ? { NATS_URL: natsUrl! } : {}) };
    for (let g = 0; g < o.gateways; g++)
      gateways.push(
        await startGateway({
          databaseUrl: db.url,
          extraEnv,
          poolSize: o.poolSize,
          nodeArgs: g === 0 && o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}/${mode}`] : [],
        }),
      );
    const subs: Sub[] = [];
    for (let i = 0; i < o.subscribers; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, o.subscribers - i) }, (_, k) => {
          const n = i + k;
          const sub: Sub = { store: n % o.stores, from: Infinity, cursors: [], latencies: [], closed: null };
          subs.push(sub);
          const st = stores[sub.store];
          return subscribeRaw(gateways[Math.floor(n / o.stores) % o.gateways].url, st.key, 0, sub).then((ws) => sockets.push(ws));
        }),
      );
    }
    process.stderr.write(`[fanout ${mode}] ${subs.length} subscribers on ${o.gateways} gateways, ${o.stores} stores\n`);
    let sent = 0;
    let failed = 0;
    const change = async (k: number) => {
      const st = stores[k % o.stores];
      const r = await fetch(gateways[k % o.gateways].url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${st.key}` },
        body: JSON.stringify({ query: ADJUST, variables: { i: { sku: st.sku, warehouseCode: 'W1', delta: 1, reason: 'CORRECTION' } } }),
      }).catch(() => null);
      if (r?.status === 200 && (await r.text()).includes('"userErrors":[]')) sent++;
      else failed++;
    };
    const window = async (seconds: number, k0: number) => {
      const start = Date.now();
      const inflight: Promise<void>[] = [];
      let k = 0;
      for (; Date.now() - start < seconds * 1000; k++) {
        const wait = start + (k * 1000) / o.rate - Date.now();
        if (wait > 0) await sleep(wait);
        inflight.push(change(k0 + k));
      }
      await Promise.all(inflight);
      return k;
    };
    const warm = await window(o.warmupS, 0);
    await sleep(o.pauseMs ?? 2000);
    // The measured window: each subscriber counts its store's events numbered after this point.
    const startSeqs = new Map<string, number>();
    const heads = new pg.Client({ connectionString: db.url });
    await heads.connect();
    for (const st of stores) {
      const [r] = (await heads.query(`SELECT head FROM event_streams WHERE store_id = $1`, [st.id])).rows;
      startSeqs.set(st.id, Number(r?.head ?? 0));
    }
    await heads.end();
    for (const s of subs) s.from = startSeqs.get(stores[s.store].id)!;
    const cpu0 = gateways.map((g) => cpuSeconds(g.pid));
    const nats0 = nats ? cpuSeconds(nats.pid) : 0;
    const pg0 = await dbStats(stats, db.name);
    const sentBefore = sent;
    const meter = cpuMeter(null, db.name);
    await window(o.durationS, warm);
    const m = meter.stop();
    const gw = gateways.reduce((sum, g, i) => sum + cpuSeconds(g.pid) - cpu0[i], 0);
    // Where the 2 cores went during the window (cores busy: CPU seconds per second).
    const cores = { gateways: gw / m.wallS, postgres: m.postgres / m.wallS, loadgen: m.loadgen / m.wallS };
    const changes = sent - sentBefore;
    // Errors the gateways logged (a subscription refused with an internal error shows up here).
    for (const g of gateways) {
      const lines = g
        .output()
        .split('\n')
        .filter((l) => /"level":"(error|fatal)"/.test(l));
      if (lines.length)
        process.stderr.write(`[fanout ${mode}] gateway ${g.pid} logged ${lines.length} errors, first: ${lines[0].slice(0, 1500)}\n`);
    }
    return {
      ...(await settleAndReport(mode, o, db, stats, stores, subs, startSeqs, { cpu0, nats0, pg0, gateways, nats, changes, failed })),
      cores,
    };
  } finally {
    for (const s of sockets) s.terminate();
    await Promise.all(gateways.map((g) => g.stop(5_000)));
    await stats.end();
    await nats?.stop();
    await db.drop();
  }
}

interface Window {
  cpu0: number[];
  nats0: number;
  pg0: { tuples: number; xacts: number };
  gateways: Server[];
  nats: NatsServer | null;
  changes: number;
  failed: number;
}

/** Waits for the deliveries (up to 60 s), then checks every subscriber against event_log and measures. */
async function settleAndReport(
  mode: string,
  o: Opts,
  db: { name: string; url: string },
  stats: pg.Client,
  stores: Store[],
  subs: Sub[],
  startSeqs: Map<string, number>,
  w: Window,
): Promise<Result> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const expectedOf = new Map<number, number[]>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const queued = Number((await c.query(`SELECT count(*) AS n FROM outbox_events`)).rows[0].n);
      for (const [i, st] of stores.entries()) {
        const rows = await c.query(
          `SELECT seq FROM event_log WHERE store_id = $1 AND topic = 'INVENTORY_UPDATED' AND seq > $2 ORDER BY seq`,
          [st.id, startSeqs.get(st.id)],
        );
        expectedOf.set(
          i,
          rows.rows.map((r: { seq: string }) => Number(r.seq)),
        );
      }
      const done = subs.every((s) => s.cursors.length >= expectedOf.get(s.store)!.length);
      if ((queued === 0 && done) || Date.now() > deadline) break;
      await sleep(250);
    }
    const cpu = w.gateways.reduce((sum, g, i) => sum + cpuSeconds(g.pid) - w.cpu0[i], 0);
    const natsCpu = w.nats ? cpuSeconds(w.nats.pid) - w.nats0 : null;
    await sleep(1000); // pg_stat_database is flushed by the backends at most once a second
    const pg1 = await dbStats(stats, db.name);
    const problems: string[] = [];
    let delivered = 0;
    let expected = 0;
    for (const [n, s] of subs.entries()) {
      const want = expectedOf.get(s.store)!;
      expected += want.length;
      delivered += s.cursors.length;
      if (s.cursors.length !== want.length || s.cursors.some((q, k) => q !== want[k]))
        problems.push(
          `subscriber ${n} (store ${s.store}): got ${s.cursors.length} of ${want.length}${s.closed ? `, closed ${s.closed}` : ''}${s.error ? `, ${s.error}` : ''}`,
        );
    }
    const lat = subs.flatMap((s) => s.latencies).sort((a, b) => a - b);
    const per = (x: number) => x / Math.max(1, delivered);
    return {
      mode,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      changes: w.changes,
      delivered,
      expected,
      exact: problems.length === 0,
      problems: problems.slice(0, 5),
      cpuUsPerEvent: per(cpu * 1e6),
      natsCpuUsPerEvent: natsCpu === null ? null : per(natsCpu * 1e6),
      pgTuplesPerEvent: per(pg1.tuples - w.pg0.tuples),
      pgStatementsPerEvent: per(pg1.xacts - w.pg0.xacts),
    };
  } finally {
    await c.end();
  }
}

/** Runs each mode of `o` on a fresh database; the acceptance shape is 4 gateways × 5,000 subscribers. */
export async function fanoutOverGateways(o: Opts, adminUrl: string): Promise<Result[]> {
  const results: Result[] = [];
  for (const mode of o.modes) results.push(await runMode(mode, o, adminUrl));
  return results;
}

/** The acceptance target (issue 19) applies to the full shape only. */
export const isAcceptanceShape = (o: Opts) => o.gateways >= 4 && o.subscribers >= 5000;
export const P99_TARGET_MS = 150;

/** One line per mode. */
export function describeResult(o: Opts, r: Result): string {
  return (
    `${r.mode.padEnd(10)} commit→receipt p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms${isAcceptanceShape(o) ? (r.p99 <= P99_TARGET_MS ? ` (≤ ${P99_TARGET_MS} ms: pass)` : ` (> ${P99_TARGET_MS} ms: FAIL)`) : ''}; ` +
    `${r.changes} changes, delivered ${r.delivered}/${r.expected}, exactly once in order: ${r.exact ? 'yes' : `NO (${r.problems.join('; ')})`}; ` +
    `gateway CPU ${r.cpuUsPerEvent.toFixed(1)} µs/delivered event${r.natsCpuUsPerEvent !== null ? ` (+ nats-server ${r.natsCpuUsPerEvent.toFixed(1)})` : ''}; ` +
    `PostgreSQL ${r.pgTuplesPerEvent.toFixed(2)} tuples read and ${r.pgStatementsPerEvent.toFixed(3)} transactions per delivered event` +
    (r.cores
      ? `; cores busy in the window: gateways ${r.cores.gateways.toFixed(2)}, PostgreSQL ${r.cores.postgres.toFixed(2)}, load generator and subscribers ${r.cores.loadgen.toFixed(2)}`
      : '')
  );
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const adminUrl = process.env.DATABASE_URL ?? DEFAULT_ADMIN_URL;
  const results = await fanoutOverGateways(o, adminUrl);
  const lines = [
    `fan-out over ${o.gateways} gateways: ${o.subscribers} subscribers, ${o.stores} stores, ${o.rate} changes/s for ${o.durationS} s`,
    ...results.map((r) => `  ${describeResult(o, r)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exit(results.every((r) => r.exact) ? 0 : 1);
}

if (require.main === module)
  main().catch((e) => {
    process.stderr.write(`[fanout] ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
