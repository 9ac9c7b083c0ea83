/**
 * Dry runs through the real bulk path: an App whose transactions end in ROLLBACK.
 *
 * Every statement of the bulk path runs (validation, lookups, level creation, the stock writer's
 * rule checks, idempotency replay detection), so a dry run reports what a real run of the same
 * batch would report right now; the COMMIT that would make it stick becomes a ROLLBACK. Nothing
 * is written: no levels, ledger rows, outbox events, notifications or idempotency keys.
 *
 * The transaction runner (db/tx.ts) only uses pool.connect(), client.query() and client.release().
 */
import type pg from 'pg';
import type { App } from '../../app';

type Query = (sql: unknown, params?: unknown[]) => Promise<pg.QueryResult>;

/** A pool whose transactions end in ROLLBACK instead of COMMIT. */
export function rollbackOnlyPool(pool: pg.Pool): pg.Pool {
  return {
    async connect() {
      const client = await pool.connect();
      const query = client.query.bind(client) as Query;
      return {
        query: (sql: unknown, params?: unknown[]) => query(sql === 'COMMIT' ? 'ROLLBACK' : sql, params),
        release: (err?: boolean | Error) => client.release(err),
      };
    },
  } as unknown as pg.Pool;
}

/** The app the import runs the bulk path with: as it is, or never committing for a dry run. */
export function importApp(app: App, opts: { dryRun: boolean }): App {
  if (!opts.dryRun) return app;
  return { ...app, tx: { ...app.tx, pool: rollbackOnlyPool(app.tx.pool), afterCommit: undefined } };
}
