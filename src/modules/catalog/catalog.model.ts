/**
 * The catalogue's vocabulary: row types (from the generated Prisma client), inputs, money, and the
 * validation and error mapping shared by its writes. Plain TypeScript, no database access.
 */
import type { Product, Variant, Warehouse, WarehouseType } from '../../generated/prisma/client';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { validateText, LIMITS } from '../../validation';
import { policyErrors, type InventoryPolicy } from '../stock';
import { isCountryCode, isShippingZone, MAX_SERVED } from './ship-to';

export type { WarehouseType };

export interface VariantOption {
  name: string;
  value: string;
}

/** A product as the generated client types it. */
export type ProductRow = Product;

/**
 * A variant as the generated client types it, but for the price amount: a Prisma Decimal when
 * Prisma read the row, the numeric's text when raw SQL did (keyset pages, joined reads).
 */
export type VariantRow = Omit<Variant, 'priceAmount'> & { priceAmount: Variant['priceAmount'] | string };

export interface Money {
  /** Decimal as a string, e.g. "7.5" (at most 11 integer digits and 4 decimals, ≥ 0). */
  amount: string;
  /** ISO 4217 code, e.g. "EUR". */
  currencyCode: string;
}

/** A warehouse as the generated client types it. */
export type WarehouseRow = Warehouse;

export interface VariantInput {
  sku: string;
  label?: string | null;
  options?: VariantOption[] | null;
  externalId?: string | null;
  isDefault?: boolean | null;
  /** Omitted: no price (create) or unchanged (update); null on update: remove the price. */
  price?: Money | null;
  /** Backorder policy (issue 22): set together with backorderLimit (omitted on update: unchanged). */
  inventoryPolicy?: InventoryPolicy | null;
  backorderLimit?: number | null;
}

export interface ProductCreateInput {
  name: string;
  externalId?: string | null;
  active?: boolean | null;
  /** Variants to create; none means one default variant with `sku` (or the externalId). */
  variants?: VariantInput[] | null;
  sku?: string | null;
}

export interface ProductUpdateInput {
  name?: string | null;
  externalId?: string | null;
  active?: boolean | null;
}

export interface WarehouseInput {
  code?: string | null;
  name?: string | null;
  address?: string | null;
  type?: WarehouseType | null;
  readOnly?: boolean | null;
  active?: boolean | null;
  priority?: number | null;
  /** The fulfilling marketplace, e.g. "amazon_eu" (seed 003); null on update clears it. */
  marketplace?: string | null;
  /** ISO 3166-1 alpha-2 codes the warehouse ships to (any case; stored upper case); [] clears. */
  servesCountries?: string[] | null;
  /** Built-in shipping zones (ship-to.ts) the warehouse ships to; [] clears. */
  servesZones?: string[] | null;
}

export interface Result<T> {
  value: T | null;
  userErrors: UserErrorShape[];
}

export const ok = <T>(value: T): Result<T> => ({ value, userErrors: [] });
export const fail = <T>(...errors: UserErrorShape[]): Result<T> => ({ value: null, userErrors: errors });

export function uniqueViolation(e: unknown): string[] | null {
  const err = e as { code?: string; meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } };
  if (err?.code !== 'P2002') return null;
  const fields = err.meta?.driverAdapterError?.cause?.constraint?.fields;
  if (Array.isArray(fields)) return fields.map(String);
  const t = err.meta?.target;
  return Array.isArray(t) ? t.map(String) : typeof t === 'string' ? [t] : [];
}

export function takenError(fields: string[], path: (string | number)[], what: string): UserErrorShape {
  const f = fields.find((x) => /sku|code|external/i.test(x)) ?? fields[0] ?? 'value';
  const name = /sku/i.test(f) ? 'sku' : /code/i.test(f) ? 'code' : /external/i.test(f) ? 'externalId' : f;
  return userError(ErrorCode.TAKEN, `This ${name} is already used by another ${what} in this store`, [...path, name]);
}

export function validateOptions(options: VariantOption[] | null | undefined, path: (string | number)[]): UserErrorShape[] {
  if (!options) return [];
  if (options.length > LIMITS.variantOptions) return [userError(ErrorCode.INVALID_INPUT, `At most ${LIMITS.variantOptions} options`, path)];
  return options.flatMap((o, i) => [
    ...validateText(o.name, [...path, i, 'name'], { max: LIMITS.name }),
    ...validateText(o.value, [...path, i, 'value'], { max: LIMITS.name }),
  ]);
}

/** A price: amount ≥ 0 with at most 11 integer digits and 4 decimals; currency ISO 4217 (3 capitals). */
export function validatePrice(p: Money | null | undefined, path: (string | number)[]): UserErrorShape[] {
  if (p == null) return [];
  const errors: UserErrorShape[] = [];
  if (!/^[0-9]{1,11}(\.[0-9]{1,4})?$/.test(p.amount)) {
    errors.push(
      userError(ErrorCode.INVALID_INPUT, 'amount must be a decimal ≥ 0 with at most 11 digits before and 4 after the point, e.g. "7.50"', [
        ...path,
        'amount',
      ]),
    );
  }
  if (!/^[A-Z]{3}$/.test(p.currencyCode))
    errors.push(userError(ErrorCode.INVALID_INPUT, 'currencyCode must be an ISO 4217 code such as "EUR"', [...path, 'currencyCode']));
  return errors;
}

/** The stored price as Money (amount without trailing zeros), or null. */
export function moneyOf(v: Pick<VariantRow, 'priceAmount' | 'priceCurrency'>): Money | null {
  if (v.priceAmount == null || v.priceCurrency == null) return null;
  const a = String(v.priceAmount);
  return { amount: a.includes('.') ? a.replace(/0+$/, '').replace(/\.$/, '') : a, currencyCode: v.priceCurrency };
}

/** Prisma data for a price given in an input: omitted → nothing, null → no price. */
/** The Prisma data of a policy input: policy and limit together, or nothing (unchanged). */
export function policyData(v: { inventoryPolicy?: InventoryPolicy | null; backorderLimit?: number | null }) {
  return v.inventoryPolicy != null ? { inventoryPolicy: v.inventoryPolicy, backorderLimit: v.backorderLimit ?? null } : {};
}

export function priceData(p: Money | null | undefined) {
  if (p === undefined) return {};
  return p === null ? { priceAmount: null, priceCurrency: null } : { priceAmount: p.amount, priceCurrency: p.currencyCode };
}

export function validateVariant(v: VariantInput, path: (string | number)[]): UserErrorShape[] {
  return [
    ...policyErrors(v.inventoryPolicy, v.backorderLimit, path),
    ...validatePrice(v.price, [...path, 'price']),
    ...validateText(v.sku, [...path, 'sku'], { max: LIMITS.sku, pattern: LIMITS.skuPattern }),
    ...(v.label != null ? validateText(v.label, [...path, 'label'], { max: LIMITS.name }) : []),
    ...(v.externalId != null ? validateText(v.externalId, [...path, 'externalId'], { max: LIMITS.externalId }) : []),
    ...validateOptions(v.options, [...path, 'options']),
  ];
}

export function defaultLabel(options: VariantOption[] | null | undefined): string {
  return options && options.length ? options.map((o) => o.value).join(' / ') : 'Default';
}

export function validateWarehouse(input: WarehouseInput, creating: boolean): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  if (creating || input.code != null)
    errors.push(...validateText(input.code, ['input', 'code'], { max: LIMITS.code, pattern: LIMITS.codePattern }));
  if (creating || input.name != null) errors.push(...validateText(input.name, ['input', 'name'], { max: LIMITS.name }));
  if (input.address != null) errors.push(...validateText(input.address, ['input', 'address'], { max: LIMITS.address, allowEmpty: true }));
  if (input.marketplace != null)
    errors.push(...validateText(input.marketplace, ['input', 'marketplace'], { max: LIMITS.code, pattern: LIMITS.codePattern }));
  if (input.priority != null && (input.priority < 0 || input.priority > 1_000_000)) {
    errors.push(userError(ErrorCode.INVALID_INPUT, 'priority must be between 0 and 1000000', ['input', 'priority']));
  }
  errors.push(...validateServes(input));
  return errors;
}

/** The ship-to declaration: known country codes and zones, at most MAX_SERVED of each. */
function validateServes(input: WarehouseInput): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  const check = (list: string[] | null | undefined, field: string, ok: (v: string) => boolean, what: string) => {
    if (list == null) return;
    if (list.length > MAX_SERVED) errors.push(userError(ErrorCode.TOO_MANY_ITEMS, `At most ${MAX_SERVED} ${what}s`, ['input', field]));
    list.forEach((v, i) => {
      if (!ok(v))
        errors.push(userError(ErrorCode.INVALID_INPUT, `Not a known ${what}: ${JSON.stringify(v.slice(0, 40))}`, ['input', field, i]));
    });
  };
  check(input.servesCountries, 'servesCountries', (v) => isCountryCode(v.toUpperCase()), 'ISO 3166-1 alpha-2 country code');
  check(input.servesZones, 'servesZones', isShippingZone, 'shipping zone');
  return errors;
}

/** A ship-to list as stored: upper case, without duplicates, in the given order. */
export function normalizeServed(list: readonly string[]): string[] {
  return [...new Set(list.map((v) => v.toUpperCase()))];
}
