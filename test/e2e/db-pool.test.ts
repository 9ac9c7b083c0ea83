/**
 * The pools' instrumentation (src/db/instrumented-pool.ts) rests on node-postgres' extension
 * points: pg-pool builds its connections from the `Client` option, and its `query()` goes through
 * `connect()`. These tests fail if an upgrade of pg, pg-pool or Prisma's adapter breaks that:
 * statements (pool.query, checked-out clients, Prisma's adapter) are counted for the request that
 * sent them, registered texts run as named prepared statements, the pool wait is observed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db/client';
import { preparedName, preparedStatement, statementScope } from '../../src/db/instrumented-pool';
import { createLogger } from '../../src/log';
import { register } from '../../src/observability/metrics';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { withMigratedDatabase } from '../helpers/pglite-template';

jest.setTimeout(120_000);

let tdb: TestDatabase;
let db: Database;

beforeAll(async () => {
  tdb = await createTestDatabase({ migrated: true });
  // One connection: every second caller waits for it (the embedded database has one anyway).
  const config = loadConfig({ DATABASE_URL: tdb.url, DATA_DIR: 'memory://', LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '1' });
  db = await openDatabase(config, createLogger('silent'));
});

afterAll(async () => {
  await db?.close();
  await tdb?.drop();
});

async function counted(f: () => Promise<unknown>): Promise<number> {
  const scope = { statements: 0 };
  await statementScope.run(scope, f);
  return scope.statements;
}

test('pool.query, a checked-out client and Prisma (plain and in a transaction) are counted, in the database total too', async () => {
  const before = db.statements();
  expect(await counted(() => db.pool.query('SELECT 1'))).toBe(1);
  expect(
    await counted(async () => {
      const c = await db.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT $1::int AS n', [1]);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }),
  ).toBe(3);
  // Prisma's promises are lazy: they run when awaited, inside the scope here.
  expect(await counted(async () => await db.prisma.$queryRaw`SELECT 1 AS n`)).toBe(1);
  // BEGIN, the statement, COMMIT.
  expect(await counted(async () => await db.prisma.$transaction(async (tx) => tx.$queryRaw`SELECT 2 AS n`))).toBeGreaterThanOrEqual(3);
  expect(db.statements() - before).toBeGreaterThanOrEqual(8);
  // Outside any scope: counted in the total only.
  const total = db.statements();
  await db.pool.query('SELECT 1');
  expect(db.statements()).toBe(total + 1);
});

test('a statement that waited for the busy pool is counted for its own request, not for the one that released the connection', async () => {
  const run = (n: number) =>
    counted(async () => {
      for (let i = 0; i < n; i++) await db.pool.query('SELECT pg_sleep(0.005)');
    });
  const counts = await Promise.all([run(3), run(5), run(2), run(4)]);
  expect(counts).toEqual([3, 5, 2, 4]);
});

test('a registered text sent with values runs as a named prepared statement', async () => {
  const text = preparedStatement('db_pool_test_probe', 'SELECT $1::int + 1 AS n');
  const name = preparedName(text);
  expect(name).toMatch(/^db_pool_test_probe/);
  const c = await db.pool.connect();
  try {
    expect((await c.query(text, [41])).rows).toEqual([{ n: 42 }]);
    const r = await c.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE name = $1', [name]);
    expect(r.rows).toEqual([{ name }]);
  } finally {
    c.release();
  }
});

test('the wait for a pooled connection is observed in inventory_db_pool_wait_seconds', async () => {
  const observed = async () => {
    type Value = { metricName?: string; labels: Record<string, string | number>; value: number };
    const metric = (await register.getSingleMetric('inventory_db_pool_wait_seconds')!.get()).values as Value[];
    const count = metric.find((v) => v.metricName === 'inventory_db_pool_wait_seconds_count' && v.labels.pool === 'main');
    const sum = metric.find((v) => v.metricName === 'inventory_db_pool_wait_seconds_sum' && v.labels.pool === 'main');
    return { count: count?.value ?? 0, sum: sum?.value ?? 0 };
  };
  const before = await observed();
  const held = await db.pool.connect();
  const waiting = db.pool.query('SELECT 1');
  await new Promise((r) => setTimeout(r, 50));
  held.release();
  await waiting;
  const after = await observed();
  expect(after.count - before.count).toBe(2);
  // The second connect waited for the release, at least most of the 50 ms.
  expect(after.sum - before.sum).toBeGreaterThanOrEqual(0.04);
});

test('the pool builds its connections from the instrumented client class', async () => {
  const c = await db.pool.connect();
  try {
    expect(c).toBeInstanceOf(pg.Client);
    expect(Object.getPrototypeOf(c).constructor).not.toBe(pg.Client);
  } finally {
    c.release();
  }
});

// Embedded, PGlite answers on this process's own event loop: a connection's handshake waits for
// whatever holds the loop (two test gateways starting side by side, each loading its database, on a
// loaded machine: the migrations' client timed out at 5 s). Every connection to it, not only the
// pool's, gets at least a minute, whatever DATABASE_CONNECT_TIMEOUT_MS says.
(usingPostgres ? test.skip : test)(
  'embedded, a connection made while the event loop is held connects (no connect timeout shorter than a minute)',
  async () => {
    const config = loadConfig({
      DATA_DIR: 'memory://',
      LOG_LEVEL: 'silent',
      INVENTORY_TUNING: JSON.stringify({ DATABASE_CONNECT_TIMEOUT_MS: 100 }),
    });
    const embedded = await openDatabase(config, createLogger('silent'));
    try {
      expect(embedded.kind).toBe('pglite');
      expect(embedded.connection.connectionTimeoutMillis).toBeGreaterThanOrEqual(60_000);
      const c = new pg.Client(embedded.connection);
      const connecting = c.connect();
      // Hold the loop three times as long as the configured timeout (its timer would fire first).
      const until = Date.now() + 300;
      while (Date.now() < until);
      await connecting;
      try {
        expect((await c.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await c.end();
      }
    } finally {
      await embedded.close();
    }
  },
);

// PGlite's default pool of 128 MB is zeroed at every start (~0.4 s of CPU in WebAssembly) and stays
// resident; the embedded database, in memory or on disk, runs with 32 MB (README, DATA_DIR).
(usingPostgres ? test.skip : test)('embedded, the database runs with a 32 MB buffer pool, in memory and on disk', async () => {
  const onDisk = await withMigratedDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'gw-pool-')));
  try {
    for (const dataDir of ['memory://', onDisk]) {
      const embedded = await openDatabase(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), createLogger('silent'));
      try {
        const r = await embedded.pool.query<{ shared_buffers: string }>('SHOW shared_buffers');
        expect([dataDir, r.rows[0].shared_buffers]).toEqual([dataDir, '32MB']);
      } finally {
        await embedded.close();
      }
    }
  } finally {
    fs.rmSync(onDisk, { recursive: true, force: true });
  }
});
