/** Input rules shared by inbound shipments and transfers: texts, lines, and writable levels. */
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { LIMITS, validateText } from '../../validation';
import { failureError } from '../inventory';
import { resolveLevel, type ChangeResult, type LevelAddress, type LevelChange, type LineRefusal, type OpResult } from '../stock';

/** At most this many lines per shipment, receipt, transfer or write-off. */
export const MAX_LINES = LIMITS.reserveLines;

export type Path = (string | number)[];

/** A business failure: nothing is kept. */
export const refuse = <T extends OpResult>(blank: Omit<T, keyof OpResult>, ...userErrors: UserErrorShape[]): T =>
  ({ ...blank, userErrors, rollback: true }) as T;

export function textErrors(v: string | null | undefined, path: Path, opts: { required?: boolean; max?: number } = {}): UserErrorShape[] {
  if (v == null) return opts.required ? [userError(ErrorCode.INVALID_INPUT, `${path[path.length - 1]} is required`, path)] : [];
  return validateText(v, path, { max: opts.max ?? LIMITS.reference, allowEmpty: !opts.required });
}

export function lineCountErrors(n: number, path: Path): UserErrorShape[] {
  if (n === 0) return [userError(ErrorCode.INVALID_INPUT, 'Give at least one line', path)];
  if (n > MAX_LINES) return [userError(ErrorCode.TOO_MANY_ITEMS, `At most ${MAX_LINES} lines`, path)];
  return [];
}

/** A writable level of the address (created at zero when missing and `create`), or the errors. */
export async function writableLevel(
  tx: Tx,
  storeId: string,
  a: LevelAddress,
  create: boolean,
  path: Path,
): Promise<{ levelId: string; variantId: string; warehouseId: string } | { errors: UserErrorShape[] }> {
  const r = await resolveLevel(tx, storeId, a, { create, path });
  if ('errors' in r) return r;
  if (r.level.readOnly)
    return { errors: [userError(ErrorCode.READONLY_WAREHOUSE, 'This warehouse is read-only; its stock is managed externally', path)] };
  return { levelId: r.level.levelId!, variantId: r.level.variantId, warehouseId: r.level.warehouseId };
}

/** The user error of a writer failure or a missing level. */
export function changeError(r: ChangeResult | null, c: Pick<LevelChange, 'mode' | 'onHandDelta'>, path: Path): UserErrorShape | null {
  if (!r) return userError(ErrorCode.INVENTORY_NOT_FOUND, 'Inventory level not found', path);
  return r.failure ? failureError(r, { ...c, setOnHand: undefined, compareOnHand: undefined }, path) : null;
}

/** The user error of a line guard's refusal. */
export function refusalError(r: LineRefusal, path: Path): UserErrorShape {
  switch (r.refused) {
    case 'OVER_RECEIPT':
      return userError(ErrorCode.OVER_RECEIPT, `Only ${r.limit} units are open on this line; set allowOverReceipt: true to receive more`, [
        ...path,
        'quantity',
      ]);
    case 'BELOW_RECEIVED':
      return userError(ErrorCode.QUANTITY_BELOW_RECEIVED, `${r.limit} units of this line were already received or cancelled`, [
        ...path,
        'quantity',
      ]);
    case 'EXCEEDS_IN_TRANSIT':
      return userError(ErrorCode.EXCEEDS_IN_TRANSIT, `Only ${r.limit} units of this line are in transit`, [...path, 'quantity']);
    case 'BELOW_OPEN_INBOUND':
      return userError(ErrorCode.INCOMING_BELOW_OPEN_INBOUND, `incoming cannot be below ${r.limit}`, path);
    default:
      return userError(ErrorCode.INBOUND_LINE_NOT_FOUND, 'No such line', path);
  }
}

/** Two lines naming the same level (or variant) are refused: one line per level. */
export function duplicateErrors(keys: readonly string[], path: Path, what: string): UserErrorShape[] {
  const seen = new Set<string>();
  const out: UserErrorShape[] = [];
  keys.forEach((k, i) => {
    if (seen.has(k)) out.push(userError(ErrorCode.INVALID_INPUT, `Line ${i} names the same ${what} as an earlier line`, [...path, i]));
    seen.add(k);
  });
  return out;
}
