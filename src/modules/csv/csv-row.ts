/** One data row of an import: parsed on its own, then turned into a bulk item or a row error. */
import { parse as parseRecord } from 'csv-parse/sync';
import type { BulkItem } from '../inventory';
import { INVENTORY_POLICIES, MOVEMENT_REASONS, type InventoryPolicy, type MovementReason } from '../stock';
import type { Field, HeaderMap } from './csv-header';
import { ROW_ERROR, type ImportMode, type RowError } from './import-types';

/**
 * Parses one raw record (records.ts) on its own. Returns its fields, null for an empty line, or the
 * parser's error with the line numbers made absolute.
 */
export function parseRawRecord(raw: string, line: number): string[] | null | RowError {
  let records: string[][];
  try {
    records = parseRecord(raw, { trim: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    const message = (e as Error).message.replace(/\bline (\d+)/g, (_, n: string) => `line ${line + Number(n) - 1}`);
    return { code: ROW_ERROR.CSV_PARSE_ERROR, message };
  }
  if (records.length === 0) return null;
  if (records.length > 1) return { code: ROW_ERROR.CSV_PARSE_ERROR, message: `more than one record on line ${line}` };
  return records[0];
}

/**
 * The fields of a record csv-parse could not read, for the errors file: the raw text split at its
 * commas (line break removed), so that it lines up with the header and can be fixed in place.
 */
export function rawFields(raw: string): string[] {
  return raw.replace(/\r?\n$/, '').split(',');
}

function parseInteger(value: string, name: string): number | RowError {
  if (value === '') return { code: ROW_ERROR.MISSING_VALUE, message: `${name} is empty` };
  if (!/^[+-]?\d+$/.test(value)) return { code: ROW_ERROR.INVALID_NUMBER, message: `${name} "${value}" is not a whole number` };
  const n = Number(value);
  if (!Number.isSafeInteger(n)) return { code: ROW_ERROR.INVALID_NUMBER, message: `${name} ${value} is out of range` };
  return n;
}

/** Defaults from the command line for cells that are empty or absent. */
export interface RowDefaults {
  warehouse?: string | null;
  note?: string | null;
}

type Cell = (f: Field) => string;

function rowWarehouse(cell: Cell, defaults: RowDefaults): string | RowError {
  const warehouse = cell('warehouse');
  if (warehouse && defaults.warehouse && warehouse !== defaults.warehouse) {
    return {
      code: ROW_ERROR.WAREHOUSE_MISMATCH,
      message: `the row is for warehouse ${warehouse}, but --warehouse ${defaults.warehouse} was given`,
    };
  }
  const w = warehouse || defaults.warehouse || '';
  return w || { code: ROW_ERROR.MISSING_VALUE, message: 'warehouse is empty (add a warehouse column or pass --warehouse)' };
}

function rowReason(cell: Cell): MovementReason | null | RowError {
  const rawReason = cell('reason');
  if (!rawReason) return null;
  const reason = rawReason.toUpperCase() as MovementReason;
  if (!MOVEMENT_REASONS.includes(reason))
    return { code: ROW_ERROR.INVALID_REASON, message: `reason "${rawReason}" is not one of ${MOVEMENT_REASONS.join(', ')}` };
  return reason;
}

const isError = (v: unknown): v is RowError => typeof v === 'object' && v !== null && 'code' in v;

/**
 * A policy and its limit from two cells (issue 22): both empty → null (keep); a policy (any case)
 * with an optional whole-number limit (empty: no limit). `inherit` also accepts INHERIT (the level's
 * override dropped). Range and combination rules (limit ≥ 0, not with DENY) are the API's, checked
 * by the bulk path.
 */
function rowPolicy(
  cell: Cell,
  policyField: Field,
  limitField: Field,
  inherit: boolean,
): { inventoryPolicy: InventoryPolicy | 'INHERIT'; backorderLimit: number | null } | null | RowError {
  const raw = cell(policyField);
  const rawLimit = cell(limitField);
  if (!raw && !rawLimit) return null;
  if (!raw) return { code: ROW_ERROR.MISSING_VALUE, message: `${limitField} needs ${policyField} in the same row` };
  const policy = raw.toUpperCase();
  const allowed: string[] = inherit ? [...INVENTORY_POLICIES, 'INHERIT'] : [...INVENTORY_POLICIES];
  if (!allowed.includes(policy))
    return { code: ROW_ERROR.INVALID_POLICY, message: `${policyField} "${raw}" is not one of ${allowed.join(', ')}` };
  const limit = rawLimit ? parseInteger(rawLimit, limitField) : null;
  if (isError(limit)) return limit;
  return { inventoryPolicy: policy as InventoryPolicy | 'INHERIT', backorderLimit: limit };
}

/** The bulk item a parsed record asks for, or why it cannot be one. */
export function toItem(h: HeaderMap, mode: ImportMode, record: string[], defaults: RowDefaults): BulkItem | RowError {
  if (record.length !== h.columns.length) {
    return { code: ROW_ERROR.COLUMN_COUNT, message: `expected ${h.columns.length} fields, got ${record.length}` };
  }
  const cell: Cell = (f) => (h.index[f] !== undefined ? record[h.index[f]!] : '');
  const sku = cell('sku');
  const externalId = cell('externalId');
  if (!sku && !externalId)
    return { code: ROW_ERROR.MISSING_VALUE, message: h.index.sku !== undefined ? 'sku is empty' : 'externalId is empty' };
  const warehouse = rowWarehouse(cell, defaults);
  if (isError(warehouse)) return warehouse;
  const n = mode === 'set' ? parseInteger(cell('quantity'), 'quantity') : parseInteger(cell('delta'), 'delta');
  if (typeof n !== 'number') return n;
  const reason = rowReason(cell);
  if (isError(reason)) return reason;
  const item: BulkItem = {
    mode: mode === 'set' ? 'SET' : 'ADJUST',
    warehouseCode: warehouse,
    reason,
    note: cell('note') || defaults.note || null,
  };
  if (sku) item.sku = sku;
  else {
    item.productExternalId = externalId;
    item.variantLabel = cell('label') || null;
  }
  if (mode === 'set') item.quantity = n;
  else item.delta = n;
  // Seed 002: a price and a currency set the variant's price with the row; both empty keep it.
  const price = cell('price');
  const currency = cell('currency');
  if (price || currency) {
    if (!price || !currency) return { code: ROW_ERROR.MISSING_VALUE, message: 'give both price and currency (or neither)' };
    item.price = { amount: price, currencyCode: currency };
  }
  // Issue 22: the variant's backorder policy, and the level's override (INHERIT drops it).
  const variantPolicy = rowPolicy(cell, 'inventoryPolicy', 'backorderLimit', false);
  if (isError(variantPolicy)) return variantPolicy;
  if (variantPolicy) item.variantPolicy = variantPolicy as { inventoryPolicy: InventoryPolicy; backorderLimit: number | null };
  const levelPolicy = rowPolicy(cell, 'levelInventoryPolicy', 'levelBackorderLimit', true);
  if (isError(levelPolicy)) return levelPolicy;
  if (levelPolicy) item.levelPolicy = levelPolicy;
  return item;
}
