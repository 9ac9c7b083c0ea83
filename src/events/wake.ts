/**
 * Waking the event hubs after a commit, for a process that has no hub of its own (a command-line
 * tool running a command on its own database connection, src/cli/local.ts).
 *
 * Stock changes do not NOTIFY inside their transactions (src/modules/stock/statements.ts): a
 * notifying transaction holds PostgreSQL's one notify-queue lock through its commit's WAL flush,
 * which serializes every notifying commit of the server. The gateway's own commits wake its hub in
 * process (TxRunner.afterCommit = hub.poke). A process without a hub sends `NOTIFY inventory_outbox`
 * after its commits instead, in a statement of its own that writes nothing (no WAL flush under the
 * lock): coalesced, at most one in flight and one more after it. If it is lost, the hubs' poll
 * (EVENTS_POLL_MS) still finds the events: the outbox stays the source of truth.
 */
import type pg from 'pg';
import type { Logger } from '../log';
import { CoalescedLoop } from '../util/coalesced-loop';

/** The channel every gateway's hub LISTENs on for committed outbox rows of other processes. */
export const OUTBOX_CHANNEL = 'inventory_outbox';

export interface CommitWaker {
  /** For TxRunner.afterCommit. */
  afterCommit(): void;
  /** Sends what is pending (before the pool closes). */
  settle(): Promise<void>;
}

export function notifyHubsAfterCommit(pool: pg.Pool, log: Logger): CommitWaker {
  const loop = new CoalescedLoop(
    async () => {
      await pool.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
    },
    // Never on a timer: only after commits.
    2 ** 31 - 1,
    (e) => log.warn('could not wake the gateways after a commit (they poll)', { err: e.message }),
  );
  return { afterCommit: () => loop.poke(), settle: () => loop.settle() };
}
