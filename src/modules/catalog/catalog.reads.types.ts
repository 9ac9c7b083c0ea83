import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { UserError } from '../../graphql/common.types';
import { Connection } from '../../graphql/connection';
import { DateTime } from '../../graphql/scalars';
import { Product, Variant, Warehouse, WarehouseTypeEnum } from './catalog.types';

export const ProductConnection = Connection(Product, 'Product');
export const VariantConnection = Connection(Variant, 'Variant');
export const WarehouseConnection = Connection(Warehouse, 'Warehouse');

export enum VariantSortKeyEnum {
  SKU = 'SKU',
  UPDATED_AT = 'UPDATED_AT',
  PRICE = 'PRICE',
}
registerEnumType(VariantSortKeyEnum, {
  name: 'VariantSortKey',
  description: 'Orders of variants (ties broken by id).',
  valuesConfig: {
    SKU: { description: 'By SKU, alphabetically.' },
    UPDATED_AT: { description: 'By last change, oldest first.' },
    PRICE: {
      description: 'By price amount, lowest first, whatever the currency; variants without a price come first (last with reverse).',
    },
  },
});

export enum WarehouseSortKeyEnum {
  PRIORITY = 'PRIORITY',
  CODE = 'CODE',
  NAME = 'NAME',
}
registerEnumType(WarehouseSortKeyEnum, {
  name: 'WarehouseSortKey',
  description: 'Orders of warehouses (ties broken by id).',
  valuesConfig: {
    PRIORITY: { description: 'By allocation priority, lowest (used first) first.' },
    CODE: { description: 'By code, alphabetically.' },
    NAME: { description: 'By name, alphabetically.' },
  },
});

@InputType({ description: 'Filters for variants; all given conditions must hold.' })
export class VariantFilter {
  @Field(() => [ID], { nullable: true, description: 'Only variants of these products.' })
  productIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'Only these SKUs.' })
  skus?: string[] | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the SKU, label or externalId.' })
  search?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'Only variants changed at or after this time.' })
  updatedSince?: Date | null;
}

@InputType({ description: 'Filters for warehouses; all given conditions must hold.' })
export class WarehouseFilter {
  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or inactive (false) warehouses.' })
  active?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'Only read-only (true) or writable (false) warehouses.' })
  readOnly?: boolean | null;
  @Field(() => [WarehouseTypeEnum], { nullable: true, description: 'Only these types.' })
  types?: WarehouseTypeEnum[] | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the code or name.' })
  search?: string | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of variantByLabel: the variant, or why there is none.' })
export class VariantLookupResult {
  @Field(() => Variant, { nullable: true, description: 'The one variant with that label.' })
  variant!: unknown;
  @Field(() => [UserError], { description: 'PRODUCT_NOT_FOUND, VARIANT_NOT_FOUND or VARIANT_LABEL_AMBIGUOUS.' })
  userErrors!: UserError[];
}
