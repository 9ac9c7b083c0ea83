/**
 * The benchmark harness runs end to end (`npm run bench -- --quick`: tiny windows, small data,
 * no profile). It only checks that every scenario produced a figure, never the figures: benchmarks
 * do not run in `npm test`.
 *
 * The PostgreSQL server is shared (other test files, other checkouts; max_connections is often 100),
 * so the smoke run uses at most 20 connections: the gateway's pool of 4 (plus its reservation batch
 * connection and the event hub's two), the bare baseline server's pool of 4 (`--pool 4`), write
 * baselines at 1 and 4 raw connections (`--concurrency 1,4`) and the harness's counters connection.
 * The test samples pg_stat_activity of the bench database throughout and asserts the bound.
 *
 * The harness always measures against PostgreSQL: DATABASE_URL's server, or (DATABASE_URL unset)
 * the local one at 127.0.0.1:5432 — skipped with a message when there is none.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');
const ADMIN_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** At most this many connections to the server during the smoke run (the test's sampler included). */
const MAX_CONNECTIONS = 20;
const SMOKE_ARGS = ['--quick', '--subscribers', '10', '--pool', '4', '--concurrency', '1,4'];

/**
 * Runs the harness and samples, every 25 ms until it exits, how many connections its database
 * (inv_bench_…, named in its log) has open. Resolves with the exit code, the output and the peak.
 */
function runSampled(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; peak: number; samples: number }> {
  return new Promise((resolve, reject) => {
    const sampler = new pg.Client({ connectionString: ADMIN_URL, application_name: 'bench-smoke-sampler' });
    let out = '';
    let peak = 0;
    let samples = 0;
    let exited = false;
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'run.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: ADMIN_URL },
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const sample = async () => {
      while (!exited) {
        const name = /database (inv_bench_\d+_\d+)/.exec(out)?.[1];
        if (name) {
          const r = await sampler.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
          peak = Math.max(peak, r.rows[0].n);
          samples++;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const sampling = sampler.connect().then(sample);
    child.once('error', reject);
    child.once('exit', (code) => {
      exited = true;
      clearTimeout(timer);
      sampling.then(
        () => sampler.end().then(() => resolve({ code, out, peak, samples })),
        (e) => {
          sampler.end().catch(() => undefined);
          reject(e);
        },
      );
    });
  });
}

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

test('`npm run bench -- --quick` runs every scenario and writes a results file', async () => {
  if (!(await postgresReachable())) {
    console.warn(`bench smoke test skipped: no PostgreSQL at ${ADMIN_URL} (the benchmark needs one; set DATABASE_URL)`);
    return;
  }
  // `npm test` has built src/ (pretest); the harness is compiled like `npm run bench` does.
  const tsc = await run(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'bench/tsconfig.json'],
    {},
    60_000,
  );
  expect(tsc.out).toBe('');
  expect(tsc.code).toBe(0);

  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-')), 'RESULTS.md');
  try {
    await smoke(out);
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

/** Runs the harness into `out` and checks what it wrote. */
async function smoke(out: string): Promise<void> {
  const r = await runSampled([...SMOKE_ARGS, '--out', out], 180_000);
  if (r.code !== 0) throw new Error(`bench exited with ${r.code}:\n${r.out.slice(-4000)}`);
  expect(r.out).toMatch(/scenario\s+conc\s+gateway/);
  // The bound: the bench database's connections at their peak, plus the sampler's own.
  expect(r.samples).toBeGreaterThan(10);
  expect(r.peak).toBeGreaterThan(0);
  expect(r.peak + 1).toBeLessThanOrEqual(MAX_CONNECTIONS);

  const md = fs.readFileSync(out, 'utf8');
  expect(md).toMatch(/## Machine/);
  expect(md).toMatch(/Node\.js v\d+/);
  expect(md).toMatch(/PostgreSQL \d+/);
  for (const scenario of [
    'hot SKU reserve',
    'hot SKU reserve, keyed',
    'spread reserve',
    'read inventoryLevels(first: 50)',
    'bulk inventoryBulkUpdate',
    'hot SKU adjust',
    'spread adjust',
    'spread adjust, keyed',
    'read UPDATED_AT',
    'HOT ratio of inventory_levels',
    'fan-out',
    'JetStream: commit → receipt p50 / p99',
    'in-process (baseline: each process reads PostgreSQL): commit → receipt p50 / p99',
    'history snapshot',
    'history summary',
    'memory: gateway RSS idle',
  ]) {
    expect(md).toContain(scenario);
  }
  // Every throughput row has a number for the gateway (the harness really drove it).
  const results = md.slice(md.indexOf('## Results'), md.indexOf('Baselines:'));
  const rows = results
    .split('\n')
    .filter((l) =>
      /^\| (hot SKU reserve|spread reserve|read inventoryLevels|bulk inventoryBulkUpdate|hot SKU adjust|spread adjust|read UPDATED_AT|read updatedSince)/.test(
        l,
      ),
    );
  // --quick --concurrency 1,4: the write scenarios at 1 and 4 clients (reserve ×3: hot, hot keyed, spread; adjust ×3: hot,
  // spread, spread keyed), read at 16 and 64 (HTTP clients; the gateway's pool bounds its connections), bulk, the two reads
  // by updated_at.
  expect(rows.length).toBe(2 + 2 + 2 + 2 + 2 + 2 + 1 + 2 + 1 + 1);
  for (const row of rows) expect(row.split('|')[3]).toMatch(/\d/);
}
