import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { Node } from '../../graphql/common.types';
import { Connection } from '../../graphql/connection';
import { DateTime, Int64 } from '../../graphql/scalars';
import { InventoryLevel, MovementReasonEnum, StockStatusEnum } from './inventory.types';

export enum LevelSortKeyEnum {
  UPDATED_AT = 'UPDATED_AT',
  AVAILABLE = 'AVAILABLE',
  ON_HAND = 'ON_HAND',
  SKU = 'SKU',
}
registerEnumType(LevelSortKeyEnum, {
  name: 'InventoryLevelSortKey',
  description: 'Orders of inventory levels (ties broken by id).',
  valuesConfig: {
    UPDATED_AT: { description: 'By last change, oldest first.' },
    AVAILABLE: { description: 'By available units, lowest first.' },
    ON_HAND: { description: 'By onHand units, lowest first.' },
    SKU: { description: 'By the variant’s SKU, alphabetically.' },
  },
});

export const InventoryLevelConnection = Connection(InventoryLevel, 'InventoryLevel');

@InputType({ description: 'Filters for inventory levels; all given conditions must hold.' })
export class InventoryLevelFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these variants.' })
  variantIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only variants of these products.' })
  productIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'Only these SKUs.' })
  skus?: string[] | null;
  @Field(() => [StockStatusEnum], { nullable: true, description: 'Only these statuses.' })
  statuses?: StockStatusEnum[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Only levels that are not IN_STOCK (low, critical or out of stock).' })
  lowStockOnly?: boolean | null;
  @Field(() => DateTime, { nullable: true, description: 'Only levels changed at or after this time (incremental sync).' })
  updatedSince?: Date | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'Only levels that can (true) or cannot (false) sell one more unit, backorder policies included (see InventoryLevel.sellable).',
  })
  sellable?: boolean | null;
}

@Access({ read: ['inventory:read'], public: ['available'] })
@ObjectType({ description: 'Exact sums of stock counters (Int64: exact at any size the writes allow).' })
export class StockTotals {
  @Field(() => Int64, { description: 'Sum of onHand.' })
  onHand!: bigint;
  @Field(() => Int64, { description: 'Sum of reserved.' })
  reserved!: bigint;
  @Field(() => Int64, { description: 'Sum of available (each level floored at 0).' })
  available!: bigint;
  @Field(() => Int64, { description: 'Sum of incoming.' })
  incoming!: bigint;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'Counts of inventory levels per status, and stock totals (seed 001).' })
export class InventorySummary {
  @Field(() => Int, { description: 'Levels matching the filter.' })
  total!: number;
  @Field(() => Int, { description: 'Levels IN_STOCK.' })
  inStock!: number;
  @Field(() => Int, { description: 'Levels LOW_STOCK.' })
  lowStock!: number;
  @Field(() => Int, { description: 'Levels CRITICAL.' })
  critical!: number;
  @Field(() => Int, { description: 'Levels OUT_OF_STOCK.' })
  outOfStock!: number;
  /** Deprecated Int field: see InventorySummaryResolver. */
  totalOnHand!: bigint;
  /** Deprecated Int field: see InventorySummaryResolver. */
  totalReserved!: bigint;
  /** Deprecated Int field: see InventorySummaryResolver. */
  totalAvailable!: bigint;
  /** Deprecated Int field: see InventorySummaryResolver. */
  totalIncoming!: bigint;
  @Field(() => StockTotals, { description: 'Exact sums of onHand, reserved, available and incoming over the matching levels.' })
  totals!: StockTotals;
}

export enum MovementKindEnum {
  ADJUSTMENT = 'ADJUSTMENT',
  RESERVATION = 'RESERVATION',
  RELEASE = 'RELEASE',
  EXPIRY = 'EXPIRY',
  COMMIT = 'COMMIT',
  TRANSFER = 'TRANSFER',
  INBOUND = 'INBOUND',
}
registerEnumType(MovementKindEnum, {
  name: 'StockMovementKind',
  description: 'What kind of change a movement is, derived from its reason.',
  valuesConfig: {
    ADJUSTMENT: { description: 'onHand changed by a set, adjust or bulk update (reason RECEIVED … OTHER).' },
    RESERVATION: { description: 'Units were held.' },
    RELEASE: { description: 'Held units were released.' },
    EXPIRY: { description: 'Held units expired.' },
    COMMIT: { description: 'Held units were sold and left.' },
    TRANSFER: { description: 'Units moved between warehouses (instantly, or shipped, received or written off by a transfer).' },
    INBOUND: { description: 'Expected inbound units announced, changed or cancelled (incoming changed; onHand did not).' },
  },
});

@Access({ read: ['inventory:read'] })
@ObjectType({ description: "A level's settings as recorded by a ledger entry." })
export class LevelSettings {
  @Field(() => Int, { description: 'Units kept back from sale.' })
  safetyStock!: number;
  @Field(() => Int, { description: 'Units on their way.' })
  incoming!: number;
  @Field(() => Int, { description: 'LOW_STOCK threshold (0 disables).' })
  lowStockThreshold!: number;
  @Field(() => Int, { description: 'CRITICAL threshold (0 disables).' })
  criticalThreshold!: number;
}

@Access({ read: ['inventory:read'] })
@ObjectType({
  implements: Node,
  description:
    'One ledger entry. For every level, onHand is the sum of its quantityDelta and reserved the sum of its reservedDelta; every change of a level (counters, safetyStock, incoming, thresholds) has one, so every change of available and status is recorded with before and after.',
})
export class StockMovement extends Node {
  @Field(() => MovementReasonEnum, { description: 'Why stock moved.' })
  reason!: MovementReasonEnum;
  @Field(() => Int, { description: 'Change of onHand.' })
  quantityDelta!: number;
  @Field(() => Int, { description: 'Change of reserved.' })
  reservedDelta!: number;
  @Field(() => Int, { description: 'onHand before.' })
  onHandBefore!: number;
  @Field(() => Int, { description: 'onHand after.' })
  onHandAfter!: number;
  @Field(() => Int, { description: 'reserved before.' })
  reservedBefore!: number;
  @Field(() => Int, { description: 'reserved after.' })
  reservedAfter!: number;
  @Field(() => String, { nullable: true, description: 'Free text given with the change.' })
  note!: string | null;
  @Field(() => String, { nullable: true, description: 'Who made the change: "key:<prefix>" or "system:<job>".' })
  actor!: string | null;
  @Field(() => String, { nullable: true, description: 'Idempotency key of the request that made the change.' })
  idempotencyKey!: string | null;
  @Field(() => DateTime, { description: 'When the change was made.' })
  createdAt!: Date;
}

export const StockMovementConnection = Connection(StockMovement, 'StockMovement');

@InputType({ description: 'Filters for stock movements; all given conditions must hold.' })
export class StockMovementFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these inventory levels.' })
  inventoryLevelIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these variants.' })
  variantIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'Only these SKUs.' })
  skus?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => [MovementReasonEnum], { nullable: true, description: 'Only these reasons.' })
  reasons?: MovementReasonEnum[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only movements made by these reservations.' })
  reservationIds?: string[] | null;
  @Field(() => DateTime, { nullable: true, description: 'Created at or after this time.' })
  createdAfter?: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Created before this time.' })
  createdBefore?: Date | null;
}

// ---- the products list (product.reads.ts) ----

export enum ProductSortKeyEnum {
  UPDATED_AT = 'UPDATED_AT',
  NAME = 'NAME',
  TOTAL_ON_HAND = 'TOTAL_ON_HAND',
  TOTAL_AVAILABLE = 'TOTAL_AVAILABLE',
}
registerEnumType(ProductSortKeyEnum, {
  name: 'ProductSortKey',
  description: 'Orders of products (ties broken by id).',
  valuesConfig: {
    UPDATED_AT: { description: 'By last change, oldest first.' },
    NAME: { description: 'By name, alphabetically.' },
    TOTAL_ON_HAND: { description: 'By onHand summed over all variants and warehouses, lowest first.' },
    TOTAL_AVAILABLE: { description: 'By available summed over all variants and warehouses, lowest first.' },
  },
});

@InputType({ description: 'Filters for products; all given conditions must hold.' })
export class ProductFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name, externalId or any variant SKU.' })
  search?: string | null;
  @Field(() => [StockStatusEnum], { nullable: true, description: 'Only products whose aggregate status is one of these.' })
  statuses?: StockStatusEnum[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or inactive (false) products.' })
  active?: boolean | null;
  @Field(() => [ID], { nullable: true, description: 'Only products stocked (with a level) in one of these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => DateTime, { nullable: true, description: 'Only products changed at or after this time.' })
  updatedSince?: Date | null;
}
