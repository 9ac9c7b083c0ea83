/**
 * Stock operations on levels: set, adjust, move, settings and bulk. Each runs in one transaction,
 * optionally under an idempotency key, and changes counters only through the stock writer.
 */
import type { App } from '../../app';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import type { AuthInfo } from '../../graphql/scopes';
import {
  lockLevels,
  resolveLevel,
  setManualIncoming,
  stockOperation,
  type LevelAddress,
  type LevelChange,
  policyErrors,
  type InventoryPolicy,
  type LevelRow,
  type MovementReason,
  applyLevelChange,
} from '../stock';
import { ADJUST_OPERATION, adjustBatched, type AdjustInput } from './adjust-batch';
import { bulkInTx, type BulkInput, type BulkResult } from './inventory.bulk';
import { changeLevel, fail, levelResult, noteErrors, quantityErrors, type LevelResult } from './inventory.rules';

export type { BulkInput, BulkItem, BulkItemResult, BulkMode, BulkResult, ErrorPolicy } from './inventory.bulk';
export type { LevelResult } from './inventory.rules';
export type { AdjustInput } from './adjust-batch';

export interface SetInput extends LevelAddress {
  quantity: number;
  compareQuantity?: number | null;
  reason?: MovementReason | null;
  note?: string | null;
  idempotencyKey?: string | null;
}

export interface MoveInput {
  variantId?: string | null;
  sku?: string | null;
  fromWarehouseId?: string | null;
  fromWarehouseCode?: string | null;
  toWarehouseId?: string | null;
  toWarehouseCode?: string | null;
  quantity: number;
  note?: string | null;
  idempotencyKey?: string | null;
}

export interface LevelUpdateInput extends LevelAddress {
  lowStockThreshold?: number | null;
  criticalThreshold?: number | null;
  safetyStock?: number | null;
  incoming?: number | null;
  inventoryPolicy?: InventoryPolicy | null;
  backorderLimit?: number | null;
  inheritInventoryPolicy?: boolean | null;
  allowUncoveredPreorders?: boolean | null;
}

/** The errors of a level's policy override: a policy (with its limit) or inheritInventoryPolicy, not both. */
function levelPolicyErrors(input: LevelUpdateInput): UserErrorShape[] {
  const errors = policyErrors(input.inventoryPolicy, input.backorderLimit, ['input']);
  if (input.inheritInventoryPolicy && input.inventoryPolicy != null)
    errors.push(
      userError(ErrorCode.INVALID_INPUT, 'Give inventoryPolicy or inheritInventoryPolicy, not both', ['input', 'inheritInventoryPolicy']),
    );
  return errors;
}

export class InventoryService {
  constructor(private readonly app: App) {}

  /** Resolves a writable level; read-only warehouses are refused. */
  private async writable(tx: Tx, auth: AuthInfo, a: LevelAddress, create: boolean, path: (string | number)[] = ['input']) {
    const r = await resolveLevel(tx, auth.storeId, a, { create, path });
    if ('errors' in r) return r;
    if (r.level.readOnly)
      return { errors: [userError(ErrorCode.READONLY_WAREHOUSE, 'This warehouse is read-only; its stock is managed externally', path)] };
    return { levelId: r.level.levelId! };
  }

  set(auth: AuthInfo, input: SetInput): Promise<LevelResult> {
    return stockOperation<LevelResult>(this.app, auth, 'inventorySet', input, { inventoryLevel: null }, async (tx) => {
      const errors = [
        ...quantityErrors(input.quantity, ['input', 'quantity'], { allowZero: true }),
        ...(input.compareQuantity != null ? quantityErrors(input.compareQuantity, ['input', 'compareQuantity'], { allowZero: true }) : []),
        ...noteErrors(input.note, ['input', 'note']),
      ];
      if (errors.length) return fail(...errors);
      const lv = await this.writable(tx, auth, input, true);
      if ('errors' in lv) return fail(...lv.errors);
      return changeLevel(tx, {
        storeId: auth.storeId,
        levelId: lv.levelId,
        mode: 'set',
        setOnHand: input.quantity,
        compareOnHand: input.compareQuantity,
        reason: input.reason ?? 'CORRECTION',
        note: input.note,
        actor: auth.actor,
        idempotencyKey: input.idempotencyKey,
      });
    });
  }

  /**
   * `path` 'batch' (the API): a valid request goes through a shared group-committed statement
   * (adjust-batch.ts) when it can serve it, else this transaction;
   * 'tx': always the transaction (the reference test/e2e/adjust-batch.test.ts compares with).
   */
  async adjust(auth: AuthInfo, input: AdjustInput, path: 'batch' | 'tx' = 'batch'): Promise<LevelResult> {
    const errors = [
      ...quantityErrors(input.delta, ['input', 'delta'], { allowZero: false, signed: true }),
      ...noteErrors(input.note, ['input', 'note']),
    ];
    if (path === 'batch' && errors.length === 0) {
      const fast = await adjustBatched(this.app, auth, input);
      if (fast) return fast;
    }
    return stockOperation<LevelResult>(this.app, auth, ADJUST_OPERATION, input, { inventoryLevel: null }, async (tx) => {
      if (errors.length) return fail(...errors);
      // Only an absolute quantity (inventorySet, bulk SET) creates a level: a delta needs one.
      const lv = await this.writable(tx, auth, input, false);
      if ('errors' in lv) return fail(...lv.errors);
      return changeLevel(tx, {
        storeId: auth.storeId,
        levelId: lv.levelId,
        mode: 'delta',
        onHandDelta: input.delta,
        requireAvailable: input.delta < 0,
        reason: input.reason,
        note: input.note,
        actor: auth.actor,
        idempotencyKey: input.idempotencyKey,
      });
    });
  }

  move(auth: AuthInfo, input: MoveInput): Promise<LevelResult & { source: LevelRow | null; destination: LevelRow | null }> {
    type R = LevelResult & { source: LevelRow | null; destination: LevelRow | null };
    const failMove = (...e: UserErrorShape[]): R => ({ ...fail(...e), source: null, destination: null });
    return stockOperation<R>(
      this.app,
      auth,
      'inventoryMove',
      input,
      { inventoryLevel: null, source: null, destination: null },
      async (tx) => {
        const errors = [
          ...quantityErrors(input.quantity, ['input', 'quantity'], { allowZero: false }),
          ...noteErrors(input.note, ['input', 'note']),
        ];
        if (errors.length) return failMove(...errors);
        const v = { variantId: input.variantId, sku: input.sku };
        const from = await this.writable(
          tx,
          auth,
          { ...v, warehouseId: input.fromWarehouseId, warehouseCode: input.fromWarehouseCode },
          false,
          ['input', 'from'],
        );
        if ('errors' in from) return failMove(...from.errors);
        const to = await this.writable(tx, auth, { ...v, warehouseId: input.toWarehouseId, warehouseCode: input.toWarehouseCode }, false, [
          'input',
          'to',
        ]);
        if ('errors' in to) return failMove(...to.errors);
        if (from.levelId === to.levelId)
          return failMove(
            userError(ErrorCode.SAME_WAREHOUSE, 'Source and destination warehouses must differ', ['input', 'toWarehouseCode']),
          );
        const base = {
          storeId: auth.storeId,
          mode: 'delta' as const,
          note: input.note,
          actor: auth.actor,
          idempotencyKey: input.idempotencyKey,
        };
        const out: LevelChange = {
          ...base,
          levelId: from.levelId,
          onHandDelta: -input.quantity,
          requireAvailable: true,
          // Only units on hand move: a backorder policy does not let the source go below zero.
          allowBackorder: false,
          reason: 'TRANSFER_OUT',
        };
        const inn: LevelChange = { ...base, levelId: to.levelId, onHandDelta: input.quantity, reason: 'TRANSFER_IN' };
        // Both rows are locked in ascending id order first (no deadlock with any other writer); then
        // the source is changed before the destination, so the answer follows one fixed order of
        // checks whatever the ids: the source's stock (INSUFFICIENT_STOCK), then the destination's
        // range (QUANTITY_OUT_OF_RANGE).
        await lockLevels(tx, auth.storeId, [from.levelId, to.levelId]);
        const results: Record<string, LevelRow> = {};
        for (const c of [out, inn]) {
          const r = await changeLevel(tx, c, ['input', c === out ? 'from' : 'to']);
          if (r.userErrors.length) return { ...r, source: null, destination: null };
          results[c.levelId] = r.inventoryLevel!;
        }
        return { inventoryLevel: results[from.levelId], source: results[from.levelId], destination: results[to.levelId], userErrors: [] };
      },
    );
  }

  updateLevel(auth: AuthInfo, input: LevelUpdateInput): Promise<LevelResult> {
    return stockOperation<LevelResult>(this.app, auth, 'inventoryLevelUpdate', {}, { inventoryLevel: null }, async (tx) => {
      const errors: UserErrorShape[] = [];
      for (const k of ['lowStockThreshold', 'criticalThreshold', 'safetyStock', 'incoming'] as const) {
        const v = input[k];
        if (v != null) errors.push(...quantityErrors(v, ['input', k], { allowZero: true }));
      }
      errors.push(...levelPolicyErrors(input));
      if (errors.length) return fail(...errors);
      const r = await resolveLevel(tx, auth.storeId, input, { create: false, path: ['input'] });
      if ('errors' in r) return fail(...r.errors);
      if (!r.level.levelId)
        return fail(userError(ErrorCode.INVENTORY_NOT_FOUND, 'This variant has no inventory level in that warehouse', ['input']));
      if (r.level.readOnly) {
        // A read-only (marketplace-fulfilled) level's stock is managed by the marketplace: only its
        // alert thresholds are ours to set. safetyStock and incoming change what is available here.
        const refused = (['safetyStock', 'incoming', 'inventoryPolicy', 'inheritInventoryPolicy'] as const).filter((k) => input[k] != null);
        if (refused.length) {
          return fail(
            ...refused.map((k) =>
              userError(
                ErrorCode.READONLY_WAREHOUSE,
                `This warehouse is read-only: only lowStockThreshold and criticalThreshold can be changed, not ${k}`,
                ['input', k],
              ),
            ),
          );
        }
      }
      if (input.incoming != null) {
        // Deprecated: incoming is derived. The number becomes the open quantity of the level's line
        // in the store's manual inbound shipment (locked level first: see the stock core's inbound.ts).
        await lockLevels(tx, auth.storeId, [r.level.levelId]);
        const refused = await setManualIncoming(tx, auth.storeId, r.level.levelId, input.incoming);
        if (refused) {
          return fail(
            userError(
              ErrorCode.INCOMING_BELOW_OPEN_INBOUND,
              `incoming cannot be below ${refused.limit}: the units of open inbound shipments and transfers to this level`,
              ['input', 'incoming'],
            ),
          );
        }
      }
      const change: LevelChange = {
        storeId: auth.storeId,
        levelId: r.level.levelId,
        mode: 'delta',
        onHandDelta: 0,
        reason: 'OTHER',
        actor: auth.actor,
        lowStockThreshold: input.lowStockThreshold,
        criticalThreshold: input.criticalThreshold,
        safetyStock: input.safetyStock,
        recomputeIncoming: input.incoming != null,
        allowUncoveredPreorders: input.allowUncoveredPreorders ?? false,
        inventoryPolicy: input.inheritInventoryPolicy ? 'INHERIT' : input.inventoryPolicy,
        backorderLimit: input.backorderLimit,
      };
      const res = await applyLevelChange(tx, change);
      return levelResult(res, change, res?.failure === 'PREORDERS_UNCOVERED' ? ['input', 'incoming'] : ['input']);
    });
  }

  bulkUpdate(auth: AuthInfo, input: BulkInput): Promise<BulkResult> {
    return stockOperation<BulkResult>(
      this.app,
      auth,
      'inventoryBulkUpdate',
      input,
      { updatedCount: 0, failedCount: 0, results: [] },
      (tx) => bulkInTx(tx, auth, input),
    );
  }
}
