import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { DateTime } from '../../graphql/scalars';
import { MovementReasonEnum, StockStatusEnum } from '../inventory/graphql';

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'Counters of a level at one moment.' })
export class StockSnapshot {
  @Field(() => Int, { description: 'Units physically present.' })
  onHand!: number;
  @Field(() => Int, { description: 'Units held by active reservations.' })
  reserved!: number;
  @Field(() => Int, { description: 'Units kept back from sale.' })
  safetyStock!: number;
  @Field(() => Int, { description: 'Units expected.' })
  incoming!: number;
  @Field(() => Int, { description: 'onHand − reserved − safetyStock, floored at 0.' })
  available!: number;
  @Field(() => StockStatusEnum, { description: 'Status at that moment.' })
  status!: StockStatusEnum;
  @Field(() => Int, {
    description: 'Units below zero available: max(0, reserved + safetyStock − onHand) (backorders; 0 on events before them).',
  })
  backordered!: number;
  @Field({ description: 'Whether one more unit could be sold (see InventoryLevel.sellable).' })
  sellable!: boolean;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'A committed change of one inventory level.' })
export class InventoryChangedEvent {
  @Field({ description: 'Position in the store’s event stream: pass it as "after" to resume from here.' })
  cursor!: string;
  @Field(() => DateTime, { description: 'When the change was committed.' })
  occurredAt!: Date;
  @Field(() => MovementReasonEnum, { description: 'Why (EXPIRY when reservations expired).' })
  reason!: MovementReasonEnum;
  @Field(() => String, { nullable: true, description: 'Who made the change.' })
  actor!: string | null;
  @Field(() => Int, { description: 'Units released by expired reservations in this change.' })
  expiredQuantity!: number;
  @Field(() => Int, {
    nullable: true,
    description:
      'Units sold or held beyond the level’s allowance after the change, when this change took them there (StockMovement.uncoveredAfter: preorders whose incoming was withdrawn with allowUncoveredPreorders); null otherwise.',
  })
  uncoveredAfter!: number | null;
  @Field(() => StockSnapshot, { description: 'Counters before the change.' })
  before!: StockSnapshot;
  @Field(() => StockSnapshot, { description: 'Counters after the change.' })
  after!: StockSnapshot;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'A level crossed a status boundary, or its sellable flipped (emitted once per actual crossing).' })
export class StockStatusChangedEvent {
  @Field({ description: 'Position in the store’s event stream: pass it as "after" to resume from here.' })
  cursor!: string;
  @Field(() => DateTime, { description: 'When the change was committed.' })
  occurredAt!: Date;
  @Field(() => StockStatusEnum, { description: 'Status before.' })
  previousStatus!: StockStatusEnum;
  @Field(() => StockStatusEnum, { description: 'Status now.' })
  status!: StockStatusEnum;
  @Field({ description: 'True when the level left OUT_OF_STOCK.' })
  backInStock!: boolean;
  @Field(() => Int, { description: 'Available units now.' })
  available!: number;
  @Field({ description: 'Whether the level was sellable before (see InventoryLevel.sellable).' })
  previousSellable!: boolean;
  @Field({ description: 'Whether the level is sellable now: an event also announces a flip of sellable without a status change.' })
  sellable!: boolean;
  @Field(() => Int, { description: 'Units below zero available now (backorders).' })
  backordered!: number;
}

@InputType({ description: 'Which levels’ events to receive; all given conditions must hold.' })
export class InventoryEventFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these variants.' })
  variantIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: 'Only these SKUs.' })
  skus?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only variants of these products.' })
  productIds?: string[] | null;
}

@InputType({ description: 'Which status changes to receive; all given conditions must hold.' })
export class StockStatusEventFilter extends InventoryEventFilter {
  @Field(() => [StockStatusEnum], { nullable: true, description: 'Only changes into these statuses.' })
  statuses?: StockStatusEnum[] | null;
}
