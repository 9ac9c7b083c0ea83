/** `npm run migrate`: applies pending migrations to the configured database and lists them. */
import type { CommandContext } from './io';
import { pendingMigrations } from '../db/migrate';

export async function run({ io, app: open, migrated }: CommandContext): Promise<number> {
  const app = await open();
  const applied = migrated();
  if (applied.length) {
    io.stdout.write(`Applied ${applied.length} migration(s):\n${applied.map((n) => `  ${n}\n`).join('')}`);
    return 0;
  }
  if (io.inGateway) {
    // The gateway applied every migration it knew at start; newer ones come with newer code.
    const client = await app.db.pool.connect();
    try {
      const pending = await pendingMigrations(client);
      if (pending.length) {
        io.stderr.write(
          `${pending.length} migration(s) pending (${pending.join(', ')}): restart the gateway to apply them (it migrates on start).\n`,
        );
        return 1;
      }
    } finally {
      client.release();
    }
  }
  io.stdout.write('Database is up to date.\n');
  return 0;
}
