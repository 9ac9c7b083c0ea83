import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { Node, UserError } from '../../graphql/common.types';
import { DateTime } from '../../graphql/scalars';
import { Connection } from '../../graphql/connection';

export enum ReservationStatusEnum {
  ACTIVE = 'ACTIVE',
  RELEASED = 'RELEASED',
  COMMITTED = 'COMMITTED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(ReservationStatusEnum, {
  name: 'ReservationStatus',
  description: 'Lifecycle of a reservation or of one of its lines.',
  valuesConfig: {
    ACTIVE: { description: 'Holding stock until expiresAt.' },
    RELEASED: { description: 'Released: the units went back to available.' },
    COMMITTED: { description: 'Fulfilled (at least partly): the units left onHand.' },
    EXPIRED: { description: 'expiresAt passed before release or commit: the units went back to available.' },
  },
});

export enum AllocationStrategyEnum {
  PRIORITY = 'PRIORITY',
  MOST_AVAILABLE = 'MOST_AVAILABLE',
  FEWEST_SPLITS = 'FEWEST_SPLITS',
}
registerEnumType(AllocationStrategyEnum, {
  name: 'AllocationStrategy',
  description: 'How a reservation line without a warehouse is allocated among the warehouses that may serve it.',
  valuesConfig: {
    PRIORITY: { description: 'Each line takes from warehouses by priority (then code), splitting when one runs out. The default.' },
    MOST_AVAILABLE: { description: 'Each line takes first from the warehouse with the most available units.' },
    FEWEST_SPLITS: {
      description:
        'The whole cart from as few warehouses as possible: one warehouse that can fill every line when there is one (the first by priority), else the fewest.',
    },
  },
});

@Access({ read: ['inventory:read', 'inventory:reserve'] })
@ObjectType({ implements: Node, description: 'A quantity held on one inventory level.' })
export class ReservationLine extends Node {
  @Field(() => ReservationStatusEnum, { description: 'Status of this line.' })
  status!: ReservationStatusEnum;
  @Field(() => Int, { description: 'Units still held (while ACTIVE).' })
  quantity!: number;
  @Field(() => Int, { description: 'Units held when the reservation was made.' })
  originalQuantity!: number;
  @Field(() => Int, { description: 'Units committed (sold).' })
  committedQuantity!: number;
  @Field(() => Int, { description: 'Units released.' })
  releasedQuantity!: number;
  @Field(() => Int, { description: 'Units that expired.' })
  expiredQuantity!: number;
}

@Access({ read: ['inventory:read', 'inventory:reserve'] })
@ObjectType({ implements: Node, description: 'A cart-level hold on stock, across one or more levels.' })
export class Reservation extends Node {
  @Field(() => ReservationStatusEnum, { description: 'EXPIRED as soon as expiresAt passes, even before the sweeper runs.' })
  status!: ReservationStatusEnum;
  @Field(() => String, { nullable: true, description: 'Caller reference, e.g. an order or cart id.' })
  reference!: string | null;
  @Field(() => DateTime, { description: 'When the hold lapses.' })
  expiresAt!: Date;
  @Field(() => DateTime, { description: 'When the reservation was made.' })
  createdAt!: Date;
}

@InputType({
  description:
    'One line to reserve. Without a warehouse, units are allocated from active, writable warehouses (that ship to shipTo) by the allocation strategy, possibly split.',
})
export class ReserveLineInput {
  @Field(() => ID, { nullable: true, description: 'Global id of the variant.' })
  variantId?: string | null;
  @Field(() => String, { nullable: true, description: 'SKU of the variant.' })
  sku?: string | null;
  @Field(() => ID, { nullable: true, description: 'Reserve in this warehouse only.' })
  warehouseId?: string | null;
  @Field(() => String, { nullable: true, description: 'Reserve in this warehouse only (by code).' })
  warehouseCode?: string | null;
  @Field(() => Int, { description: 'Units to hold (> 0).' })
  quantity!: number;
}

@InputType({ description: 'Where a reservation will be shipped.' })
export class ShipToInput {
  @Field(() => String, { description: 'ISO 3166-1 alpha-2 country code, e.g. "DE" (any case).' })
  countryCode!: string;
}

@InputType({ description: 'A reservation: all lines succeed or none do.' })
export class InventoryReserveInput {
  @Field(() => [ReserveLineInput], { description: 'Lines (1..100).' })
  lines!: ReserveLineInput[];
  @Field(() => Int, {
    nullable: true,
    description: 'Lifetime in seconds; defaults to RESERVATION_TTL_DEFAULT_SECONDS, at most RESERVATION_TTL_MAX_SECONDS.',
  })
  ttlSeconds?: number | null;
  @Field(() => String, { nullable: true, description: 'Caller reference, e.g. an order id (at most 255 characters).' })
  reference?: string | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe: the same key and input replay the first result.' })
  idempotencyKey?: string | null;
  @Field(() => AllocationStrategyEnum, {
    nullable: true,
    description: "How lines without a warehouse are allocated; defaults to the store's (storeSettings.allocationStrategy).",
  })
  allocationStrategy?: AllocationStrategyEnum | null;
  @Field(() => ShipToInput, {
    nullable: true,
    description:
      'The destination: only warehouses that ship there are considered (a warehouse that declares no servesCountries and no servesZones ships everywhere); a line naming a warehouse that does not is SHIP_TO_NOT_SERVED.',
  })
  shipTo?: ShipToInput | null;
}

@InputType({ description: 'Renew an active reservation.' })
export class ReservationExtendInput {
  @Field(() => ID, { description: 'Global id of the reservation.' })
  reservationId!: string;
  @Field(() => Int, {
    description:
      'The hold lasts this many seconds from now (1..RESERVATION_TTL_MAX_SECONDS); an extension never shortens a hold that already lasts longer.',
  })
  ttlSeconds!: number;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'A partial quantity of one reservation line.' })
export class ReservationLineQuantityInput {
  @Field(() => ID, { description: 'Global id of the reservation line.' })
  lineId!: string;
  @Field(() => Int, { description: 'Units to release or commit (> 0, at most what the line holds).' })
  quantity!: number;
}

@InputType({ description: 'Release or commit a whole reservation, or part of it.' })
export class ReservationSettleInput {
  @Field(() => ID, { description: 'Global id of the reservation.' })
  reservationId!: string;
  @Field(() => [ReservationLineQuantityInput], {
    nullable: true,
    description: 'Partial quantities per line; omit for the whole reservation.',
  })
  lines?: ReservationLineQuantityInput[] | null;
  @Field(() => String, { nullable: true, description: 'Makes retries safe.' })
  idempotencyKey?: string | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of inventoryReserve, reservationRelease, reservationCommit and reservationExtend.' })
export class ReservationPayload {
  @Field(() => Reservation, { nullable: true, description: 'The reservation after the change, or null when userErrors is not empty.' })
  reservation!: Reservation | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
  @Field({ description: 'True when this is the stored result of an earlier request with the same idempotency key.' })
  idempotentReplay!: boolean;
}

export const ReservationConnection = Connection(Reservation, 'Reservation');

@InputType({ description: 'Filters for reservations; all given conditions must hold.' })
export class ReservationFilter {
  @Field(() => [ReservationStatusEnum], {
    nullable: true,
    description: 'Only these statuses (EXPIRED includes holds past expiresAt not yet swept).',
  })
  statuses?: ReservationStatusEnum[] | null;
  @Field(() => String, { nullable: true, description: 'Only this reference (e.g. an order id), exactly.' })
  reference?: string | null;
  @Field(() => [ID], { nullable: true, description: 'Only reservations with a line on one of these variants.' })
  variantIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only reservations with a line in one of these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => DateTime, { nullable: true, description: 'Created at or after this time.' })
  createdAfter?: Date | null;
}
