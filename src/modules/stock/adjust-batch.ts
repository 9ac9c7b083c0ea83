/**
 * Many inventoryAdjust requests in ONE statement (ADJUST_BATCH_SQL, adjust-batch-statement.ts):
 * the group-committed common case of an adjustment. Each request served gets exactly the result
 * applyLevelChange() would have given it, applied one after the other in the order given; a
 * request not served wrote nothing. Without idempotency keys the statement is autocommit; with
 * keys it runs in a transaction that also records the served keys' responses, as
 * runStockOperation() records them.
 */
import type { Tx } from '../../db/tx';
import { observeStockChange } from '../../observability/metrics';
import { ADJUST_BATCH_SQL } from './adjust-batch-statement';
import { keyedBatch, type KeyClaim } from './idempotency';
import type { MovementReason } from './reasons';
import type { ChangeResult } from './types';
import { changeResult, type Row } from './writer';

/** One request of adjustLevels(): `onHand += delta` on a level named by id, or by variant and warehouse. */
export interface AdjustRequest {
  storeId: string;
  /** The level by id, or (levelId null) by variant id or sku and warehouse id or code: exactly one of each. */
  levelId: string | null;
  variantId: string | null;
  sku: string | null;
  warehouseId: string | null;
  warehouseCode: string | null;
  /** Not 0, within ±INT32_MAX (the caller validated it). */
  delta: number;
  reason: MovementReason;
  note: string | null;
  actor: string;
  /** The W3C traceparent of the request (tracing on), for its outbox events; else null. */
  traceparent: string | null;
  /**
   * The request's idempotency key (valid: the caller checked it), what recording its response
   * needs, and the response to record for a served request's result (the caller's answer, as its
   * general path stores it); null without key.
   */
  idempotency: (KeyClaim & { response: (r: ChangeResult) => unknown }) | null;
}

/**
 * Adjusts many levels at once. Per request, in the order given: its result (applied, or refused
 * with the counters it saw: `failure` set), or null when the statement did not serve it (no such
 * level, a read-only warehouse, due reservation lines on the level, a key that is not free): the
 * caller's general path answers those. A batch with keys runs in a transaction that records each
 * served keyed request's response under its key (keyedBatch()), or leaves every request to the
 * general path should a key turn out taken. Errors of the statement reach the caller, for the whole batch (nothing was written). `conn` is
 * a connection of its own.
 */
export async function adjustLevels(conn: Tx, requests: readonly AdjustRequest[]): Promise<(ChangeResult | null)[]> {
  const out = await keyedBatch(
    conn,
    requests,
    () => adjustStatement(conn, requests),
    (r, q) => q.idempotency!.response(r),
  );
  return observed(requests, out);
}

/** Counts the applied changes (after their commit). */
function observed(requests: readonly AdjustRequest[], out: (ChangeResult | null)[]): (ChangeResult | null)[] {
  out.forEach((c, i) => {
    if (c && c.movementId !== null) observeStockChange(requests[i].reason, true, 0);
  });
  return out;
}

async function adjustStatement(conn: Tx, requests: readonly AdjustRequest[]): Promise<(ChangeResult | null)[]> {
  const col = <K extends keyof AdjustRequest>(k: K) => requests.map((r) => r[k]);
  const rows = await conn.query<Row & { served: boolean }>(ADJUST_BATCH_SQL, [
    col('storeId'),
    col('levelId'),
    col('variantId'),
    col('sku'),
    col('warehouseId'),
    col('warehouseCode'),
    col('delta'),
    col('reason'),
    col('note'),
    col('actor'),
    col('traceparent'),
    requests.map((r) => r.idempotency?.key ?? null),
  ]);
  if (rows.length !== requests.length) throw new Error(`adjust batch answered ${rows.length} of ${requests.length} requests`);
  return rows.map((r) => (r.served ? changeResult(r) : null));
}
