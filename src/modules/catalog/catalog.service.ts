/**
 * Catalogue: products, variants and warehouses. Plain TypeScript: writes over Prisma, the batch
 * reads of the DataLoaders in SQL through a Tx. Every query is scoped by store, so an id from
 * another store behaves exactly like a missing one.
 */
import type { PrismaClient } from '../../generated/prisma/client';
import { preparedStatement } from '../../db/client';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { validateText, LIMITS } from '../../validation';

export type WarehouseType = 'OWN' | 'FBA' | 'THIRD_PARTY';

export interface VariantOption {
  name: string;
  value: string;
}

export interface ProductRow {
  id: string;
  storeId: string;
  externalId: string | null;
  name: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface VariantRow {
  id: string;
  storeId: string;
  productId: string;
  sku: string;
  label: string;
  options: unknown;
  externalId: string | null;
  isDefault: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** numeric as text (SQL reads) or a Prisma Decimal (writes); null without a price. */
  priceAmount: { toString(): string } | string | null;
  priceCurrency: string | null;
}

export interface Money {
  /** Decimal as a string, e.g. "7.5" (at most 11 integer digits and 4 decimals, ≥ 0). */
  amount: string;
  /** ISO 4217 code, e.g. "EUR". */
  currencyCode: string;
}

export interface WarehouseRow {
  id: string;
  storeId: string;
  code: string;
  name: string;
  address: string | null;
  type: WarehouseType;
  readOnly: boolean;
  active: boolean;
  priority: number;
  createdAt: Date;
  updatedAt: Date;
  marketplace: string | null;
}

export interface VariantInput {
  sku: string;
  label?: string | null;
  options?: VariantOption[] | null;
  externalId?: string | null;
  isDefault?: boolean | null;
  /** Omitted: no price (create) or unchanged (update); null on update: remove the price. */
  price?: Money | null;
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
}

export interface Result<T> {
  value: T | null;
  userErrors: UserErrorShape[];
}

const ok = <T>(value: T): Result<T> => ({ value, userErrors: [] });
const fail = <T>(...errors: UserErrorShape[]): Result<T> => ({ value: null, userErrors: errors });

function uniqueViolation(e: unknown): string[] | null {
  const err = e as { code?: string; meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } } };
  if (err?.code !== 'P2002') return null;
  const fields = err.meta?.driverAdapterError?.cause?.constraint?.fields;
  if (Array.isArray(fields)) return fields.map(String);
  const t = err.meta?.target;
  return Array.isArray(t) ? t.map(String) : typeof t === 'string' ? [t] : [];
}

function takenError(fields: string[], path: (string | number)[], what: string): UserErrorShape {
  const f = fields.find((x) => /sku|code|external/i.test(x)) ?? fields[0] ?? 'value';
  const name = /sku/i.test(f) ? 'sku' : /code/i.test(f) ? 'code' : /external/i.test(f) ? 'externalId' : f;
  return userError(ErrorCode.TAKEN, `This ${name} is already used by another ${what} in this store`, [...path, name]);
}

function validateOptions(options: VariantOption[] | null | undefined, path: (string | number)[]): UserErrorShape[] {
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
    errors.push(userError(ErrorCode.INVALID_INPUT, 'amount must be a decimal ≥ 0 with at most 11 digits before and 4 after the point, e.g. "7.50"', [...path, 'amount']));
  }
  if (!/^[A-Z]{3}$/.test(p.currencyCode)) errors.push(userError(ErrorCode.INVALID_INPUT, 'currencyCode must be an ISO 4217 code such as "EUR"', [...path, 'currencyCode']));
  return errors;
}

/** The stored price as Money (amount without trailing zeros), or null. */
export function moneyOf(v: Pick<VariantRow, 'priceAmount' | 'priceCurrency'>): Money | null {
  if (v.priceAmount == null || v.priceCurrency == null) return null;
  const a = String(v.priceAmount);
  return { amount: a.includes('.') ? a.replace(/0+$/, '').replace(/\.$/, '') : a, currencyCode: v.priceCurrency };
}

/** Prisma data for a price given in an input: omitted → nothing, null → no price. */
function priceData(p: Money | null | undefined) {
  if (p === undefined) return {};
  return p === null ? { priceAmount: null, priceCurrency: null } : { priceAmount: p.amount, priceCurrency: p.currencyCode };
}

function validateVariant(v: VariantInput, path: (string | number)[]): UserErrorShape[] {
  return [
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

export async function createProduct(prisma: PrismaClient, storeId: string, input: ProductCreateInput): Promise<Result<ProductRow>> {
  const errors = [
    ...validateText(input.name, ['input', 'name'], { max: LIMITS.name }),
    ...(input.externalId != null ? validateText(input.externalId, ['input', 'externalId'], { max: LIMITS.externalId }) : []),
    ...(input.sku != null ? validateText(input.sku, ['input', 'sku'], { max: LIMITS.sku, pattern: LIMITS.skuPattern }) : []),
  ];
  const variants = input.variants ?? [];
  if (variants.length > LIMITS.variantsPerProduct) {
    errors.push(userError(ErrorCode.TOO_MANY_ITEMS, `At most ${LIMITS.variantsPerProduct} variants per product`, ['input', 'variants']));
  }
  variants.forEach((v, i) => errors.push(...validateVariant(v, ['input', 'variants', i])));
  const skus = new Set<string>();
  variants.forEach((v, i) => {
    if (skus.has(v.sku)) errors.push(userError(ErrorCode.TAKEN, `Duplicate sku "${v.sku}" in the input`, ['input', 'variants', i, 'sku']));
    skus.add(v.sku);
  });
  if (variants.length === 0 && !input.sku && !input.externalId) {
    errors.push(userError(ErrorCode.INVALID_INPUT, 'A product without variants needs a sku (or an externalId) for its default variant', ['input', 'sku']));
  }
  if (errors.length) return fail(...errors);
  const rows =
    variants.length > 0
      ? variants.map((v, i) => ({
          storeId,
          sku: v.sku,
          label: v.label ?? defaultLabel(v.options),
          options: (v.options ?? []) as object,
          externalId: v.externalId ?? null,
          isDefault: v.isDefault ?? (i === 0 && !variants.some((x) => x.isDefault)),
          ...priceData(v.price),
        }))
      : [{ storeId, sku: (input.sku ?? input.externalId)!, label: 'Default', options: [] as object, externalId: null, isDefault: true }];
  try {
    const product = await prisma.product.create({
      data: { storeId, name: input.name, externalId: input.externalId ?? null, active: input.active ?? true, variants: { create: rows } },
    });
    return ok(product);
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], f.some((x) => /sku/.test(x)) ? 'variant' : 'product'));
    throw e;
  }
}

export async function updateProduct(prisma: PrismaClient, storeId: string, id: string | null, input: ProductUpdateInput): Promise<Result<ProductRow>> {
  const errors = [
    ...(input.name != null ? validateText(input.name, ['input', 'name'], { max: LIMITS.name }) : []),
    ...(input.externalId != null ? validateText(input.externalId, ['input', 'externalId'], { max: LIMITS.externalId }) : []),
  ];
  if (errors.length) return fail(...errors);
  if (!id) return fail(userError(ErrorCode.PRODUCT_NOT_FOUND, 'Product not found', ['id']));
  try {
    const r = await prisma.product.updateMany({
      where: { id, storeId },
      data: {
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
        ...(input.active != null ? { active: input.active } : {}),
        updatedAt: new Date(),
      },
    });
    if (r.count === 0) return fail(userError(ErrorCode.PRODUCT_NOT_FOUND, 'Product not found', ['id']));
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'product'));
    throw e;
  }
  return ok((await prisma.product.findFirst({ where: { id, storeId } }))!);
}

export async function createVariant(prisma: PrismaClient, storeId: string, productId: string | null, input: VariantInput): Promise<Result<VariantRow>> {
  const errors = validateVariant(input, ['input']);
  if (errors.length) return fail(...errors);
  const product = productId ? await prisma.product.findFirst({ where: { id: productId, storeId }, select: { id: true } }) : null;
  if (!product) return fail(userError(ErrorCode.PRODUCT_NOT_FOUND, 'Product not found', ['productId']));
  try {
    const v = await prisma.$transaction(async (tx) => {
      if (input.isDefault) await tx.variant.updateMany({ where: { productId: product.id, storeId }, data: { isDefault: false } });
      return tx.variant.create({
        data: {
          storeId,
          productId: product.id,
          sku: input.sku,
          label: input.label ?? defaultLabel(input.options),
          options: (input.options ?? []) as object,
          externalId: input.externalId ?? null,
          isDefault: input.isDefault ?? false,
          ...priceData(input.price),
        },
      });
    });
    return ok(v);
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'variant'));
    throw e;
  }
}

export async function updateVariant(
  prisma: PrismaClient,
  storeId: string,
  id: string | null,
  input: { [K in keyof VariantInput]?: VariantInput[K] | null },
): Promise<Result<VariantRow>> {
  const errors = [
    ...(input.sku != null ? validateText(input.sku, ['input', 'sku'], { max: LIMITS.sku, pattern: LIMITS.skuPattern }) : []),
    ...(input.label != null ? validateText(input.label, ['input', 'label'], { max: LIMITS.name }) : []),
    ...(input.externalId != null ? validateText(input.externalId, ['input', 'externalId'], { max: LIMITS.externalId }) : []),
    ...validateOptions(input.options, ['input', 'options']),
    ...validatePrice(input.price, ['input', 'price']),
  ];
  if (errors.length) return fail(...errors);
  const current = id ? await prisma.variant.findFirst({ where: { id, storeId } }) : null;
  if (!current) return fail(userError(ErrorCode.VARIANT_NOT_FOUND, 'Variant not found', ['id']));
  try {
    const v = await prisma.$transaction(async (tx) => {
      if (input.isDefault) await tx.variant.updateMany({ where: { productId: current.productId, storeId, NOT: { id: current.id } }, data: { isDefault: false } });
      return tx.variant.update({
        where: { id: current.id },
        data: {
          ...(input.sku != null ? { sku: input.sku } : {}),
          ...(input.label != null ? { label: input.label } : {}),
          ...(input.options != null ? { options: input.options as object } : {}),
          ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
          ...(input.isDefault != null ? { isDefault: input.isDefault } : {}),
          ...priceData(input.price),
        },
      });
    });
    return ok(v);
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'variant'));
    throw e;
  }
}

function validateWarehouse(input: WarehouseInput, creating: boolean): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  if (creating || input.code != null) errors.push(...validateText(input.code, ['input', 'code'], { max: LIMITS.code, pattern: LIMITS.codePattern }));
  if (creating || input.name != null) errors.push(...validateText(input.name, ['input', 'name'], { max: LIMITS.name }));
  if (input.address != null) errors.push(...validateText(input.address, ['input', 'address'], { max: LIMITS.address, allowEmpty: true }));
  if (input.marketplace != null) errors.push(...validateText(input.marketplace, ['input', 'marketplace'], { max: LIMITS.code, pattern: LIMITS.codePattern }));
  if (input.priority != null && (input.priority < 0 || input.priority > 1_000_000)) {
    errors.push(userError(ErrorCode.INVALID_INPUT, 'priority must be between 0 and 1000000', ['input', 'priority']));
  }
  return errors;
}

export async function createWarehouse(prisma: PrismaClient, storeId: string, input: WarehouseInput): Promise<Result<WarehouseRow>> {
  const errors = validateWarehouse(input, true);
  if (errors.length) return fail(...errors);
  try {
    const w = await prisma.warehouse.create({
      data: {
        storeId,
        code: input.code!,
        name: input.name!,
        address: input.address ?? null,
        type: input.type ?? 'OWN',
        readOnly: input.readOnly ?? input.type === 'FBA',
        active: input.active ?? true,
        priority: input.priority ?? 0,
        marketplace: input.marketplace ?? null,
      },
    });
    return ok(w);
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'warehouse'));
    throw e;
  }
}

export async function updateWarehouse(prisma: PrismaClient, storeId: string, id: string | null, input: WarehouseInput): Promise<Result<WarehouseRow>> {
  const errors = validateWarehouse(input, false);
  if (errors.length) return fail(...errors);
  if (!id) return fail(userError(ErrorCode.WAREHOUSE_NOT_FOUND, 'Warehouse not found', ['id']));
  try {
    const r = await prisma.warehouse.updateMany({
      where: { id, storeId },
      data: {
        ...(input.code != null ? { code: input.code } : {}),
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.address !== undefined ? { address: input.address } : {}),
        ...(input.type != null ? { type: input.type } : {}),
        ...(input.readOnly != null ? { readOnly: input.readOnly } : {}),
        ...(input.active != null ? { active: input.active } : {}),
        ...(input.priority != null ? { priority: input.priority } : {}),
        ...(input.marketplace !== undefined ? { marketplace: input.marketplace } : {}),
        updatedAt: new Date(),
      },
    });
    if (r.count === 0) return fail(userError(ErrorCode.WAREHOUSE_NOT_FOUND, 'Warehouse not found', ['id']));
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'warehouse'));
    throw e;
  }
  return ok((await prisma.warehouse.findFirst({ where: { id, storeId } }))!);
}

// ---- batch reads for DataLoaders (store-scoped) ----
// Plain SQL through the caller's Tx (one statement each, prepared once per connection): these run on
// every nested read, where Prisma's per-call query compilation cost more than the query itself.

/** Columns of the catalogue rows, as [property, SQL expression over the table's alias]. */
const FIELDS = {
  product: [
    ['id', 'id'],
    ['storeId', 'store_id'],
    ['externalId', 'external_id'],
    ['name', 'name'],
    ['active', 'active'],
    ['createdAt', 'created_at'],
    ['updatedAt', 'updated_at'],
  ],
  variant: [
    ['id', 'id'],
    ['storeId', 'store_id'],
    ['productId', 'product_id'],
    ['sku', 'sku'],
    ['label', 'label'],
    ['options', 'options'],
    ['externalId', 'external_id'],
    ['isDefault', 'is_default'],
    ['createdAt', 'created_at'],
    ['updatedAt', 'updated_at'],
    ['priceAmount', 'price_amount::text'],
    ['priceCurrency', 'price_currency'],
  ],
  warehouse: [
    ['id', 'id'],
    ['storeId', 'store_id'],
    ['code', 'code'],
    ['name', 'name'],
    ['address', 'address'],
    ['type', 'type::text'],
    ['readOnly', 'read_only'],
    ['active', 'active'],
    ['priority', 'priority'],
    ['createdAt', 'created_at'],
    ['updatedAt', 'updated_at'],
    ['marketplace', 'marketplace'],
  ],
} as const;

export type CatalogKind = keyof typeof FIELDS;
interface CatalogRows {
  product: ProductRow;
  variant: VariantRow;
  warehouse: WarehouseRow;
}

/**
 * Select items for the row of `kind` at table alias `alias`. With a `prefix` (to join catalogue
 * rows into another statement) every property is named `<prefix><property>`; read the row back
 * with catalogRowOf().
 */
export function catalogColumns(kind: CatalogKind, alias: string, prefix = ''): string {
  return FIELDS[kind].map(([prop, col]) => `${alias}.${col} AS "${prefix}${prop}"`).join(', ');
}

/** The row of `kind` inside a joined row selected with catalogColumns(kind, …, prefix); null if the join found none. */
export function catalogRowOf<K extends CatalogKind>(kind: K, row: Record<string, unknown>, prefix: string): CatalogRows[K] | null {
  const keys = prefixedKeys(kind, prefix);
  if (row[keys[0][1]] == null) return null;
  const out: Record<string, unknown> = {};
  for (const [prop, key] of keys) out[prop] = row[key];
  return out as unknown as CatalogRows[K];
}

const keyCache = new Map<string, [string, string][]>();
function prefixedKeys(kind: CatalogKind, prefix: string): [string, string][] {
  let keys = keyCache.get(`${kind}:${prefix}`);
  if (!keys) {
    keys = FIELDS[kind].map(([prop]) => [prop, `${prefix}${prop}`] as [string, string]);
    keyCache.set(`${kind}:${prefix}`, keys);
  }
  return keys;
}

const PRODUCT_COLUMNS = catalogColumns('product', 'p');
const VARIANT_COLUMNS = catalogColumns('variant', 'v');
const WAREHOUSE_COLUMNS = catalogColumns('warehouse', 'w');

const PRODUCTS_BY_IDS = preparedStatement('products_by_ids', `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.store_id = $1 AND p.id = ANY($2::uuid[])`);
const PRODUCTS_BY_EXTERNAL_IDS = preparedStatement(
  'products_by_external_ids',
  `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.store_id = $1 AND p.external_id = ANY($2::text[])`,
);
const VARIANTS_BY_IDS = preparedStatement('variants_by_ids', `SELECT ${VARIANT_COLUMNS} FROM variants v WHERE v.store_id = $1 AND v.id = ANY($2::uuid[])`);
const VARIANTS_BY_SKUS = preparedStatement('variants_by_skus', `SELECT ${VARIANT_COLUMNS} FROM variants v WHERE v.store_id = $1 AND v.sku = ANY($2::text[])`);
const WAREHOUSES_BY_IDS = preparedStatement(
  'warehouses_by_ids',
  `SELECT ${WAREHOUSE_COLUMNS} FROM warehouses w WHERE w.store_id = $1 AND w.id = ANY($2::uuid[])`,
);
const WAREHOUSES_BY_CODES = preparedStatement(
  'warehouses_by_codes',
  `SELECT ${WAREHOUSE_COLUMNS} FROM warehouses w WHERE w.store_id = $1 AND w.code = ANY($2::text[])`,
);

export function productsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ProductRow[]> {
  return tx.query<ProductRow>(PRODUCTS_BY_IDS, [storeId, ids]);
}
export function variantsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<VariantRow[]> {
  return tx.query<VariantRow>(VARIANTS_BY_IDS, [storeId, ids]);
}
export function variantsBySkus(tx: Tx, storeId: string, skus: readonly string[]): Promise<VariantRow[]> {
  return tx.query<VariantRow>(VARIANTS_BY_SKUS, [storeId, skus]);
}
export function warehousesByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<WarehouseRow[]> {
  return tx.query<WarehouseRow>(WAREHOUSES_BY_IDS, [storeId, ids]);
}
export function warehousesByCodes(tx: Tx, storeId: string, codes: readonly string[]): Promise<WarehouseRow[]> {
  return tx.query<WarehouseRow>(WAREHOUSES_BY_CODES, [storeId, codes]);
}
export function productsByExternalIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ProductRow[]> {
  return tx.query<ProductRow>(PRODUCTS_BY_EXTERNAL_IDS, [storeId, ids]);
}
