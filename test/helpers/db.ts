/**
 * A fresh database per test file: a new database on the PostgreSQL server of DATABASE_URL, or
 * (DATABASE_URL unset) an in-memory embedded PGlite owned by the gateway under test.
 */
import crypto from 'node:crypto';
import pg from 'pg';

export const usingPostgres = !!process.env.DATABASE_URL;

export interface TestDatabase {
  /** undefined → embedded PGlite */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => undefined };
  const name = `inv_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
  };
}
