/**
 * Catalogue writes: products, variants and warehouses, through the typed Prisma client. Every
 * statement is scoped by store, so an id from another store behaves exactly like a missing one.
 * Unique violations (P2002) become TAKEN userErrors naming the field.
 */
import type { PrismaClient } from '../../generated/prisma/client';
import { ErrorCode, userError } from '../../graphql/errors';
import { LIMITS, validateText } from '../../validation';
import { policyErrors } from '../stock';
import {
  defaultLabel,
  fail,
  ok,
  policyData,
  priceData,
  takenError,
  uniqueViolation,
  validateOptions,
  validatePrice,
  validateVariant,
  validateWarehouse,
  normalizeServed,
  type ProductCreateInput,
  type ProductRow,
  type ProductUpdateInput,
  type Result,
  type VariantInput,
  type VariantRow,
  type WarehouseInput,
  type WarehouseRow,
} from './catalog.model';

// The stock side validates prices with the catalogue's rule (src/modules/inventory/inventory.service.ts).
export { validatePrice, type Money } from './catalog.model';

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
    errors.push(
      userError(ErrorCode.INVALID_INPUT, 'A product without variants needs a sku (or an externalId) for its default variant', [
        'input',
        'sku',
      ]),
    );
  }
  if (errors.length) return fail(...errors);
  // Nested under the product: the variants' store_id is the product's (relation on (storeId, productId)).
  const rows =
    variants.length > 0
      ? variants.map((v, i) => ({
          sku: v.sku,
          label: v.label ?? defaultLabel(v.options),
          options: (v.options ?? []) as object,
          externalId: v.externalId ?? null,
          isDefault: v.isDefault ?? (i === 0 && !variants.some((x) => x.isDefault)),
          ...priceData(v.price),
          ...policyData(v),
        }))
      : [{ sku: (input.sku ?? input.externalId)!, label: 'Default', options: [] as object, externalId: null, isDefault: true }];
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

export async function updateProduct(
  prisma: PrismaClient,
  storeId: string,
  id: string | null,
  input: ProductUpdateInput,
): Promise<Result<ProductRow>> {
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

export async function createVariant(
  prisma: PrismaClient,
  storeId: string,
  productId: string | null,
  input: VariantInput,
): Promise<Result<VariantRow>> {
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
          ...policyData(input),
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
    ...policyErrors(input.inventoryPolicy, input.backorderLimit, ['input']),
  ];
  if (errors.length) return fail(...errors);
  const current = id ? await prisma.variant.findFirst({ where: { id, storeId } }) : null;
  if (!current) return fail(userError(ErrorCode.VARIANT_NOT_FOUND, 'Variant not found', ['id']));
  try {
    const v = await prisma.$transaction(async (tx) => {
      if (input.isDefault)
        await tx.variant.updateMany({
          where: { productId: current.productId, storeId, NOT: { id: current.id } },
          data: { isDefault: false },
        });
      return tx.variant.update({
        where: { storeId_id: { storeId, id: current.id } },
        data: {
          ...(input.sku != null ? { sku: input.sku } : {}),
          ...(input.label != null ? { label: input.label } : {}),
          ...(input.options != null ? { options: input.options as object } : {}),
          ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
          ...(input.isDefault != null ? { isDefault: input.isDefault } : {}),
          ...priceData(input.price),
          ...policyData(input),
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
        servesCountries: normalizeServed(input.servesCountries ?? []),
        servesZones: normalizeServed(input.servesZones ?? []),
      },
    });
    return ok(w);
  } catch (e) {
    const f = uniqueViolation(e);
    if (f) return fail(takenError(f, ['input'], 'warehouse'));
    throw e;
  }
}

export async function updateWarehouse(
  prisma: PrismaClient,
  storeId: string,
  id: string | null,
  input: WarehouseInput,
): Promise<Result<WarehouseRow>> {
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
        ...(input.servesCountries != null ? { servesCountries: normalizeServed(input.servesCountries) } : {}),
        ...(input.servesZones != null ? { servesZones: normalizeServed(input.servesZones) } : {}),
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
