import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { Node, UserError } from '../../graphql/common.types';
import { Connection } from '../../graphql/connection';
import { DateTime } from '../../graphql/scalars';
import { LevelAddressInput } from '../inventory/graphql';

export enum InboundStatusEnum {
  OPEN = 'OPEN',
  PARTIALLY_RECEIVED = 'PARTIALLY_RECEIVED',
  RECEIVED = 'RECEIVED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(InboundStatusEnum, {
  name: 'InboundShipmentStatus',
  description: 'Lifecycle of an inbound shipment.',
  valuesConfig: {
    OPEN: { description: 'Announced; nothing received yet. Its lines count in incoming.' },
    PARTIALLY_RECEIVED: { description: 'Some units received; the open rest still counts in incoming.' },
    RECEIVED: { description: 'Every line received (or over-received): nothing is open.' },
    CANCELLED: { description: 'Cancelled: what was open no longer counts in incoming.' },
  },
});

@Access({ read: ['inventory:read'] })
@ObjectType({ implements: Node, description: 'An expected quantity of one variant in one warehouse.' })
export class InboundShipmentLine extends Node {
  @Field(() => Int, { description: 'Units expected.' })
  quantity!: number;
  @Field(() => Int, { description: 'Units received so far (may exceed quantity after an allowed over-receipt).' })
  receivedQuantity!: number;
  @Field(() => Int, { description: 'Units withdrawn by a cancellation.' })
  cancelledQuantity!: number;
  @Field(() => Int, { description: 'quantity − received − cancelled, floored at 0: what counts in the level’s incoming.' })
  openQuantity!: number;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ implements: Node, description: 'An announced delivery (purchase order, supplier shipment): its open lines make incoming.' })
export class InboundShipment extends Node {
  @Field({ description: 'Your reference (e.g. the purchase order number), unique per store.' })
  reference!: string;
  @Field(() => String, { nullable: true, description: 'Supplier or source.' })
  source!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'When it is expected.' })
  expectedAt!: Date | null;
  @Field(() => InboundStatusEnum, { description: 'Status.' })
  status!: InboundStatusEnum;
  @Field({ description: 'True for the store’s manual shipment: the lines of the deprecated inventoryLevelUpdate(incoming).' })
  manual!: boolean;
  @Field(() => String, { nullable: true, description: 'Free text.' })
  note!: string | null;
  @Field(() => DateTime, { description: 'When it was created.' })
  createdAt!: Date;
  @Field(() => DateTime, { description: 'When it last changed.' })
  updatedAt!: Date;
}
export const InboundShipmentConnection = Connection(InboundShipment, 'InboundShipment');

export enum TransferStatusEnum {
  IN_TRANSIT = 'IN_TRANSIT',
  PARTIALLY_RECEIVED = 'PARTIALLY_RECEIVED',
  RECEIVED = 'RECEIVED',
  CLOSED = 'CLOSED',
}
registerEnumType(TransferStatusEnum, {
  name: 'InventoryTransferStatus',
  description: 'Lifecycle of a transfer.',
  valuesConfig: {
    IN_TRANSIT: { description: 'Shipped; nothing received yet.' },
    PARTIALLY_RECEIVED: { description: 'Some units received or written off; the rest is in transit.' },
    RECEIVED: { description: 'Every unit received.' },
    CLOSED: { description: 'Nothing in transit any more, and some units were written off.' },
  },
});

export enum LossReasonEnum {
  LOST = 'LOST',
  DAMAGED = 'DAMAGED',
  STOLEN = 'STOLEN',
  OTHER = 'OTHER',
}
registerEnumType(LossReasonEnum, {
  name: 'TransferLossReason',
  description: 'Why units of a transfer were written off in transit.',
  valuesConfig: {
    LOST: { description: 'Lost by the carrier.' },
    DAMAGED: { description: 'Arrived unusable.' },
    STOLEN: { description: 'Stolen in transit.' },
    OTHER: { description: 'Anything else (say what in note).' },
  },
});

@Access({ read: ['inventory:read'] })
@ObjectType({ implements: Node, description: 'The units of one variant a transfer moves.' })
export class InventoryTransferLine extends Node {
  @Field(() => Int, { description: 'Units shipped.' })
  quantity!: number;
  @Field(() => Int, { description: 'Units received at the destination.' })
  receivedQuantity!: number;
  @Field(() => Int, { description: 'Units written off in transit.' })
  lostQuantity!: number;
  @Field(() => Int, { description: 'quantity − received − lost: counted in the destination’s incoming.' })
  inTransitQuantity!: number;
  @Field(() => LossReasonEnum, { nullable: true, description: 'Reason of the last write-off.' })
  lostReason!: LossReasonEnum | null;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ implements: Node, description: 'A move between warehouses that takes time (inventoryMove is the instant one).' })
export class InventoryTransfer extends Node {
  @Field(() => String, { nullable: true, description: 'Your reference.' })
  reference!: string | null;
  @Field(() => TransferStatusEnum, { description: 'Status.' })
  status!: TransferStatusEnum;
  @Field(() => DateTime, { nullable: true, description: 'When it is expected at the destination.' })
  expectedAt!: Date | null;
  @Field(() => DateTime, { description: 'When it was shipped.' })
  shippedAt!: Date;
  @Field(() => String, { nullable: true, description: 'Free text.' })
  note!: string | null;
  @Field(() => DateTime, { description: 'When it last changed.' })
  updatedAt!: Date;
}
export const InventoryTransferConnection = Connection(InventoryTransfer, 'InventoryTransfer');

@InputType({ description: 'Filters for inbound shipments; all given conditions must hold.' })
export class InboundShipmentFilter {
  @Field(() => [InboundStatusEnum], { nullable: true, description: 'Only these statuses.' })
  statuses?: InboundStatusEnum[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only shipments with a line into one of these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => DateTime, { nullable: true, description: 'Only shipments expected before this time.' })
  expectedBefore?: Date | null;
  @Field(() => String, { nullable: true, description: 'Only this reference, exactly.' })
  reference?: string | null;
}

@InputType({ description: 'Filters for transfers; all given conditions must hold.' })
export class InventoryTransferFilter {
  @Field(() => [TransferStatusEnum], { nullable: true, description: 'Only these statuses.' })
  statuses?: TransferStatusEnum[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only transfers from or to one of these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => DateTime, { nullable: true, description: 'Only transfers expected before this time.' })
  expectedBefore?: Date | null;
  @Field(() => String, { nullable: true, description: 'Only this reference, exactly.' })
  reference?: string | null;
}

@InputType({ description: 'One line of a shipment: a variant (id or sku), a warehouse (id or code), and the units expected.' })
export class InboundShipmentLineInput extends LevelAddressInput {
  @Field(() => Int, { description: 'Units expected (> 0). On update: the line’s new quantity (not below what was received).' })
  quantity!: number;
}

@InputType({ description: 'Announce an inbound shipment.' })
export class InboundShipmentCreateInput {
  @Field({ description: 'Your reference (e.g. the purchase order number), unique per store.' })
  reference!: string;
  @Field(() => String, { nullable: true, description: 'Supplier or source.' })
  source?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'When it is expected.' })
  expectedAt?: Date | null;
  @Field(() => String, { nullable: true, description: 'Free text (at most 255 characters).' })
  note?: string | null;
  @Field(() => [InboundShipmentLineInput], { description: 'The lines (1 to 100, one per variant and warehouse).' })
  lines!: InboundShipmentLineInput[];
  @Field(() => String, { nullable: true, description: 'Makes retries safe: the same key and input replay the first result.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Change an open shipment. Omitted fields stay; given lines set their quantity (new ones are added).' })
export class InboundShipmentUpdateInput {
  @Field(() => ID, { description: 'The shipment.' })
  id!: string;
  @Field(() => String, { nullable: true, description: 'New reference.' })
  reference?: string | null;
  @Field(() => String, { nullable: true, description: 'New supplier or source.' })
  source?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'New expected time.' })
  expectedAt?: Date | null;
  @Field(() => String, { nullable: true, description: 'New note.' })
  note?: string | null;
  @Field(() => [InboundShipmentLineInput], { nullable: true, description: 'Lines to add or whose quantity changes.' })
  lines?: InboundShipmentLineInput[] | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'Accept lowering a line’s quantity below what preorders were sold against. Under a PREORDER policy, a change that lowers incoming below what preorders were sold against is refused (PREORDERS_UNCOVERED, nothing changed) unless this is true; then it applies, and the movement records the uncovered units (StockMovement.uncoveredAfter; InventoryLevel.uncovered shows them until stock or incoming covers them again).',
  })
  allowUncoveredPreorders?: boolean | null;
}

@InputType({ description: 'Cancel an open shipment: what is still open stops counting in incoming.' })
export class InboundShipmentCancelInput {
  @Field(() => ID, { description: 'The shipment.' })
  id!: string;
  @Field(() => String, { nullable: true, description: 'Why (for the ledger).' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'Accept cancelling open units that preorders were sold against. Under a PREORDER policy, a change that lowers incoming below what preorders were sold against is refused (PREORDERS_UNCOVERED, nothing changed) unless this is true; then it applies, and the movement records the uncovered units (StockMovement.uncoveredAfter; InventoryLevel.uncovered shows them until stock or incoming covers them again).',
  })
  allowUncoveredPreorders?: boolean | null;
}

@InputType({ description: 'Units received on one line: by lineId, or by variant and warehouse.' })
export class InboundReceiptLineInput extends LevelAddressInput {
  @Field(() => ID, { nullable: true, description: 'The shipment line (instead of variant and warehouse).' })
  lineId?: string | null;
  @Field(() => Int, { description: 'Units received now (> 0).' })
  quantity!: number;
}

@InputType({ description: 'Receive units of a shipment (partial and repeated receipts allowed).' })
export class InboundShipmentReceiveInput {
  @Field(() => ID, { description: 'The shipment.' })
  id!: string;
  @Field(() => [InboundReceiptLineInput], { description: 'What arrived (1 to 100 lines).' })
  lines!: InboundReceiptLineInput[];
  @Field(() => Boolean, { nullable: true, description: 'Allow receiving more than is open on a line (otherwise OVER_RECEIPT).' })
  allowOverReceipt?: boolean | null;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger.' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'One variant of a transfer.' })
export class TransferShipLineInput {
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => Int, { description: 'Units shipped (> 0); must be available at the source.' })
  quantity!: number;
}

@InputType({ description: 'Ship units from one warehouse to another: they leave the source now and arrive later.' })
export class InventoryTransferShipInput {
  @Field(() => String, { nullable: true, description: 'Your reference.' })
  reference?: string | null;
  @Field(() => ID, { nullable: true, description: 'Source warehouse id.' })
  fromWarehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Source warehouse code.' })
  fromWarehouseCode?: string | null;
  @Field(() => ID, { nullable: true, description: 'Destination warehouse id.' })
  toWarehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Destination warehouse code.' })
  toWarehouseCode?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'When it is expected at the destination.' })
  expectedAt?: Date | null;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger.' })
  note?: string | null;
  @Field(() => [TransferShipLineInput], { description: 'The variants (1 to 100, one line each).' })
  lines!: TransferShipLineInput[];
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Units of one transfer line: by lineId, variantId or sku.' })
export class TransferLineQuantityInput {
  @Field(() => ID, { nullable: true, description: 'The transfer line.' })
  lineId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => Int, { nullable: true, description: 'Units (> 0). Required to receive; a write-off without it takes all in transit.' })
  quantity?: number | null;
}

@InputType({ description: 'Receive units of a transfer at its destination (partial and repeated receipts allowed).' })
export class InventoryTransferReceiveInput {
  @Field(() => ID, { description: 'The transfer.' })
  id!: string;
  @Field(() => [TransferLineQuantityInput], { description: 'What arrived.' })
  lines!: TransferLineQuantityInput[];
  @Field(() => String, { nullable: true, description: 'Free text for the ledger.' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Write off units of a transfer lost in transit.' })
export class InventoryTransferWriteOffInput {
  @Field(() => ID, { description: 'The transfer.' })
  id!: string;
  @Field(() => [TransferLineQuantityInput], { nullable: true, description: 'Lines and units; omitted: everything still in transit.' })
  lines?: TransferLineQuantityInput[] | null;
  @Field(() => LossReasonEnum, { description: 'Why.' })
  reason!: LossReasonEnum;
  @Field(() => String, { nullable: true, description: 'Free text for the ledger.' })
  note?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'Accept writing off units in transit that preorders at the destination were sold against. Under a PREORDER policy, a change that lowers incoming below what preorders were sold against is refused (PREORDERS_UNCOVERED, nothing changed) unless this is true; then it applies, and the movement records the uncovered units (StockMovement.uncoveredAfter; InventoryLevel.uncovered shows them until stock or incoming covers them again).',
  })
  allowUncoveredPreorders?: boolean | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of an inbound shipment mutation.' })
export class InboundShipmentPayload {
  @Field(() => InboundShipment, { nullable: true, description: 'The shipment after the change, or null when userErrors is not empty.' })
  inboundShipment!: InboundShipment | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of a transfer mutation.' })
export class InventoryTransferPayload {
  @Field(() => InventoryTransfer, { nullable: true, description: 'The transfer after the change, or null when userErrors is not empty.' })
  inventoryTransfer!: InventoryTransfer | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}
