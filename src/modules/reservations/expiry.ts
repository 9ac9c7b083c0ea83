/**
 * The sweeper: marks due reservation lines EXPIRED through the stock writer (which writes the
 * EXPIRY ledger rows and events), closes reservations that hold nothing, and purges expired
 * idempotency keys. Reads never wait for it: they already ignore due lines.
 * Safe to run on every instance at once: the writer locks each level and re-checks line status.
 */
import type { App } from '../../app';
import { withConn, withTx } from '../../db/tx';
import { CoalescedLoop } from '../../util/coalesced-loop';
import { applyLevelChange, purgeExpiredKeys } from '../stock';
import { settleHeaders } from './settlement';

/** Levels with due lines ($1: at most this many). Index: reservation_lines_sweep_idx. */
export const DUE_LEVELS_SQL = `SELECT DISTINCT rl.inventory_level_id AS level_id, rl.store_id FROM reservation_lines rl
        WHERE rl.status = 'ACTIVE' AND rl.expires_at <= now() LIMIT $1`;

/** Due active reservations that hold nothing any more ($1: at most this many). Index: reservations_active_due_idx. */
export const SPENT_RESERVATIONS_SQL = `SELECT r.store_id, r.id FROM reservations r WHERE r.status = 'ACTIVE' AND r.expires_at <= now()
          AND NOT EXISTS (SELECT 1 FROM reservation_lines x WHERE x.store_id = r.store_id AND x.reservation_id = r.id AND x.status = 'ACTIVE' AND x.quantity > 0)
        LIMIT $1`;

export async function sweepOnce(app: App, batch = 500): Promise<{ levels: number; reservations: number }> {
  const due = await withConn(app.tx, (tx) => tx.query<{ level_id: string; store_id: string }>(DUE_LEVELS_SQL, [batch]));
  for (const d of due) {
    await withConn(app.tx, (tx) => applyLevelChange(tx, { storeId: d.store_id, levelId: d.level_id, mode: 'touch', reason: 'EXPIRY' }));
  }
  // Closing spent reservations and purging keys queues no event: its commit does not wake the event
  // hub (app.tx.afterCommit), which the expired lines above do, once, below.
  const closed = await withTx({ ...app.tx, afterCommit: undefined }, async (tx) => {
    const ids = await tx.query<{ store_id: string; id: string }>(SPENT_RESERVATIONS_SQL, [batch]);
    if (ids.length)
      await settleHeaders(
        tx,
        ids.map((r) => ({ storeId: r.store_id, id: r.id })),
      );
    await purgeExpiredKeys(tx);
    return ids.length;
  });
  if (due.length) app.events?.poke();
  return { levels: due.length, reservations: closed };
}

/** Sweeps every sweepIntervalMs, one sweep at a time, on every instance. */
export class Sweeper {
  private readonly loop: CoalescedLoop;

  constructor(app: App) {
    this.loop = new CoalescedLoop(
      async () => void (await sweepOnce(app)),
      app.config.sweepIntervalMs,
      (e) => app.log.warn('expiry sweep failed', { err: e.message }),
    );
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
