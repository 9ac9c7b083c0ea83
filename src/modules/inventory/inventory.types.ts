import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { Node, UserError } from '../../graphql/common.types';
import { DateTime } from '../../graphql/scalars';
import { InventoryPolicyEnum, MoneyInput } from '../catalog/graphql';
import { MovementReason } from '../stock';

export enum StockStatusEnum {
  IN_STOCK = 'IN_STOCK',
  LOW_STOCK = 'LOW_STOCK',
  CRITICAL = 'CRITICAL',
  OUT_OF_STOCK = 'OUT_OF_STOCK',
}
registerEnumType(StockStatusEnum, {
  name: 'StockStatus',
  description: 'Derived from available and the thresholds (a threshold of 0 disables it).',
  valuesConfig: {
    IN_STOCK: { description: 'available > lowStockThreshold (or no threshold applies).' },
    LOW_STOCK: { description: 'criticalThreshold < available ≤ lowStockThreshold.' },
    CRITICAL: { description: '0 < available ≤ criticalThreshold.' },
    OUT_OF_STOCK: { description: 'available = 0.' },
  },
});

/** The GraphQL enum MovementReason: the database enum of the generated Prisma client (defined once, in the stock core). */
export const MovementReasonEnum = MovementReason;
export type MovementReasonEnum = MovementReason;
registerEnumType(MovementReasonEnum, {
  name: 'MovementReason',
  description: 'Why stock moved; recorded on every ledger entry.',
  valuesConfig: {
    RECEIVED: { description: 'Goods received (e.g. a purchase order; inboundShipmentReceive names its shipment).' },
    CYCLE_COUNT: { description: 'A physical count replaced the quantity.' },
    CORRECTION: { description: 'A manual correction.' },
    DAMAGED: { description: 'Units written off as damaged.' },
    SHRINKAGE: { description: 'Units lost or stolen.' },
    RETURN: { description: 'A customer return restocked.' },
    SALE: { description: 'Units sold outside reservations.' },
    RESERVATION: { description: 'Units held by a reservation.' },
    RELEASE: { description: 'A reservation released its units.' },
    EXPIRY: { description: 'A reservation expired and its units came back.' },
    COMMIT: { description: 'A reservation was fulfilled: units left the warehouse.' },
    TRANSFER_IN: { description: 'Units moved in from another warehouse (inventoryMove, or a transfer received).' },
    TRANSFER_OUT: { description: 'Units moved out to another warehouse (inventoryMove, or a transfer shipped).' },
    INBOUND_EXPECTED: {
      description: 'Expected inbound units announced or changed by an inbound shipment: incoming changed, onHand did not.',
    },
    INBOUND_CANCELLED: { description: 'Expected inbound units withdrawn (inboundShipmentCancel): incoming fell.' },
    TRANSFER_SHIPPED: { description: 'Units of a transfer shipped to this warehouse: in transit, counted in incoming until received.' },
    TRANSFER_LOST: { description: 'Units of a transfer written off in transit (inventoryTransferWriteOff): incoming fell.' },
    OTHER: {
      description:
        'Anything else; also every change of safetyStock, incoming or thresholds (inventoryLevelUpdate), recorded with settingsBefore and settingsAfter.',
    },
  },
});

export enum BulkModeEnum {
  SET = 'SET',
  ADJUST = 'ADJUST',
}
registerEnumType(BulkModeEnum, {
  name: 'BulkMode',
  description: 'How a bulk item changes onHand.',
  valuesConfig: { SET: { description: 'Replace onHand with `quantity`.' }, ADJUST: { description: 'Add the signed `delta` to onHand.' } },
});

export enum ErrorPolicyEnum {
  REJECT_EVERYTHING = 'REJECT_EVERYTHING',
  REJECT_FAILED_ROWS = 'REJECT_FAILED_ROWS',
}
registerEnumType(ErrorPolicyEnum, {
  name: 'ErrorPolicy',
  description: 'What a bulk operation does when some items fail.',
  valuesConfig: {
    REJECT_EVERYTHING: { description: 'Atomic: if any item fails, nothing is applied.' },
    REJECT_FAILED_ROWS: { description: 'Failed items are skipped; the others are applied.' },
  },
});

@Access({ read: ['inventory:read'], public: ['id', 'available', 'status', 'sellable', 'variant', 'warehouse'] })
@ObjectType({ implements: Node, description: 'Stock of one variant in one warehouse.' })
export class InventoryLevel extends Node {
  @Field(() => Int, { description: 'Physical units in the warehouse.' })
  onHand!: number;
  @Field(() => Int, { description: 'Units held by active, unexpired reservations.' })
  reserved!: number;
  @Field(() => Int, {
    description: 'Units on their way: open inbound shipment lines plus units of transfers in transit to this warehouse (derived).',
  })
  incoming!: number;
  @Field(() => Int, { description: 'Units kept back from sale.' })
  safetyStock!: number;
  @Field(() => Int, { description: 'At or below this available quantity the status is LOW_STOCK (0 disables).' })
  lowStockThreshold!: number;
  @Field(() => Int, { description: 'At or below this available quantity the status is CRITICAL (0 disables).' })
  criticalThreshold!: number;
  @Field(() => Int, { description: 'Incremented on every change; usable for optimistic concurrency.' })
  version!: number;
  @Field(() => DateTime, { description: 'When the level last changed.' })
  updatedAt!: Date;
}

@InputType({
  description: 'Addresses one inventory level: by inventoryLevelId, or by (variantId | sku) and (warehouseId | warehouseCode).',
})
export class LevelAddressInput {
  @Field(() => ID, { nullable: true, description: 'Global id of the level.' })
  inventoryLevelId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => ID, { nullable: true, description: 'Global id of the warehouse.' })
  warehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Code of the warehouse.' })
  warehouseCode?: string | null;
}

@InputType({ description: 'Set onHand to an absolute quantity.' })
export class InventorySetInput extends LevelAddressInput {
  @Field(() => Int, {
    description: 'New onHand (0..2147483647); must not be below reserved (under a backorder policy: by at most its allowance).',
  })
  quantity!: number;
  @Field(() => Int, { nullable: true, description: 'Compare-and-set: apply only if onHand currently equals this.' })
  compareQuantity?: number | null;
  @Field(() => MovementReasonEnum, { nullable: true, description: 'Ledger reason; defaults to CORRECTION.' })
  reason?: MovementReasonEnum | null;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger (at most 255 characters).' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe: the same key and input replay the first result.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Apply a signed delta to onHand.' })
export class InventoryAdjustInput extends LevelAddressInput {
  @Field(() => Int, { description: 'Signed, non-zero change to onHand.' })
  delta!: number;
  @Field(() => MovementReasonEnum, { description: 'Ledger reason.' })
  reason!: MovementReasonEnum;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger (at most 255 characters).' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe: the same key and input replay the first result.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Move units of one variant between two warehouses.' })
export class InventoryMoveInput {
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => ID, { nullable: true, description: 'Source warehouse id.' })
  fromWarehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Source warehouse code.' })
  fromWarehouseCode?: string | null;
  @Field(() => ID, { nullable: true, description: 'Destination warehouse id.' })
  toWarehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Destination warehouse code.' })
  toWarehouseCode?: string | null;
  @Field(() => Int, { description: 'Units to move (> 0); must be available at the source.' })
  quantity!: number;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger (at most 255 characters).' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Change thresholds, safety stock or incoming of a level. Omitted fields stay as they are.' })
export class InventoryLevelUpdateInput extends LevelAddressInput {
  @Field(() => Int, { nullable: true, description: 'LOW_STOCK at or below this available quantity (0 disables).' })
  lowStockThreshold?: number | null;
  @Field(() => Int, { nullable: true, description: 'CRITICAL at or below this available quantity (0 disables).' })
  criticalThreshold?: number | null;
  @Field(() => Int, { nullable: true, description: 'Units kept back from sale.' })
  safetyStock?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'Units on their way. Deprecated: incoming is derived from open inbound shipments and transfers; this number is recorded as the level’s line of the store’s manual inbound shipment (refused below what open shipments and transfers bring: INCOMING_BELOW_OPEN_INBOUND).',
    deprecationReason:
      'incoming is derived from inbound shipments and transfers: use inboundShipmentCreate. Kept for one deprecation cycle.',
  })
  incoming?: number | null;
  @Field(() => InventoryPolicyEnum, {
    nullable: true,
    description: "Override the variant's backorder policy at this level; sets backorderLimit with it (omitted there: no limit).",
  })
  inventoryPolicy?: InventoryPolicyEnum | null;
  @Field(() => Int, { nullable: true, description: 'The backorder limit (≥ 0), only together with inventoryPolicy CONTINUE or PREORDER.' })
  backorderLimit?: number | null;
  @Field(() => Boolean, { nullable: true, description: "true: drop this level's override; the variant's policy and limit apply again." })
  inheritInventoryPolicy?: boolean | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'With incoming: accept lowering it below what preorders were sold against. Under a PREORDER policy, a change that lowers incoming below what preorders were sold against is refused (PREORDERS_UNCOVERED, nothing changed) unless this is true; then it applies, and the movement records the uncovered units (StockMovement.uncoveredAfter; InventoryLevel.uncovered shows them until stock or incoming covers them again).',
  })
  allowUncoveredPreorders?: boolean | null;
}

@InputType({
  description: 'One item of inventoryBulkUpdate. Address the variant by sku, variantId, or productExternalId (+ variantLabel).',
})
export class InventoryBulkItemInput {
  @Field(() => BulkModeEnum, {
    nullable: true,
    defaultValue: BulkModeEnum.ADJUST,
    description: 'SET takes quantity; ADJUST takes delta. Omitted or null: ADJUST.',
  })
  mode?: BulkModeEnum | null;
  @Field(() => Int, { nullable: true, description: 'New onHand (mode SET).' })
  quantity?: number | null;
  @Field(() => Int, { nullable: true, description: 'Signed change to onHand (mode ADJUST).' })
  delta?: number | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'externalId of the product; with variantLabel, or alone for its default variant.' })
  productExternalId?: string | null;
  @Field(() => String, { nullable: true, description: 'Variant label, matched case-insensitively.' })
  variantLabel?: string | null;
  @Field(() => ID, { nullable: true, description: 'Global id of the warehouse.' })
  warehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Code of the warehouse.' })
  warehouseCode?: string | null;
  @Field(() => MovementReasonEnum, { nullable: true, description: 'Ledger reason for this item (defaults to the request reason).' })
  reason?: MovementReasonEnum | null;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger.' })
  note?: string | null;
  @Field(() => MoneyInput, {
    nullable: true,
    description: "Also set the variant's price (seed 002), applied with the item (not when the item fails).",
  })
  price?: MoneyInput | null;
}

@InputType({ description: 'Up to 500 stock updates in one request.' })
export class InventoryBulkUpdateInput {
  @Field(() => [InventoryBulkItemInput], { description: 'The items (at most 500).' })
  items!: InventoryBulkItemInput[];
  @Field(() => ErrorPolicyEnum, { nullable: true, description: 'Defaults to REJECT_EVERYTHING.' })
  errorPolicy?: ErrorPolicyEnum | null;
  @Field(() => MovementReasonEnum, { nullable: true, description: 'Default ledger reason: CYCLE_COUNT for SET, CORRECTION for ADJUST.' })
  reason?: MovementReasonEnum | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of a single-level stock mutation.' })
export class InventoryLevelPayload {
  @Field(() => InventoryLevel, { nullable: true, description: 'The level after the change, or null when userErrors is not empty.' })
  inventoryLevel!: InventoryLevel | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of inventoryMove.' })
export class InventoryMovePayload {
  @Field(() => InventoryLevel, { nullable: true, description: 'The source level after the move.' })
  source!: InventoryLevel | null;
  @Field(() => InventoryLevel, { nullable: true, description: 'The destination level after the move.' })
  destination!: InventoryLevel | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}

@Access({ payload: true })
@ObjectType({ description: 'Outcome of one bulk item.' })
export class InventoryBulkItemResult {
  @Field(() => Int, { description: 'Position of the item in the input.' })
  index!: number;
  @Field(() => InventoryLevel, {
    nullable: true,
    description: 'The level after the change; null if this item failed or nothing was applied.',
  })
  inventoryLevel!: InventoryLevel | null;
  @Field(() => [UserError], { description: "This item's errors." })
  userErrors!: UserError[];
}

@Access({ payload: true })
@ObjectType({ description: 'Result of inventoryBulkUpdate.' })
export class InventoryBulkUpdatePayload {
  @Field(() => Int, { description: 'Items applied.' })
  updatedCount!: number;
  @Field(() => Int, { description: 'Items that failed.' })
  failedCount!: number;
  @Field(() => [InventoryBulkItemResult], { description: 'One result per item, in input order.' })
  results!: InventoryBulkItemResult[];
  @Field(() => [UserError], { description: 'Request-level errors (e.g. TOO_MANY_ITEMS, or a rejected atomic batch).' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}
