/**
 * The group-committed common case of inventoryAdjust: a valid request WITHOUT idempotency key (a
 * key's claim, replay and stored response stay the general path's, whose transaction holds them)
 * whose address names an existing level of a writable warehouse by id, or by variant (id or sku)
 * and warehouse (id or code), on a level without due reservation lines. Concurrent such requests
 * share ONE autocommit statement, the stock writer's adjustLevels() (src/db/batcher.ts gathers
 * them): it locks their levels in id order and applies them in arrival order, each with its own
 * guard, and answers each applied or refused request exactly as the general path would have. A
 * request it does not serve wrote nothing: the general path (InventoryService.adjust's
 * transaction) then runs and answers exactly as it always has.
 *
 * Like the reservation batch, these statements run on the dedicated pg connections of
 * Database.batchPool (generic plans), one autocommit statement each.
 */
import type { App } from '../../app';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { currentTraceparent } from '../../observability/tracing';
import {
  adjustLevels,
  batcherFor,
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
 * The writer's request for a valid `input` that the batch can serve, or null (an idempotency key,
 * or an address the general path must answer: both or neither form, an id that does not decode).
 */
export function adjustRequest(auth: AuthInfo, input: AdjustInput): AdjustRequest | null {
  if (input.idempotencyKey != null) return null;
  const common = {
    storeId: auth.storeId,
    delta: input.delta,
    reason: input.reason,
    note: input.note ?? null,
    actor: auth.actor,
    // Its events carry the request's trace, as those of a transaction do (src/db/tx.ts).
    traceparent: currentTraceparent(),
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
  return levelResult(
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
}

/** Adjusts `input` (already validated) in a shared batch when it is the common case; null when it is not, or was not served. */
export async function adjustBatched(app: App, auth: AuthInfo, input: AdjustInput): Promise<LevelResult | null> {
  const req = adjustRequest(auth, input);
  if (!req) return null;
  const r = await batcherFor(app, ADJUST_BATCH).add(req);
  return r ? adjustAnswer(r, input, auth) : null;
}
