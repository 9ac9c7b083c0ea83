/**
 * Applies prisma/migrations/<ts>_<name>/migration.sql in order, each in its own transaction,
 * recording them in a `_prisma_migrations` table compatible with Prisma's (same columns, SHA-256
 * checksums, same advisory lock key), so `prisma migrate deploy` keeps working where the native
 * engine exists. A migration edited after it was applied is an error naming it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrationsDir } from '../paths';
import type { Logger } from '../log';
import { isTransientDbError } from './errors';

/** Prisma Migrate's advisory lock key: also excludes a concurrent `prisma migrate deploy`. */
const MIGRATE_LOCK_KEY = 72707369;

export class MigrationError extends Error {
  constructor(
    message: string,
    public readonly migration?: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface LocalMigration {
  name: string;
  sql: string;
  checksum: string;
}

export function localMigrations(dir = migrationsDir): LocalMigration[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

async function appliedRows(client: pg.ClientBase): Promise<AppliedRow[]> {
  const exists = await client.query(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return [];
  const r = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  return r.rows;
}

function check(local: LocalMigration[], applied: AppliedRow[]): { pending: LocalMigration[] } {
  const byName = new Map(applied.map((a) => [a.migration_name, a]));
  for (const a of applied) {
    if (!a.finished_at) {
      throw new MigrationError(`Migration ${a.migration_name} started but did not finish; resolve it before starting`, a.migration_name);
    }
  }
  for (const m of local) {
    const a = byName.get(m.name);
    if (a && a.checksum !== m.checksum) {
      throw new MigrationError(`Migration ${m.name} was modified after it was applied (checksum mismatch)`, m.name);
    }
  }
  return { pending: local.filter((m) => !byName.has(m.name)) };
}

/**
 * Calls in this process run one at a time. The advisory lock excludes other processes on
 * PostgreSQL, but embedded PGlite multiplexes every connection onto one backend session, where an
 * advisory lock is re-entrant and so excludes nothing.
 */
let inProcess: Promise<unknown> = Promise.resolve();

/** Applies every pending migration. Safe to call from several processes (and callers) at once. */
export function migrate(connection: pg.ClientConfig, log?: Logger, dir = migrationsDir): Promise<string[]> {
  const run = inProcess.then(() => migrateLocked(connection, log, dir));
  inProcess = run.catch(() => undefined);
  return run;
}

async function migrateLocked(connection: pg.ClientConfig, log: Logger | undefined, dir: string): Promise<string[]> {
  const client = new pg.Client(connection);
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const { pending } = check(localMigrations(dir), await appliedRows(client));
      for (const m of pending) {
        await client.query('BEGIN');
        try {
          const id = crypto.randomUUID();
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
            [id, m.checksum, m.name],
          );
          await client.query(m.sql);
          await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (isTransientDbError(e)) throw e;
          throw new MigrationError(`Migration ${m.name} failed: ${(e as Error).message}`, m.name);
        }
        applied.push(m.name);
        log?.info('migration applied', { migration: m.name });
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return applied;
}

/** Names of local migrations not yet applied (for /readyz). Throws on a checksum mismatch. */
export async function pendingMigrations(client: pg.ClientBase | pg.Pool, dir = migrationsDir): Promise<string[]> {
  const c = client as pg.ClientBase;
  return check(localMigrations(dir), await appliedRows(c)).pending.map((m) => m.name);
}
