/** `npm run migrate`: applies pending migrations to the configured database and lists them. */
import { configOrExit, fail } from './common';
import { openDatabase } from '../db/client';
import { migrate } from '../db/migrate';
import { createLogger } from '../log';

async function main() {
  const config = configOrExit();
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config, log);
  try {
    const applied = await migrate(db.connection, log);
    process.stdout.write(applied.length ? `Applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}\n`).join('')}` : 'Database is up to date.\n');
  } finally {
    await db.close();
  }
}

main().catch(fail);
