/** Input rules of the stock operations, and the user errors of the writer's failures. */
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { LIMITS, validateText } from '../../validation';
import type { Tx } from '../../db/tx';
import { applyLevelChange, INT32_MAX, type ChangeResult, type LevelChange, type LevelRow, type OpResult } from '../stock';

export interface LevelResult extends OpResult {
  inventoryLevel: LevelRow | null;
  movementId?: number | null;
}

/** A business failure of a level operation: nothing is kept. */
export const fail = (...userErrors: UserErrorShape[]): LevelResult => ({ inventoryLevel: null, userErrors, rollback: true });

/** The errors of a quantity input (or a signed delta). */
export function quantityErrors(n: number, field: (string | number)[], opts: { allowZero: boolean; signed?: boolean }): UserErrorShape[] {
  if (!Number.isInteger(n)) return [userError(ErrorCode.INVALID_INPUT, `${field[field.length - 1]} must be an integer`, field)];
  if (opts.signed) {
    if (n === 0) return [userError(ErrorCode.INVALID_INPUT, 'delta must not be 0', field)];
    if (Math.abs(n) > INT32_MAX) return [userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `delta must be within ±${INT32_MAX}`, field)];
    return [];
  }
  if (n < 0) return [userError(ErrorCode.NEGATIVE_QUANTITY, `${field[field.length - 1]} must not be negative`, field)];
  if (n === 0 && !opts.allowZero)
    return [userError(ErrorCode.NEGATIVE_QUANTITY, `${field[field.length - 1]} must be greater than 0`, field)];
  if (n > INT32_MAX) return [userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `${field[field.length - 1]} must be at most ${INT32_MAX}`, field)];
  return [];
}

export function noteErrors(note: string | null | undefined, field: (string | number)[]): UserErrorShape[] {
  return note != null ? validateText(note, field, { max: LIMITS.note, allowEmpty: true }) : [];
}

/** Maps a writer failure to the user error a client sees. */
export function failureError(
  r: ChangeResult,
  c: Pick<LevelChange, 'mode' | 'onHandDelta' | 'setOnHand' | 'compareOnHand'>,
  field: (string | number)[],
): UserErrorShape {
  const cur = r.before;
  const available = Math.max(0, cur.onHand - cur.reserved - cur.safetyStock);
  switch (r.failure) {
    case 'STALE':
      return userError(ErrorCode.COMPARE_QUANTITY_STALE, `onHand is ${cur.onHand}, not ${c.compareOnHand}; re-read and retry`, [
        ...field,
        'compareQuantity',
      ]);
    case 'OUT_OF_RANGE':
      return userError(
        ErrorCode.QUANTITY_OUT_OF_RANGE,
        `The result would be outside 0..${INT32_MAX}. Current onHand: ${cur.onHand}`,
        field,
      );
    case 'BELOW_RESERVED':
      return userError(ErrorCode.QUANTITY_BELOW_RESERVED, `Quantity ${c.setOnHand} is below the reserved quantity ${cur.reserved}`, [
        ...field,
        'quantity',
      ]);
    case 'RESERVED_NEGATIVE':
      return userError(ErrorCode.EXCEEDS_RESERVED, `Only ${cur.reserved} units are reserved`, field);
    case 'BACKORDER_LIMIT':
      return userError(
        ErrorCode.INSUFFICIENT_STOCK,
        `Backorder limit reached: available may go down to -${r.allowance}; it is ${cur.onHand - cur.reserved - cur.safetyStock} (${cur.onHand} on hand, ${cur.reserved} reserved)`,
        field,
      );
    case 'PREORDERS_UNCOVERED': {
      const lost = r.uncovered.after - r.uncovered.before;
      return userError(
        ErrorCode.PREORDERS_UNCOVERED,
        `${lost} preordered unit(s) would lose their cover: incoming would fall from ${r.level.incoming} to ${r.incomingRequested}, ` +
          `leaving ${r.uncovered.after} unit(s) sold or held beyond stock and incoming. Nothing was changed; ` +
          'set allowUncoveredPreorders: true to accept',
        field,
      );
    }
    default:
      return c.mode === 'delta' && c.onHandDelta
        ? userError(
            ErrorCode.INSUFFICIENT_STOCK,
            `Adjustment would result in negative available quantity. Current: ${cur.onHand} on hand, ${available} available, adjustment: ${c.onHandDelta}`,
            field,
          )
        : userError(ErrorCode.INSUFFICIENT_STOCK, `Insufficient stock: ${available} available`, field);
  }
}

/** One level change through the stock writer, as a level operation answers it. */
export async function changeLevel(tx: Tx, c: LevelChange, field: (string | number)[] = ['input']): Promise<LevelResult> {
  return levelResult(await applyLevelChange(tx, c), c, field);
}

/** A writer result as a level operation answers it (null: the level does not exist in the store). */
export function levelResult(r: ChangeResult | null, c: LevelChange, field: (string | number)[]): LevelResult {
  if (!r) return fail(userError(ErrorCode.INVENTORY_NOT_FOUND, 'Inventory level not found', field));
  if (r.failure) return fail(failureError(r, c, field));
  return { inventoryLevel: r.level, movementId: r.movementId, userErrors: [] };
}
