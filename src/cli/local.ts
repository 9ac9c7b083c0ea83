/** Runs a command in this process, on a database it opens itself (closed when the command ends). */
import 'reflect-metadata';
import { type Config } from '../config';
import { openDatabase, type Database } from '../db/client';
import { migrate } from '../db/migrate';
import { notifyHubsAfterCommit, type CommitWaker } from '../events/wake';
import { createLogger } from '../log';
import type { App } from '../app';
import type { CliIO, Command } from '../commands/io';

export async function runHere(config: Config, command: Command, argv: string[], io: CliIO): Promise<number> {
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  let db: Database | undefined;
  let app: App | undefined;
  let applied: string[] = [];
  let waker: CommitWaker | undefined;
  try {
    return await command({
      argv,
      io,
      migrated: () => applied,
      app: async () => {
        if (!app) {
          db = await openDatabase(config, log);
          applied = await migrate(db.connection, log);
          // No event hub here: the gateways' hubs are woken after each commit (src/events/wake.ts).
          waker = notifyHubsAfterCommit(db.pool, log);
          app = { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries, afterCommit: waker.afterCommit } };
        }
        return app;
      },
    });
  } finally {
    await waker?.settle();
    await db?.close();
  }
}
