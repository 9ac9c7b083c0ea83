#!/usr/bin/env node
/**
 * CSV import benchmark on a fresh PostgreSQL database.
 *
 *   node scripts/csv-bench.js [--rows 100000] [--warehouses 4] [--concurrency N] [--no-adjust]
 *        [--round-trip] [--keep] [--no-build]
 *
 * Uses the server of DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) to
 * create a database csv_bench_<pid>, then:
 *   1. creates store "bench" with its warehouses and variants (scripts/gen-csv.js --setup);
 *   2. imports a generated set file of --rows rows with the real CLI (node dist/src/cli/import.js)
 *      and checks the totals in SQL: one level per row, sum(on_hand), one ledger row per row, and
 *      the ledger adding up to every level's on_hand;
 *   3. imports the same file again (same seed): nothing may be applied twice;
 *   4. imports an adjust file of --rows rows (unless --no-adjust) and checks the new sum;
 *   5. exports the store with the real CLI and checks row count and sum;
 *   6. with --round-trip, imports the export back (mode set): the ledger must not change.
 * Prints a report with rows/s per step; exits 1 if any check fails. Drops the database unless --keep.
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs: nodeParseArgs } = require('node:util');
const ROOT = path.resolve(__dirname, '..');
const pg = require(path.join(ROOT, 'node_modules', 'pg'));

function parseArgs(argv) {
  const flag = { type: 'boolean', default: false };
  let v;
  try {
    ({ values: v } = nodeParseArgs({
      args: argv,
      options: {
        rows: { type: 'string' },
        warehouses: { type: 'string' },
        concurrency: { type: 'string' },
        'no-adjust': flag,
        'round-trip': flag,
        keep: flag,
        'no-build': flag,
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`unknown argument: ${e.message}`, { cause: e });
  }
  return {
    rows: v.rows !== undefined ? Number(v.rows) : 100000,
    warehouses: v.warehouses !== undefined ? Number(v.warehouses) : 4,
    concurrency: v.concurrency !== undefined ? Number(v.concurrency) : null,
    adjust: !v['no-adjust'],
    roundTrip: v['round-trip'],
    keep: v.keep,
    build: !v['no-build'],
  };
}

/** Runs a node script; stderr (progress) goes to ours, stdout is returned. */
function node(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, ms: Date.now() - t0 }));
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const base = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (o.build) {
    const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const name = `csv_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const env = { DATABASE_URL: u.toString(), LOG_LEVEL: 'warn' };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'csv-bench-'));
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  const report = {
    rows: o.rows,
    warehouses: o.warehouses,
    concurrency: o.concurrency ?? 'default',
    postgres: null,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    steps: {},
  };
  const failures = [];
  const check = (what, actual, expected) => {
    const ok = actual === expected;
    process.stderr.write(`  ${ok ? 'ok  ' : 'FAIL'} ${what}: ${actual}${ok ? '' : ` (expected ${expected})`}\n`);
    if (!ok) failures.push(what);
  };
  try {
    const gen = (mode, file, setup) =>
      node(
        [
          path.join('scripts', 'gen-csv.js'),
          '--out',
          file,
          '--rows',
          String(o.rows),
          '--warehouses',
          String(o.warehouses),
          '--mode',
          mode,
          ...(setup ? ['--setup'] : []),
        ],
        env,
      );
    const importFile = async (step, file, extra = []) => {
      process.stderr.write(`\n${step}: npm run import -- ${path.basename(file)} --store bench ${extra.join(' ')}\n`);
      const r = await node(
        [
          'dist/src/cli/import.js',
          file,
          '--store',
          'bench',
          '--json',
          ...(o.concurrency ? ['--concurrency', String(o.concurrency)] : []),
          ...extra,
        ],
        env,
      );
      if (r.code !== 0) throw new Error(`${step}: import exited with ${r.code}: ${r.out}`);
      const s = JSON.parse(r.out);
      report.steps[step] = {
        rows: s.rows,
        applied: s.applied,
        alreadyApplied: s.alreadyApplied,
        failed: s.failed,
        seconds: +(s.elapsedMs / 1000).toFixed(1),
        rowsPerSecond: s.rowsPerSecond,
        processSeconds: +(r.ms / 1000).toFixed(1),
      };
      process.stderr.write(
        `  ${s.rows} rows in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.rowsPerSecond} rows/s (applied ${s.applied}, already applied ${s.alreadyApplied}, failed ${s.failed})\n`,
      );
      return s;
    };
    const totals = async () => {
      const [r] = (
        await db.query(`SELECT (SELECT count(*)::int FROM inventory_levels) AS levels, (SELECT coalesce(sum(on_hand), 0)::int8 AS s FROM inventory_levels) AS sum,
                (SELECT count(*)::int FROM stock_movements) AS ledger,
                (SELECT count(*)::int FROM (SELECT l.id FROM inventory_levels l LEFT JOIN stock_movements m ON m.store_id = l.store_id AND m.inventory_level_id = l.id
                   GROUP BY l.store_id, l.id HAVING l.on_hand <> coalesce(sum(m.quantity_delta), 0)) x) AS ledger_mismatches`)
      ).rows;
      return { levels: r.levels, sum: Number(r.sum), ledger: r.ledger, mismatches: r.ledger_mismatches };
    };

    process.stderr.write(
      `database ${name}; setting up store "bench" (${Math.ceil(o.rows / o.warehouses)} variants × ${o.warehouses} warehouses)…\n`,
    );
    const setFile = path.join(tmp, 'set.csv');
    const g = await gen('set', setFile, true);
    if (g.code !== 0) throw new Error('gen-csv failed');
    const expected = JSON.parse(g.out);
    report.steps.setup = { seconds: +(g.ms / 1000).toFixed(1) };
    await db.connect();
    report.postgres = (await db.query('SHOW server_version')).rows[0].server_version;

    const set = await importFile('import set (new levels)', setFile);
    let t = await totals();
    check('rows applied', set.applied, o.rows);
    check('levels', t.levels, expected.pairs);
    check('sum(on_hand)', t.sum, expected.sum);
    check('ledger rows', t.ledger, o.rows);
    check('levels whose ledger does not add up', t.mismatches, 0);

    const again = await importFile('re-run, same seed', setFile);
    check('rows applied again', again.applied, 0);
    check('rows already applied', again.alreadyApplied, o.rows);
    check('ledger rows after re-run', (await totals()).ledger, o.rows);
    let sum = expected.sum;

    if (o.adjust) {
      const adjFile = path.join(tmp, 'adjust.csv');
      const ga = JSON.parse((await gen('adjust', adjFile, false)).out);
      const adj = await importFile('import adjust (existing levels)', adjFile);
      t = await totals();
      sum += ga.sum;
      check('rows applied', adj.applied, o.rows);
      check('sum(on_hand) after adjust', t.sum, sum);
      check('ledger rows', t.ledger, 2 * o.rows);
      check('levels whose ledger does not add up', t.mismatches, 0);
    }

    const expFile = path.join(tmp, 'export.csv');
    process.stderr.write('\nexport: npm run --silent export -- --store bench > export.csv\n');
    const e = await node(['dist/src/cli/export.js', '--store', 'bench', '--out', expFile], env);
    if (e.code !== 0) throw new Error('export failed');
    const lines = fs.readFileSync(expFile, 'utf8').trimEnd().split('\n');
    const onHandCol = lines[0].split(',').indexOf('onHand');
    report.steps.export = {
      rows: lines.length - 1,
      seconds: +(e.ms / 1000).toFixed(1),
      rowsPerSecond: Math.round(((lines.length - 1) * 1000) / e.ms),
    };
    check('exported rows', lines.length - 1, expected.pairs);
    check(
      'exported sum(onHand)',
      lines.slice(1).reduce((s, l) => s + Number(l.split(',')[onHandCol]), 0),
      sum,
    );

    if (o.roundTrip) {
      const ledger = (await totals()).ledger;
      const rt = await importFile('round trip (export → import set)', expFile);
      check('failed rows', rt.failed, 0);
      check('ledger rows unchanged', (await totals()).ledger, ledger);
      check('sum unchanged', (await totals()).sum, sum);
    }
  } finally {
    await db.end().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!o.keep) {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    } else process.stderr.write(`kept database ${name}\n`);
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  if (failures.length) {
    process.stderr.write(`\n${failures.length} check(s) failed: ${failures.join(', ')}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e.message}\n`);
  process.exit(1);
});
