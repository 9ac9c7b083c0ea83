/**
 * The benchmark's own database: a fresh `inv_bench_<ts>` on the PostgreSQL server of DATABASE_URL
 * (default postgresql://postgres@127.0.0.1:5432/postgres), migrated and keyed through the real CLI,
 * seeded with plain SQL (ledger included, so onHand = Σ movements holds), dropped at the end.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
/** The repository root (the nearest directory above this file with a package.json), whether run from dist/ or not. */
export const ROOT = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on the server of `adminUrl`, named `<prefix>_<ms>_<pid>`. */
export async function createBenchDatabase(adminUrl: string, prefix = 'inv_bench'): Promise<BenchDatabase> {
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs one of the gateway's CLIs (dist/src/cli/<name>.js) and returns its stdout. */
export function runCli(name: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'dist', 'src', 'cli', `${name}.js`), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${name} ${args.join(' ')} failed: ${stderr || err.message}`)) : resolve(stdout)),
    );
  });
}

export interface Dataset {
  storeId: string;
  /** Secret key with the admin scope (the gateway's rate limiter sees one key, as one integration would). */
  key: string;
  warehouseCode: string;
  warehouseId: string;
  hot: { levelId: string; sku: string };
  /** The spread levels, index i ↔ sku `BENCH-<i>`. */
  levels: { id: string; sku: string }[];
}

export const skuOf = (i: number) => `BENCH-${String(i).padStart(5, '0')}`;

/**
 * Creates the store and an admin key with the real CLI (which also applies the migrations), then
 * `levelCount` single-variant products stocked in one warehouse, plus one hot SKU.
 */
export async function seed(url: string, levelCount: number): Promise<Dataset> {
  const env = { DATABASE_URL: url, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
  const key = (await runCli('keys', ['create', '--store', 'bench', '--create-store', '--scopes', 'admin', '--name', 'bench'], env)).trim();
  if (!/^sk_/.test(key)) throw new Error(`unexpected key output: ${key}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const [{ id: storeId }] = (await c.query(`SELECT id FROM stores WHERE code = 'bench'`)).rows;
    await c.query('BEGIN');
    const [{ id: warehouseId }] = (
      await c.query(`INSERT INTO warehouses (store_id, code, name, priority) VALUES ($1, 'W1', 'Bench warehouse', 0) RETURNING id`, [
        storeId,
      ])
    ).rows;
    // Products and variants: BENCH-00000 … and HOT-1.
    await c.query(
      `WITH n AS (SELECT i, CASE WHEN i < $2 THEN 'BENCH-' || lpad(i::text, 5, '0') ELSE 'HOT-1' END AS sku FROM generate_series(0, $2) i),
            p AS (INSERT INTO products (store_id, external_id, name)
                  SELECT $1, 'EXT-' || sku, 'Product ' || sku FROM n RETURNING id, external_id)
       INSERT INTO variants (store_id, product_id, sku, label, is_default)
       SELECT $1, p.id, substr(p.external_id, 5), 'Default', true FROM p`,
      [storeId, levelCount],
    );
    await c.query(
      `INSERT INTO inventory_levels (store_id, variant_id, warehouse_id, on_hand)
       SELECT $1, v.id, $2, CASE WHEN v.sku = 'HOT-1' THEN 2000000000 ELSE 1000000 END FROM variants v WHERE v.store_id = $1`,
      [storeId, warehouseId],
    );
    await c.query(
      `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
                                    reserved_before, reserved_after, note, actor)
       SELECT store_id, id, 'RECEIVED', on_hand, 0, 0, on_hand, 0, 0, 'bench seed', 'bench' FROM inventory_levels WHERE store_id = $1`,
      [storeId],
    );
    await c.query('COMMIT');
    // Statistics for the seeded tables only. ANALYZE of a still-empty table (reservations,
    // reservation_lines, outbox_events) records "0 rows": a connection that then plans a foreign-key
    // check (reservation_lines → reservations) caches a sequential-scan plan for it and keeps it
    // while the table grows, until autovacuum's next ANALYZE of that table. Never analyzed, the
    // planner assumes a non-empty table and uses the primary key (as on a real fresh deployment).
    await c.query('ANALYZE stores, warehouses, products, variants, inventory_levels, stock_movements');
    const rows = (
      await c.query<{ id: string; sku: string }>(
        `SELECT l.id, v.sku FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE l.store_id = $1 ORDER BY v.sku`,
        [storeId],
      )
    ).rows;
    const hot = rows.find((r) => r.sku === 'HOT-1')!;
    return {
      storeId,
      key,
      warehouseCode: 'W1',
      warehouseId,
      hot: { levelId: hot.id, sku: hot.sku },
      levels: rows.filter((r) => r.sku !== 'HOT-1'),
    };
  } finally {
    await c.end();
  }
}

export async function serverVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ v: string; s: string; f: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS s, current_setting('max_connections') AS f`,
    );
    return `PostgreSQL ${r.rows[0].v} (synchronous_commit=${r.rows[0].s}, max_connections=${r.rows[0].f})`;
  } finally {
    await c.end();
  }
}

/**
 * The keyed baselines' first step (bench/scenarios/reserve.ts and adjust.ts): the CTE `k` that
 * inserts the request's key row (store `$store`, key `$key`), empty when the key was taken.
 */
export const keyRowCte = (store: string, key: string) => `k AS (
  INSERT INTO idempotency_keys (store_id, key, operation, request_hash, response, created_at, expires_at)
  VALUES (${store}, ${key}, 'bench', 'bench', '{}', now(), now() + interval '1 day')
  ON CONFLICT DO NOTHING
  RETURNING key
)`;
