/**
 * `npm run bench` — every scenario against PostgreSQL on this machine, each with a baseline
 * measured in the same run; prints a table and writes bench/RESULTS.md.
 *
 *   npm run bench                      full run: 3 runs per figure, ~20–25 minutes on 2 cores
 *   npm run bench -- --quick           seconds: tiny windows, 1 run, small data, write scenarios at 1 and 16
 *                                      clients (smoke test; 64 baseline connections can exceed a shared server's max_connections)
 *   npm run bench -- --otel            tracing overhead: gateways with and without OpenTelemetry (bench/otel.ts)
 *   npm run bench -- --sustained 600   10 minutes of mixed reservations and adjustments, nothing vacuuming;
 *                                      throughput, HOT updates and dead tuples per window (--window S,
 *                                      default 60; --clients N, default 16); writes bench/SUSTAINED.md
 *
 * Options: --runs N  --duration S  --warmup S  --only hot,keyed,spread,read,bulk,adjust,updated,fanout,gateways,history
 *          --concurrency 1,16 (clients of the write scenarios; default 1,16,64 (--quick: 1,16): a server with
 *          max_connections 100 shared with other databases may refuse the 64-connection baselines)
 *          --levels N  --ledger N (history: ledger rows, default 10,000,000, --quick 100,000)  --subscribers N  --pool N (gateway DATABASE_POOL_SIZE)  --no-profile
 *          --out FILE (default bench/RESULTS.md; with --quick dist/bench/RESULTS.quick.md)  --keep-db
 *          --gateway PATH/main.js (another build of the gateway, e.g. an older commit, for comparisons)
 *          --node-options="…" (more flags for the gateway's node process, after those of `npm start`:
 *          package.json "config".nodeOptions)
 *          --development (the measured gateway with NODE_ENV=development, which reports x-sql-statements
 *          on every answer and pays for counting them; default: NODE_ENV=production, as deployed, with
 *          each statement count probed on a short-lived development gateway: lib/context.ts)
 *
 * DATABASE_URL names the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres);
 * a fresh database inv_bench_<ts> is created on it and dropped at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as nodeParseArgs } from 'node:util';
import pg from 'pg';
import autocannonPackage from 'autocannon/package.json';
import { authHeaders, type BenchContext, type Options } from './lib/context';
import { createBenchDatabase, DEFAULT_ADMIN_URL, ROOT, seed, serverVersion, type BenchDatabase } from './lib/db';
import { httpLoad } from './lib/load';
import { summarise, summaryMarkdown } from './lib/profile';
import { startBareServer, startGateway, type Server } from './lib/proc';
import { NODE_FLAGS } from '../test/helpers/process';
import { consoleTable, existingNotes, markdown, type ExtraFigure, type Row } from './lib/report';
import { rssMb, sleep } from './lib/util';
import { bulk } from './scenarios/bulk';
import { fanout } from './scenarios/fanout';
import { gateways } from './scenarios/gateways';
import { READ_BODY, readQuery } from './scenarios/read';
import { hotKeyed, hotSku, reserveBody, spreadSkus } from './scenarios/reserve';
import { hotAdjust, spreadAdjust, spreadAdjustKeyed } from './scenarios/adjust';
import { updatedReads } from './scenarios/updated';
import { history } from './scenarios/history';
import { MIX, sustained, sustainedMarkdown } from './scenarios/sustained';
import { deltas, fmtRatio, settled, type Snapshot } from './lib/tables';
import type { ScenarioTables } from './lib/report';

const SCENARIOS = ['read', 'hot', 'keyed', 'spread', 'bulk', 'adjust', 'updated', 'fanout', 'gateways', 'history'] as const;

/**
 * `--name value`, `--name=value` or a bare `--name` (true: the next argument starts with `--` or
 * there is none), tokenized by node:util parseArgs.
 */
function benchFlags(argv: string[], known: readonly string[]): Map<string, string | true> {
  const options = Object.fromEntries(known.map((k) => [k, { type: 'boolean' as const }]));
  const { tokens } = nodeParseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string | true>();
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    if (tok.kind !== 'option') throw new Error(`unexpected argument "${argv[tok.index]}"`);
    const next = tokens[t + 1];
    if (tok.value !== undefined) flags.set(tok.name, tok.value);
    else if (next?.kind === 'positional' && next.index === tok.index + 1) {
      flags.set(tok.name, next.value);
      t++;
    } else flags.set(tok.name, true);
  }
  return flags;
}

export function parseArgs(argv: string[]): Options {
  const known = [
    'quick',
    'runs',
    'duration',
    'warmup',
    'only',
    'levels',
    'ledger',
    'subscribers',
    'pool',
    'no-profile',
    'profile-seconds',
    'out',
    'keep-db',
    'gateway',
    'node-options',
    'development',
    'sustained',
    'window',
    'clients',
    'concurrency',
    'help',
  ];
  const flags = benchFlags(argv, known);
  for (const k of flags.keys())
    if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.map((x) => `--${x}`).join(' ')})`);
  if (flags.has('help')) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
    process.exit(0);
  }
  const num = (k: string, def: number) => {
    const v = flags.get(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number`);
    return n;
  };
  const quick = flags.has('quick');
  const sustainedS = flags.has('sustained') ? num('sustained', 600) : null;
  const only = typeof flags.get('only') === 'string' ? new Set((flags.get('only') as string).split(',').map((s) => s.trim())) : null;
  for (const s of only ?? [])
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`);
  return {
    quick,
    runs: num('runs', quick ? 1 : 3),
    durationS: num('duration', quick ? 0.4 : 5),
    warmupS: num('warmup', quick ? 0.4 : 2),
    writeConcurrency:
      typeof flags.get('concurrency') === 'string'
        ? (flags.get('concurrency') as string).split(',').map((x) => {
            const n = Number(x);
            if (!Number.isInteger(n) || n <= 0) throw new Error('--concurrency: a comma-separated list of positive integers');
            return n;
          })
        : quick
          ? [1, 16]
          : [1, 16, 64],
    readConcurrency: [16, 64],
    levels: num('levels', quick ? 600 : 10_000),
    ledgerRows: num('ledger', quick ? 100_000 : 10_000_000),
    subscribers: num('subscribers', quick ? 20 : 1000),
    fanoutIntervalMs: 10,
    fanoutS: quick ? 0.5 : 2,
    bulkItems: 500,
    profile: !quick && !flags.has('no-profile'),
    profileS: num('profile-seconds', 8),
    only,
    out:
      typeof flags.get('out') === 'string'
        ? path.resolve(flags.get('out') as string)
        : path.join(
            ROOT,
            sustainedS
              ? quick
                ? 'dist/bench/SUSTAINED.quick.md'
                : 'bench/SUSTAINED.md'
              : quick
                ? 'dist/bench/RESULTS.quick.md'
                : 'bench/RESULTS.md',
          ),
    sustainedS,
    windowS: num('window', quick ? 1 : 60),
    clients: num('clients', 16),
    poolSize: flags.has('pool') ? num('pool', 10) : null,
    keepDb: flags.has('keep-db'),
    gatewayMain: typeof flags.get('gateway') === 'string' ? path.resolve(flags.get('gateway') as string) : null,
    nodeOptions: typeof flags.get('node-options') === 'string' ? (flags.get('node-options') as string).split(/\s+/).filter(Boolean) : [],
    production: !flags.has('development'),
  };
}

/** The measured gateway's environment beyond startGateway's defaults (development). */
function gatewayEnv(o: { production: boolean }): Record<string, string> | undefined {
  return o.production ? { NODE_ENV: 'production' } : undefined;
}

function machine(pgVersion: string): string[] {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  return [
    `CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} cores; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} (${os.arch()})`,
    `Node.js ${process.version}; ${pgVersion}`,
    `Load average at start (1, 5, 15 min): ${load}`,
  ];
}

/** One more gateway, under `node --cpu-prof`, loaded with scenario 1 at 16 clients. */
async function profileHot(ctx: BenchContext, dbUrl: string): Promise<string> {
  const dir = path.join(ROOT, 'dist', 'bench', 'profiles', String(Date.now()));
  fs.mkdirSync(dir, { recursive: true });
  const gw = await startGateway({
    databaseUrl: dbUrl,
    poolSize: ctx.opts.poolSize ?? undefined,
    main: ctx.opts.gatewayMain ?? undefined,
    nodeArgs: [...ctx.opts.nodeOptions, '--cpu-prof', '--cpu-prof-dir', dir],
    extraEnv: gatewayEnv(ctx.opts),
  });
  cleanup.servers.add(gw);
  try {
    const body = reserveBody(ctx.data.hot.sku, ctx.data.warehouseCode);
    await httpLoad({ url: gw.url, connections: 16, durationS: 2, headers: authHeaders(ctx), body });
    const from = Number(process.hrtime.bigint() / 1000n);
    const r = await httpLoad({ url: gw.url, connections: 16, durationS: ctx.opts.profileS, headers: authHeaders(ctx), body });
    const to = Number(process.hrtime.bigint() / 1000n);
    ctx.log(`profile: ${r.ops.toFixed(0)} ops/s under the profiler`);
    await gw.stop(30_000);
    const file = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(dir, f))[0];
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    const s = summarise(JSON.parse(fs.readFileSync(file, 'utf8')), { fromUs: from, toUs: to });
    return summaryMarkdown(
      s,
      `\`node --cpu-prof dist/src/main.js\`, hot SKU reserve at 16 clients for ${ctx.opts.profileS} s (${r.ops.toFixed(0)} ops/s under the profiler). ` +
        `Profile: \`${path.relative(ROOT, file)}\` (not committed; summarise any profile with \`node dist/bench/lib/profile.js <file>\`).`,
    );
  } finally {
    await gw.stop();
  }
}

/** Children and the database to clean up if the run is interrupted (Ctrl-C, closed pipe). */
const cleanup: { servers: Set<Server>; db: BenchDatabase | null; keepDb: boolean } = { servers: new Set(), db: null, keepDb: false };

async function emergencyCleanup(reason: string): Promise<never> {
  process.stderr.write(
    `bench interrupted (${reason}); stopping servers${cleanup.db && !cleanup.keepDb ? ` and dropping ${cleanup.db.name}` : ''}\n`,
  );
  await Promise.all([...cleanup.servers].map((s) => s.stop(5_000).catch(() => undefined)));
  if (cleanup.db && !cleanup.keepDb) await cleanup.db.drop().catch(() => undefined);
  process.exit(130);
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  // --otel: the tracing overhead, a run of its own (bench/otel.ts).

  if (argv.includes('--otel')) return (require('./otel') as typeof import('./otel')).main(argv.filter((x) => x !== '--otel'));
  const opts = parseArgs(argv);
  cleanup.keepDb = opts.keepDb;
  process.once('SIGINT', () => void emergencyCleanup('SIGINT'));
  process.once('SIGTERM', () => void emergencyCleanup('SIGTERM'));
  // A closed stdout (e.g. piped into `head`) must not kill the run before it cleans up.
  process.stdout.on('error', () => undefined);
  const started = new Date();
  const log = (line: string) =>
    process.stdout.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const adminUrl = process.env.DATABASE_URL || DEFAULT_ADMIN_URL;
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const want = (s: (typeof SCENARIOS)[number]) => !opts.only || opts.only.has(s);
  log(`${command}: PostgreSQL ${adminUrl.replace(/\/\/([^:@/]+):[^@]*@/, '//$1:***@')}`);
  const pgVersion = await serverVersion(adminUrl);
  const machineLines = machine(pgVersion);

  let db: BenchDatabase | null = null;
  let gateway: Server | null = null;
  let bare: Server | null = null;
  const warnings: string[] = [];
  const rows: Row[] = [];
  const extras: ExtraFigure[] = [];
  const tables: ScenarioTables[] = [];
  let profile: string | null = null;
  let counters: pg.Client | null = null;
  try {
    db = await createBenchDatabase(adminUrl);
    cleanup.db = db;
    log(`database ${db.name}: migrating, creating the key, seeding ${opts.levels} levels + 1 hot SKU`);
    const data = await seed(db.url, opts.levels);
    gateway = await startGateway({
      databaseUrl: db.url,
      poolSize: opts.poolSize ?? undefined,
      main: opts.gatewayMain ?? undefined,
      nodeArgs: opts.nodeOptions,
      extraEnv: gatewayEnv(opts),
      // Its Prometheus metrics, for the sustained run's per-window batch outcomes.
      metrics: true,
    });
    cleanup.servers.add(gateway);
    counters = new pg.Client({ connectionString: db.url, application_name: 'bench-counters' });
    await counters.connect();
    const ctx: BenchContext = {
      opts,
      data,
      dbUrl: db.url,
      dbName: db.name,
      pg: counters,
      gateway,
      metricsUrl: `http://127.0.0.1:${gateway.ports.METRICS_PORT}/metrics`,
      bare: null,
      log,
      warnings,
    };
    // Prime: a few requests of each kind (JIT, lazy initialisation, the pool's first connections),
    // then idle RSS with nothing in flight.
    for (const body of [reserveBody(data.hot.sku, data.warehouseCode), READ_BODY, JSON.stringify({ query: '{ __typename }' })]) {
      for (let i = 0; i < 5; i++) {
        const r = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(ctx) }, body });
        const text = await r.text();
        if (r.status !== 200 || text.includes('"errors"')) throw new Error(`priming request failed (${r.status}): ${text.slice(0, 500)}`);
      }
    }
    await sleep(opts.quick ? 200 : 2000);
    const rssIdle = rssMb(gateway.pid);
    log(`gateway pid ${gateway.pid} at ${gateway.url}; RSS idle ${rssIdle.toFixed(0)} MB`);
    const settings = [
      `Data: ${opts.levels.toLocaleString('en-US')} single-variant products stocked in one warehouse, plus one hot SKU (HOT-1); fresh database per run.`,
      `Gateway: \`node ${[...NODE_FLAGS, ...opts.nodeOptions].map((f) => `${f} `).join('')}${opts.gatewayMain ? path.relative(ROOT, opts.gatewayMain) : 'dist/src/main.js'}\` as a child process, ${opts.production ? 'NODE_ENV=production (as deployed; the SQL statement counts come from short-lived development gateways, which report them in x-sql-statements)' : 'NODE_ENV=development (--development: it reports x-sql-statements, and pays for counting them)'}, LOG_LEVEL=warn, ` +
        `DATABASE_POOL_SIZE=${opts.poolSize ?? 'default (10)'}, rate limiting ON with a 10⁹-point bucket (one API key with the admin scope for every client).`,
      `Windows: ${opts.runs} run(s) × ${opts.durationS} s per figure after a ${opts.warmupS} s warm-up per concurrency level (fan-out: per rate); closed loop (each client sends its next request when the previous one answered); ` +
        `HTTP load by autocannon ${autocannonPackage.version} in the bench process, keep-alive connections.`,
      'Latency percentiles are per operation, measured client-side (10 µs resolution).',
    ];

    if (want('read') && !opts.sustainedS) {
      bare = await startBareServer(db.url, opts.poolSize ?? 10);
      cleanup.servers.add(bare);
      ctx.bare = bare;
      log(`bare server pid ${bare.pid} at ${bare.url}`);
      const r = await readQuery(ctx);
      rows.push(...r.rows);
      const counted = r.statementCounts.every((n) => Number.isFinite(n));
      const constant = r.statementCounts.every((n) => n === r.statementCounts[0]);
      extras.push({
        name: 'read: gateway SQL statements per request for first = 1, 10, 50',
        value: counted ? r.statementCounts.join(', ') : '— (no x-sql-statements header)',
        target: 'constant',
        pass: counted && constant,
      });
      extras.push({ name: 'memory: gateway RSS idle', value: `${rssIdle.toFixed(0)} MB`, target: '', pass: null });
      for (const [c, mb] of Object.entries(r.rssPeakMb)) {
        extras.push({
          name: `memory: gateway RSS peak under scenario 3 (read) load, ${c} clients`,
          value: `${mb.toFixed(0)} MB`,
          target: '≤ 250 MB',
          pass: mb <= 250,
        });
      }
      await bare.stop();
      bare = null;
    } else {
      extras.push({ name: 'memory: gateway RSS idle', value: `${rssIdle.toFixed(0)} MB`, target: '', pass: null });
    }
    if (opts.sustainedS) {
      const r = await sustained(ctx, opts.sustainedS, opts.windowS, opts.clients);
      await gateway.stop();
      gateway = null;
      machineLines.push(
        `Load average at end (1, 5, 15 min): ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(', ')}`,
      );
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      const sustainedSettings = [
        settings[0],
        settings[1],
        `Load: ${opts.clients} closed-loop HTTP clients (autocannon), each request drawn from ${JSON.stringify(MIX)} (bench/scenarios/sustained.ts); a 10 s warm-up, then windows of ${opts.windowS} s back to back.`,
      ];
      fs.writeFileSync(
        opts.out,
        sustainedMarkdown(r, { command, startedAt: started, finishedAt: new Date(), machine: machineLines, settings: sustainedSettings }),
      );
      log(
        `last window ${r.lastOps.toFixed(0)} ops/s vs first ${r.firstOps.toFixed(0)} ops/s = ${r.ratio.toFixed(3)}x (target >= 0.9: ${r.pass ? 'met' : 'MISSED'})`,
      );
      for (const t of r.total)
        if (t.updated || t.inserted)
          log(`  ${t.table}: ${t.updated} updated, HOT ratio ${fmtRatio(t.hotRatio)}, ${t.deadAtEnd} dead at end`);
      log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
      return 0;
    }
    // Write scenarios: HOT updates and dead tuples of the hot-path tables, as deltas over each.
    let snap: Snapshot | null = null;
    const withTables = async (scenarioRows: () => Promise<Row[]>, reserveOrAdjust: boolean): Promise<Row[]> => {
      snap ??= await settled(counters!, opts.quick);
      const out = await scenarioRows();
      const after = await settled(counters!, opts.quick);
      const d = deltas(snap, after);
      snap = after;
      const name = out[0]?.scenario ?? '?';
      tables.push({
        scenario: name,
        deltas: d,
        windows: out.map(
          (r) => `@${r.concurrency}: ${Math.round(r.gateway.runs[0])} → ${Math.round(r.gateway.runs[r.gateway.runs.length - 1])} ${r.unit}`,
        ),
      });
      const lv = d.find((t) => t.table === 'inventory_levels')!;
      log(`${name}: inventory_levels ${lv.updated} updates, HOT ratio ${fmtRatio(lv.hotRatio)}, ${lv.deadAtEnd} dead tuples`);
      if (reserveOrAdjust)
        extras.push({
          name: `HOT ratio of inventory_levels updates, ${name}`,
          value: fmtRatio(lv.hotRatio),
          target: '≥ 0.95',
          pass: Number.isFinite(lv.hotRatio) && lv.hotRatio >= 0.95,
        });
      return out;
    };
    if (want('hot')) rows.push(...(await withTables(() => hotSku(ctx), true)));
    if (want('keyed')) rows.push(...(await withTables(() => hotKeyed(ctx), true)));
    if (want('keyed')) rows.push(...(await withTables(() => spreadAdjustKeyed(ctx), true)));
    if (want('spread')) rows.push(...(await withTables(() => spreadSkus(ctx), true)));
    if (want('bulk')) rows.push(...(await withTables(() => bulk(ctx), true)));
    if (want('adjust')) rows.push(...(await withTables(() => hotAdjust(ctx), true)));
    if (want('adjust')) rows.push(...(await withTables(() => spreadAdjust(ctx), true)));
    if (want('updated')) rows.push(...(await updatedReads(ctx)));
    if (want('fanout')) extras.push(...(await fanout(ctx)).extras);
    if (want('gateways')) extras.push(...(await gateways(ctx, adminUrl)));
    // Last: it grows the ledger by --ledger rows.
    if (want('history')) {
      const h = await history(ctx);
      rows.push(...h.rows);
      extras.push(...h.extras);
    }
    extras.push({
      name: 'memory: gateway RSS at the end of the run',
      value: `${rssMb(gateway.pid).toFixed(0)} MB`,
      target: '',
      pass: null,
    });
    await gateway.stop();
    gateway = null;
    if (opts.profile && want('hot') && !opts.sustainedS) {
      try {
        profile = await profileHot(ctx, db.url);
      } catch (e) {
        warnings.push(`profiling failed: ${(e as Error).message}`);
      }
    }
    machineLines.push(
      `Load average at end (1, 5, 15 min): ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')}`,
    );
    const finished = new Date();
    process.stdout.write('\n' + consoleTable(rows, extras) + '\n\n');
    for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    const cpuRows = rows.filter((r) => r.gateway.cpuPerK);
    fs.writeFileSync(
      opts.out,
      markdown(
        {
          command,
          startedAt: started,
          finishedAt: finished,
          machine: machineLines,
          settings,
          rows,
          extras,
          cpuRows,
          profile,
          warnings,
          tables,
        },
        existingNotes(opts.out),
      ),
    );
    log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
    const failedTargets = [...rows.filter((r) => r.pass === false), ...extras.filter((e) => e.pass === false)].length;
    log(failedTargets ? `${failedTargets} target(s) missed (see the table)` : 'all targets met');
    return 0;
  } finally {
    await counters?.end().catch(() => undefined);
    await bare?.stop().catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    if (db && !opts.keepDb) await db.drop().catch((e) => process.stderr.write(`could not drop ${db!.name}: ${(e as Error).message}\n`));
    else if (db) log(`kept database ${db.name}`);
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
