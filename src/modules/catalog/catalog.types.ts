import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { Node, UserError } from '../../graphql/common.types';
import { DateTime, Decimal } from '../../graphql/scalars';
import { InventoryPolicy } from '../stock';
import { SHIPPING_ZONES } from './ship-to';

/** The GraphQL enum InventoryPolicy: the database enum of the generated Prisma client (defined once). */
export const InventoryPolicyEnum = InventoryPolicy;
export type InventoryPolicyEnum = InventoryPolicy;
registerEnumType(InventoryPolicyEnum, {
  name: 'InventoryPolicy',
  description: 'What may be sold when a level has nothing available (backorders and preorders).',
  valuesConfig: {
    DENY: { description: 'Nothing: available never goes below 0 (the default).' },
    CONTINUE: {
      description: 'Backorders: reservations and adjustments may take available down to −backorderLimit (no limit: without bound).',
    },
    PREORDER: {
      description:
        'Preorders: available may go down to −incoming (announced inbound stock), and never past −backorderLimit when one is set.',
    },
  },
});

export enum WarehouseTypeEnum {
  OWN = 'OWN',
  FBA = 'FBA',
  THIRD_PARTY = 'THIRD_PARTY',
}
registerEnumType(WarehouseTypeEnum, {
  name: 'WarehouseType',
  description: 'Who operates a warehouse.',
  valuesConfig: {
    OWN: { description: 'Operated by the merchant.' },
    FBA: { description: 'Fulfilment by a marketplace (e.g. Amazon FBA); usually read-only.' },
    THIRD_PARTY: { description: 'A third-party logistics provider.' },
  },
});

/** The built-in shipping zones of ship-to.ts, as a GraphQL enum (same names). */
export enum ShippingZoneEnum {
  EU = 'EU',
  EEA = 'EEA',
  DACH = 'DACH',
  BENELUX = 'BENELUX',
  NORDICS = 'NORDICS',
  NORTH_AMERICA = 'NORTH_AMERICA',
}
registerEnumType(ShippingZoneEnum, {
  name: 'ShippingZone',
  description: 'A built-in group of destination countries a warehouse may declare it serves.',
  valuesConfig: Object.fromEntries(
    Object.entries(SHIPPING_ZONES).map(([k, v]) => [k, { description: `Countries: ${v.join(', ')}.` }]),
  ) as Record<ShippingZoneEnum, { description: string }>,
});

@Access({ read: ['inventory:read'], public: true })
@ObjectType({ description: 'One option of a variant, e.g. { name: "Size", value: "L" }.' })
export class VariantOption {
  @Field({ description: 'Option name, e.g. "Size".' })
  name!: string;
  @Field({ description: 'Option value, e.g. "L".' })
  value!: string;
}

@InputType({ description: 'One option of a variant.' })
export class VariantOptionInput {
  @Field({ description: 'Option name, e.g. "Size" (at most 255 characters).' })
  name!: string;
  @Field({ description: 'Option value, e.g. "L" (at most 255 characters).' })
  value!: string;
}

@Access({ read: ['inventory:read'], public: true })
@ObjectType({ description: 'An amount of money in one currency (seed 002: the variant price).' })
export class Money {
  @Field(() => Decimal, { description: 'The amount, e.g. "7.5" (exact decimal, at most 4 decimals, no trailing zeros).' })
  amount!: string;
  @Field({ description: 'ISO 4217 currency code, e.g. "EUR".' })
  currencyCode!: string;
}

@InputType({ description: 'An amount of money in one currency.' })
export class MoneyInput {
  @Field(() => Decimal, { description: 'Decimal ≥ 0 with at most 11 digits before and 4 after the point, e.g. "7.50".' })
  amount!: string;
  @Field({ description: 'ISO 4217 currency code: three capital letters, e.g. "EUR".' })
  currencyCode!: string;
}

@Access({
  read: ['inventory:read'],
  public: ['id', 'name', 'externalId', 'active', 'variants', 'variantCount', 'totals', 'totalAvailable', 'status', 'hasStock', 'sellable'],
})
@ObjectType({ implements: Node, description: 'A product. Stock is held by its variants.' })
export class Product extends Node {
  @Field({ description: 'Display name.' })
  name!: string;
  @Field(() => String, { nullable: true, description: "The merchant's own identifier or handle, unique per store." })
  externalId!: string | null;
  @Field({ description: 'Whether the product is active (sellable).' })
  active!: boolean;
  @Field(() => DateTime, { description: 'When the product was created.' })
  createdAt!: Date;
  @Field(() => DateTime, { description: 'When the product was last updated.' })
  updatedAt!: Date;
}

@Access({
  read: ['inventory:read'],
  public: [
    'id',
    'sku',
    'label',
    'options',
    'isDefault',
    'price',
    'product',
    'inventoryLevels',
    'totals',
    'totalAvailable',
    'status',
    'hasStock',
    'sellable',
  ],
})
@ObjectType({ implements: Node, description: 'A sellable variant of a product, identified by its SKU.' })
export class Variant extends Node {
  @Field({ description: 'Stock keeping unit, unique per store.' })
  sku!: string;
  @Field({ description: 'Human label, e.g. "Large / Red". Matched case-insensitively by variantByLabel.' })
  label!: string;
  @Field(() => String, { nullable: true, description: "The merchant's own identifier for the variant." })
  externalId!: string | null;
  @Field({ description: "Whether this is the product's default variant." })
  isDefault!: boolean;
  @Field(() => InventoryPolicyEnum, { description: 'Backorder policy of its levels (a level may override it).' })
  inventoryPolicy!: InventoryPolicyEnum;
  @Field(() => Int, {
    nullable: true,
    description: 'With CONTINUE or PREORDER: how far below zero available may go (null: no limit beyond the policy).',
  })
  backorderLimit!: number | null;
  @Field(() => DateTime, { description: 'When the variant was created.' })
  createdAt!: Date;
  @Field(() => DateTime, { description: 'When the variant was last updated.' })
  updatedAt!: Date;
}

@Access({ read: ['inventory:read'], public: ['id', 'code', 'name'] })
@ObjectType({ implements: Node, description: 'A stock location.' })
export class Warehouse extends Node {
  @Field({ description: 'Short code, unique per store, e.g. "BER-1".' })
  code!: string;
  @Field({ description: 'Display name.' })
  name!: string;
  @Field(() => String, { nullable: true, description: 'Postal address.' })
  address!: string | null;
  @Field(() => WarehouseTypeEnum, { description: 'Who operates the warehouse.' })
  type!: WarehouseTypeEnum;
  @Field({ description: 'Read-only warehouses (e.g. FBA) are synced from elsewhere: stock writes to them fail with READONLY_WAREHOUSE.' })
  readOnly!: boolean;
  @Field({ description: 'Inactive warehouses take no new reservations.' })
  active!: boolean;
  @Field(() => String, {
    nullable: true,
    description: 'The marketplace fulfilling this warehouse\'s stock, e.g. "amazon_eu" for FBA EU (seed 003); null for own warehouses.',
  })
  marketplace!: string | null;
  @Field(() => Int, { description: 'Allocation order for reservations without a warehouse: lower values are used first.' })
  priority!: number;
  @Field(() => [String], {
    description:
      'ISO 3166-1 alpha-2 countries this warehouse ships to. With servesZones empty too, it serves every destination (see inventoryReserve shipTo).',
  })
  servesCountries!: string[];
  @Field(() => [ShippingZoneEnum], { description: 'Built-in zones this warehouse ships to, besides servesCountries.' })
  servesZones!: ShippingZoneEnum[];
}

@InputType({ description: 'A variant to create.' })
export class VariantInput {
  @Field({ description: 'SKU, unique per store (printable ASCII without spaces, at most 128 characters).' })
  sku!: string;
  @Field(() => String, { nullable: true, description: 'Label; defaults to the option values joined by " / ", or "Default".' })
  label?: string | null;
  @Field(() => [VariantOptionInput], { nullable: true, description: 'Option values (at most 20).' })
  options?: VariantOptionInput[] | null;
  @Field(() => String, { nullable: true, description: "The merchant's own identifier." })
  externalId?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Make this the product's default variant." })
  isDefault?: boolean | null;
  @Field(() => MoneyInput, { nullable: true, description: 'Selling price (seed 002). On update: omitted keeps it, null removes it.' })
  price?: MoneyInput | null;
  @Field(() => InventoryPolicyEnum, { nullable: true, description: 'Backorder policy; defaults to DENY.' })
  inventoryPolicy?: InventoryPolicyEnum | null;
  @Field(() => Int, { nullable: true, description: 'With inventoryPolicy CONTINUE or PREORDER: the backorder limit (≥ 0; omitted: none).' })
  backorderLimit?: number | null;
}

@InputType({ description: 'Changes to a variant; omitted fields stay as they are.' })
export class VariantUpdateInput {
  @Field(() => String, { nullable: true, description: 'New SKU.' })
  sku?: string | null;
  @Field(() => String, { nullable: true, description: 'New label.' })
  label?: string | null;
  @Field(() => [VariantOptionInput], { nullable: true, description: 'New option values (replace the old ones).' })
  options?: VariantOptionInput[] | null;
  @Field(() => String, { nullable: true, description: 'New external id.' })
  externalId?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Make this the product's default variant." })
  isDefault?: boolean | null;
  @Field(() => MoneyInput, { nullable: true, description: 'Selling price (seed 002). On update: omitted keeps it, null removes it.' })
  price?: MoneyInput | null;
  @Field(() => InventoryPolicyEnum, {
    nullable: true,
    description: 'New backorder policy; sets backorderLimit with it (omitted there: no limit). Omitted: policy and limit unchanged.',
  })
  inventoryPolicy?: InventoryPolicyEnum | null;
  @Field(() => Int, { nullable: true, description: 'The backorder limit (≥ 0), only together with inventoryPolicy CONTINUE or PREORDER.' })
  backorderLimit?: number | null;
}

@InputType({ description: 'A product to create.' })
export class ProductCreateInput {
  @Field({ description: 'Display name (at most 255 characters).' })
  name!: string;
  @Field(() => String, { nullable: true, description: "The merchant's own identifier or handle, unique per store." })
  externalId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Defaults to true.' })
  active?: boolean | null;
  @Field(() => [VariantInput], {
    nullable: true,
    description: 'Variants to create (at most 100). None: one default variant is created with `sku`.',
  })
  variants?: VariantInput[] | null;
  @Field(() => String, { nullable: true, description: 'SKU of the default variant when no variants are given (defaults to externalId).' })
  sku?: string | null;
}

@InputType({ description: 'Changes to a product; omitted fields stay as they are.' })
export class ProductUpdateInput {
  @Field(() => String, { nullable: true, description: 'New name.' })
  name?: string | null;
  @Field(() => String, { nullable: true, description: 'New external id.' })
  externalId?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Activate or deactivate.' })
  active?: boolean | null;
}

@InputType({ description: 'A warehouse to create, or changes to one (omitted fields stay as they are).' })
export class WarehouseInput {
  @Field(() => String, { nullable: true, description: 'Code, unique per store (letters, digits, "_", "-", "."; required on create).' })
  code?: string | null;
  @Field(() => String, { nullable: true, description: 'Display name (required on create).' })
  name?: string | null;
  @Field(() => String, { nullable: true, description: 'Postal address.' })
  address?: string | null;
  @Field(() => WarehouseTypeEnum, { nullable: true, description: 'Defaults to OWN.' })
  type?: WarehouseTypeEnum | null;
  @Field(() => Boolean, { nullable: true, description: 'Defaults to true for FBA, else false.' })
  readOnly?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'Defaults to true.' })
  active?: boolean | null;
  @Field(() => String, {
    nullable: true,
    description:
      'The marketplace fulfilling this warehouse, e.g. "amazon_eu" for FBA EU (seed 003; letters, digits, "_", "-", "."). On update, null clears it.',
  })
  marketplace?: string | null;
  @Field(() => Int, { nullable: true, description: 'Allocation order (lower first), 0..1000000. Defaults to 0.' })
  priority?: number | null;
  @Field(() => [String], {
    nullable: true,
    description:
      'ISO 3166-1 alpha-2 countries it ships to (e.g. ["DE", "AT"]; at most 250). Defaults to []; on update the list replaces the old one, [] clears it.',
  })
  servesCountries?: string[] | null;
  @Field(() => [ShippingZoneEnum], {
    nullable: true,
    description: 'Built-in zones it ships to. Defaults to []; on update the list replaces the old one, [] clears it.',
  })
  servesZones?: ShippingZoneEnum[] | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of productCreate / productUpdate.' })
export class ProductPayload {
  @Field(() => Product, { nullable: true, description: 'The product, or null when userErrors is not empty.' })
  product!: Product | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
}

@Access({ payload: true })
@ObjectType({ description: 'Result of variantCreate / variantUpdate.' })
export class VariantPayload {
  @Field(() => Variant, { nullable: true, description: 'The variant, or null when userErrors is not empty.' })
  variant!: Variant | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
}

@Access({ payload: true })
@ObjectType({ description: 'Result of warehouseCreate / warehouseUpdate.' })
export class WarehousePayload {
  @Field(() => Warehouse, { nullable: true, description: 'The warehouse, or null when userErrors is not empty.' })
  warehouse!: Warehouse | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
}

export const GlobalID = ID;
