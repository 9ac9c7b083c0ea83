/** The migrator against a real database (a fresh PostgreSQL database, or embedded PGlite). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db/client';
import { migrate, MigrationError, pendingMigrations } from '../../src/db/migrate';
import { createLogger } from '../../src/log';
import { migrationsDir } from '../../src/paths';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

jest.setTimeout(120_000);

let tdb: TestDatabase;
let db: Database;
let dir: string;

beforeEach(async () => {
  tdb = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: tdb.url, DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
  db = await openDatabase(config, createLogger('silent'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  fs.cpSync(migrationsDir, dir, { recursive: true });
});

afterEach(async () => {
  await db.close();
  await tdb.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function recorded(): Promise<{ migration_name: string; n: number; finished: boolean }[]> {
  const c = new pg.Client(db.connection);
  await c.connect();
  try {
    const r = await c.query(
      `SELECT migration_name, count(*)::int AS n, bool_and(finished_at IS NOT NULL) AS finished
         FROM _prisma_migrations GROUP BY 1 ORDER BY 1`,
    );
    return r.rows;
  } finally {
    await c.end();
  }
}

function addMigration(name: string, sql: string) {
  fs.mkdirSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
}

test('concurrent migrate() calls apply each migration exactly once, in order', async () => {
  addMigration('29990101000000_add_note', 'ALTER TABLE "stores" ADD COLUMN "note" TEXT;');
  const results = await Promise.all([1, 2, 3, 4].map(() => migrate(db.connection, undefined, dir)));
  const names = fs
    .readdirSync(dir)
    .filter((n) => /^\d+_/.test(n))
    .sort();
  expect(results.flat().sort()).toEqual(names);
  expect(await recorded()).toEqual(names.map((migration_name) => ({ migration_name, n: 1, finished: true })));
  expect(await migrate(db.connection, undefined, dir)).toEqual([]);
  expect(await pendingMigrations(db.pool, dir)).toEqual([]);
});

test('a migration changed after it was applied is an error naming it', async () => {
  await migrate(db.connection, undefined, dir);
  const [first] = fs
    .readdirSync(dir)
    .filter((n) => /^\d+_/.test(n))
    .sort();
  fs.appendFileSync(path.join(dir, first, 'migration.sql'), '\n-- edited\n');
  const err = await migrate(db.connection, undefined, dir).catch((e) => e);
  expect(err).toBeInstanceOf(MigrationError);
  expect(err.migration).toBe(first);
  expect(err.message).toBe(`Migration ${first} was modified after it was applied (checksum mismatch)`);
  await expect(pendingMigrations(db.pool, dir)).rejects.toThrow(first);
});

test('a failing migration rolls back completely, is not recorded, and names itself; earlier ones stay', async () => {
  addMigration('29990101000000_good', 'CREATE TABLE "extra_good" (id int);');
  addMigration('29990102000000_bad', 'CREATE TABLE "extra_half" (id int);\nSELECT * FROM "no_such_table";');
  const err = await migrate(db.connection, undefined, dir).catch((e) => e);
  expect(err).toBeInstanceOf(MigrationError);
  expect(err.migration).toBe('29990102000000_bad');
  expect(err.message).toMatch(/^Migration 29990102000000_bad failed: relation "no_such_table" does not exist/);
  const names = (await recorded()).map((r) => r.migration_name);
  expect(names).toContain('29990101000000_good');
  expect(names).not.toContain('29990102000000_bad');
  const tables = await db.pool.query(`SELECT to_regclass('extra_good') IS NOT NULL AS good, to_regclass('extra_half') IS NOT NULL AS half`);
  expect(tables.rows[0]).toEqual({ good: true, half: false });
  expect(await pendingMigrations(db.pool, dir)).toEqual(['29990102000000_bad']);
});
