/** Shared plumbing for scripts: config, database, migrations, one App (scripts/gen-csv.js). */
import 'reflect-metadata';
import { configOrReport, loadConfig, type Config } from '../config';
import { openDatabase } from '../db/client';
import { migrate } from '../db/migrate';
import { createLogger } from '../log';
import type { App } from '../app';

export function configOrExit(): Config {
  return configOrReport(() => loadConfig()) ?? process.exit(1);
}

/** Opens the configured database, applies pending migrations and runs fn with an App. */
export async function withApp<T>(fn: (app: App) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = configOrExit();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const db = await openDatabase(config, log);
  try {
    if (opts.migrate !== false) await migrate(db.connection, log);
    const app: App = { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries } };
    return await fn(app);
  } finally {
    await db.close();
  }
}
