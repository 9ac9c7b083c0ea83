/** /healthz and /readyz. */
import type http from 'node:http';
import type { GatewayApp } from './gateway-app';
import { pendingMigrations } from '../db/migrate';
import { sendJson } from '../http/json';
import type { Logger } from '../log';

/** What readiness depends on: set while the gateway starts. */
export interface Readiness {
  /** Set once the database is reachable and migrated and the services run. */
  app: GatewayApp | null;
  /** Startup failed for good. */
  fatal: Error | null;
}

/** Ready: the database answers through the pool and has no pending migration. */
export async function readyz(res: http.ServerResponse, state: Readiness, log: Logger): Promise<void> {
  if (state.fatal) return sendJson(res, 503, { status: 'failed' });
  const app = state.app;
  if (!app) return sendJson(res, 503, { status: 'starting', database: 'unreachable or migrating' });
  const pool = app.db.pool;
  try {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('SELECT 1');
      const pending = await pendingMigrations(client);
      if (pending.length) return sendJson(res, 503, { status: 'not ready', pendingMigrations: pending });
    } catch (e) {
      broken = true; // a connection that failed here is destroyed, not returned to the pool
      throw e;
    } finally {
      client.release(broken || undefined);
    }
    return sendJson(res, 200, { status: 'ready', database: app.db.kind });
  } catch (e) {
    // The cause goes to the log, not to whoever asks.
    log.warn('readiness check failed', {
      err: (e as Error).message.slice(0, 200),
      pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    });
    return sendJson(res, 503, { status: 'not ready', database: 'unreachable' });
  }
}
