/**
 * Dry runs through the real bulk path: an App whose transactions end in ROLLBACK.
 *
 * Every statement of the bulk path runs (validation, lookups, level creation, the stock writer's
 * rule checks, idempotency replay detection), so a dry run reports what a real run of the same
 * batch would report right now; the transaction runner's `rollbackOnly` option then rolls it back
 * instead of committing. Nothing is written: no levels, ledger rows, outbox events, notifications
 * or idempotency keys.
 */
import type { App } from '../../app';

/** The app the import runs the bulk path with: as it is, or never committing for a dry run. */
export function importApp(app: App, opts: { dryRun: boolean }): App {
  if (!opts.dryRun) return app;
  return { ...app, tx: { ...app.tx, rollbackOnly: true, afterCommit: undefined } };
}
