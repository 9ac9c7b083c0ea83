/**
 * Select lists for raw SQL that reads whole model rows (keyset pages, joined reads), derived from the
 * generated Prisma client instead of hand-kept tables: the properties are the model's scalar fields
 * (`Prisma.<Model>ScalarFieldEnum`) and each column is the field's snake_case name, the rule every
 * `@map` of prisma/schema.prisma follows (test/unit/columns.test.ts checks the rule against the
 * client's data model, so a field mapped otherwise fails there, not at run time).
 *
 * pg returns the columns as Prisma would, but for numeric (a string here, a Decimal from Prisma).
 */
import { Prisma } from '../generated/prisma/client';

/** The scalar fields of the models read with raw SQL, in the client's (schema) order. */
export const MODEL_FIELDS = {
  product: Object.values(Prisma.ProductScalarFieldEnum),
  variant: Object.values(Prisma.VariantScalarFieldEnum),
  warehouse: Object.values(Prisma.WarehouseScalarFieldEnum),
  stockMovement: Object.values(Prisma.StockMovementScalarFieldEnum),
  reservation: Object.values(Prisma.ReservationScalarFieldEnum),
  inboundShipment: Object.values(Prisma.InboundShipmentScalarFieldEnum),
  inboundLine: Object.values(Prisma.InboundLineScalarFieldEnum),
  inventoryTransfer: Object.values(Prisma.InventoryTransferScalarFieldEnum),
  transferLine: Object.values(Prisma.TransferLineScalarFieldEnum),
} as const;

export type ModelKind = keyof typeof MODEL_FIELDS;

/** The column of a field: `isDefault` → `is_default`. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Select items for the row of `kind` at table alias `alias`: `alias.col AS "field"`. With a `prefix`
 * (to join rows of a model into another statement) every property is named `<prefix><field>`; read
 * the row back with rowOf(). `instead` gives other SQL expressions for some fields (e.g. a derived
 * status, or an int8 id as text).
 */
export function columnsOf(kind: ModelKind, alias: string, prefix = '', instead: Record<string, string> = {}): string {
  return MODEL_FIELDS[kind].map((f) => `${instead[f] ?? `${alias}.${columnOf(f)}`} AS "${prefix}${f}"`).join(', ');
}

const keyCache = new Map<string, [string, string][]>();
function prefixedKeys(kind: ModelKind, prefix: string): [string, string][] {
  let keys = keyCache.get(`${kind}:${prefix}`);
  if (!keys) {
    keys = MODEL_FIELDS[kind].map((f) => [f, `${prefix}${f}`] as [string, string]);
    keyCache.set(`${kind}:${prefix}`, keys);
  }
  return keys;
}

/** The row of `kind` inside a joined row selected with columnsOf(kind, …, prefix); null if the join found none. */
export function rowOf<T>(kind: ModelKind, row: Record<string, unknown>, prefix: string): T | null {
  const keys = prefixedKeys(kind, prefix);
  if (row[keys[0][1]] == null) return null;
  const out: Record<string, unknown> = {};
  for (const [field, key] of keys) out[field] = row[key];
  return out as T;
}
