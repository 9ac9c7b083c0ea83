/**
 * The group-committed common case of inventoryAdjust: a valid request whose address names an
 * existing level of a writable warehouse by id, or by variant (id or sku) and warehouse (id or
 * code), on a level without due reservation lines. Concurrent such requests share ONE statement,
 * the stock writer's adjustLevels() (src/db/batcher.ts gathers them): it locks their levels in id
 * order and applies them in arrival order, each with its own guard, and answers each applied or
 * refused request exactly as the general path would have. A request it does not serve wrote
 * nothing: the general path (InventoryService.adjust's transaction) then runs and answers exactly
 * as it always has.
 *
 * With an idempotency key, a request is served only when its key is free (ADJUST_BATCH_SQL's
 * `claim`: no stored response, nobody holding it, the first request of the batch with it), and its
 * answer is recorded under the key in the batch's transaction, as the general path records it. A
 * replay, a reused key or a key in progress is the general path's, which answers it as before.
 *
 * Like the reservation batch, these statements run on the dedicated pg connections of
 * Database.batchPool (generic plans): one autocommit statement each, or, for a batch carrying
 * keys, the statement and the keys' answers in one short transaction.
 */
import type { App } from '../../app';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { currentTraceparent } from '../../observability/tracing';
import { LIMITS, validateText } from '../../validation';
import {
  adjustLevels,
  batcherFor,
  requestHash,
  runBatchStatement,
  type AdjustRequest,
  type BatchKind,
  type ChangeResult,
  type LevelAddress,
  type MovementReason,
} from '../stock';
import { levelResult, type LevelResult } from './inventory.rules';

export interface AdjustInput extends LevelAddress {
  delta: number;
  reason: MovementReason;
  note?: string | null;
  idempotencyKey?: string | null;
}

/** The operation name idempotency keys of inventoryAdjust are recorded under (a key used for another operation is IDEMPOTENCY_KEY_REUSED). */
export const ADJUST_OPERATION = 'inventoryAdjust';

/** The group-committed adjustment statement, for the stock core's batch runner. */
const ADJUST_BATCH: BatchKind<AdjustRequest, ChangeResult> = {
  name: 'adjust',
  what: 'adjustment',
  statement: adjustLevels,
  wrote: (r) => r.movementId != null,
  maxInFlight: (app) => app.config.adjustBatchInFlight,
};

/** One batch's statement (see runBatchStatement in the stock core); exported for the equivalence test. */
export const runAdjustBatch = (app: App, items: readonly AdjustRequest[]) => runBatchStatement(app, ADJUST_BATCH, items);

/**
 * The writer's request for a valid `input` that the batch can serve, or null (a key the general
 * path refuses, or an address the general path must answer: both or neither form, an id that does
 * not decode). `ttlSeconds`: how long a key's response is kept.
 */
export function adjustRequest(auth: AuthInfo, input: AdjustInput, ttlSeconds: number): AdjustRequest | null {
  const key = input.idempotencyKey;
  if (key != null && validateText(key, ['input', 'idempotencyKey'], { max: LIMITS.idempotencyKey }).length) return null;
  const common = {
    storeId: auth.storeId,
    delta: input.delta,
    reason: input.reason,
    note: input.note ?? null,
    actor: auth.actor,
    // Its events carry the request's trace, as those of a transaction do (src/db/tx.ts).
    traceparent: currentTraceparent(),
    idempotency:
      key == null
        ? null
        : {
            key,
            operation: ADJUST_OPERATION,
            requestHash: requestHash(ADJUST_OPERATION, input),
            ttlSeconds,
            // What the general path stores: its answer without the flags.
            response: (r: ChangeResult) => {
              const { rollback: _r, replayed: _p, ...stored } = adjustAnswer(r, input, auth);
              return stored;
            },
          },
  };
  const { inventoryLevelId, variantId, sku, warehouseId, warehouseCode } = input;
  if (inventoryLevelId != null) {
    if (variantId != null || sku != null || warehouseId != null || warehouseCode != null) return null;
    const levelId = decodeId(inventoryLevelId, 'InventoryLevel');
    if (!levelId) return null;
    return { ...common, levelId, variantId: null, sku: null, warehouseId: null, warehouseCode: null };
  }
  if ((variantId == null) === (sku == null) || (warehouseId == null) === (warehouseCode == null)) return null;
  const v = variantId != null ? decodeId(variantId, 'Variant') : null;
  const w = warehouseId != null ? decodeId(warehouseId, 'Warehouse') : null;
  if ((variantId != null && !v) || (warehouseId != null && !w)) return null;
  return { ...common, levelId: null, variantId: v, sku: v ? null : sku!, warehouseId: w, warehouseCode: w ? null : warehouseCode! };
}

/** A served request's answer, as the general path gives it (same userErrors, same level row). */
export function adjustAnswer(r: ChangeResult, input: AdjustInput, auth: AuthInfo): LevelResult {
  const answer = levelResult(
    r,
    {
      storeId: auth.storeId,
      levelId: r.level.id,
      mode: 'delta',
      onHandDelta: input.delta,
      requireAvailable: input.delta < 0,
      reason: input.reason,
    },
    ['input'],
  );
  // With a key, the general path answers with the work kept (its response is recorded): no rollback.
  return input.idempotencyKey != null ? { ...answer, rollback: false } : answer;
}

/** Adjusts `input` (already validated) in a shared batch when it is the common case; null when it is not, or was not served. */
export async function adjustBatched(app: App, auth: AuthInfo, input: AdjustInput): Promise<LevelResult | null> {
  const req = adjustRequest(auth, input, app.config.idempotencyTtlSeconds);
  if (!req) return null;
  const r = await batcherFor(app, ADJUST_BATCH).add(req);
  return r ? adjustAnswer(r, input, auth) : null;
}
