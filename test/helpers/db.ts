/**
 * A fresh database per test file: a new database on the PostgreSQL server of DATABASE_URL, or
 * (DATABASE_URL unset) an in-memory embedded PGlite owned by the gateway under test.
 *
 * `{ migrated: true }` (test servers): a copy of a template database that has every migration of
 * prisma/migrations applied, made once per set of migrations (its name carries a hash of their
 * names and checksums) — CREATE DATABASE … TEMPLATE instead of applying the migrations again for
 * every test file (~1.4 s each here). The gateway still checks them at start, as on any database.
 * Without it the database is empty (the migration tests).
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { localMigrations, migrate } from '../../src/db/migrate';

export const usingPostgres = !!process.env.DATABASE_URL;

export interface TestDatabase {
  /** undefined → embedded PGlite */
  url: string | undefined;
  drop(): Promise<void>;
}

const urlOf = (base: string, name: string) => {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
};

/** A hash of prisma/migrations (names and checksums) and `salt`: what names a migrated template. */
export function migrationsHash(salt = ''): string {
  const hash = crypto.createHash('sha256').update(salt);
  for (const m of localMigrations()) hash.update(`${m.name}:${m.checksum};`);
  return hash.digest('hex').slice(0, 16);
}

/** Any number of workers and runs on one server: built under an advisory lock, once. */
async function migratedTemplate(admin: pg.Client, base: string): Promise<string> {
  const name = `inv_template_${migrationsHash()}`;
  const exists = async () => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  if (await exists()) return name;
  await admin.query(`SELECT pg_advisory_lock(hashtext('inventory test template'))`);
  try {
    if (await exists()) return name;
    // Built under another name and renamed when complete: a crash midway leaves no half template.
    const building = `${name}_${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS ${building}`);
    await admin.query(`CREATE DATABASE ${building}`);
    await migrate({ connectionString: urlOf(base, building) });
    await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    return name;
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(hashtext('inventory test template'))`);
  }
}

export async function createTestDatabase(o: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => undefined };
  const name = `inv_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const template = o.migrated ? await migratedTemplate(admin, base) : null;
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return {
    url: urlOf(base, name),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
  };
}
