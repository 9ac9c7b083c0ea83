import { Field, ID, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { Access, InterfaceAccess } from './access';
import { ErrorCode } from './errors';

registerEnumType(ErrorCode, {
  name: 'ErrorCode',
  description: 'Stable machine-readable codes of business errors returned in `userErrors`.',
  valuesConfig: {
    INVALID_INPUT: {
      description:
        'Returned when an input is malformed, empty, too long, or a combination is not allowed (e.g. both sku and variantId, delta 0, SET without quantity), and when a bulk request is rejected as a whole.',
    },
    PRODUCT_NOT_FOUND: { description: 'Returned when no product has that id or externalId in this store.' },
    VARIANT_NOT_FOUND: { description: 'Returned when no variant has that id, sku or label in this store.' },
    VARIANT_LABEL_AMBIGUOUS: {
      description: 'Returned when several variants of the product match the label (or no label was given and there is no single default).',
    },
    WAREHOUSE_NOT_FOUND: {
      description:
        'Returned by every mutation (set, adjust, move, level update, bulk, reserve) when no warehouse has that id or code in this store.',
    },
    INVENTORY_NOT_FOUND: {
      description:
        'Returned when the variant and the warehouse exist but the variant has no inventory level there, by every write except inventorySet and bulk SET (the only ones that create a level), and for an unknown inventoryLevelId.',
    },
    RESERVATION_NOT_FOUND: { description: 'Returned when no reservation has that id in this store.' },
    RESERVATION_LINE_NOT_FOUND: { description: 'Returned when a line id given to release or commit does not belong to the reservation.' },
    READONLY_WAREHOUSE: {
      description:
        'Returned when a write would change stock of a read-only (marketplace-fulfilled, e.g. FBA) warehouse: set, adjust, move, bulk, reserve, and inventoryLevelUpdate of safetyStock or incoming (its alert thresholds may be changed).',
    },
    INACTIVE_WAREHOUSE: {
      description: 'Returned when a reservation line names an inactive warehouse (inactive warehouses take no new reservations).',
    },
    SAME_WAREHOUSE: { description: 'Returned when a move names the same warehouse as source and destination.' },
    INSUFFICIENT_STOCK: {
      description:
        'Returned when available stock (onHand − reserved − safetyStock) is too small: a negative adjust, a move (checked at the source before the destination), a reservation, or onHand would fall below 0. Under a backorder policy (CONTINUE, PREORDER) the same code means the backorder allowance is used up (the message names it); a move never backorders.',
    },
    NEGATIVE_QUANTITY: { description: 'Returned when a quantity that must be positive (or, for set, not negative) is zero or negative.' },
    QUANTITY_BELOW_RESERVED: {
      description:
        'Returned when inventorySet or bulk SET would put onHand below the reserved quantity (under a backorder policy: by more than its allowance).',
    },
    QUANTITY_OUT_OF_RANGE: {
      description:
        'Returned when an input quantity or a resulting counter of the level would be outside 0..2147483647 (after the stock checks: a move first checks the source).',
    },
    COMPARE_QUANTITY_STALE: { description: 'Returned when inventorySet has a compareQuantity that is not the current onHand.' },
    EXCEEDS_RESERVED: { description: 'Returned when a release or commit asks for more than the reservation line still holds.' },
    RESERVATION_EXPIRED: {
      description:
        'Returned when releasing a reservation whose lines have expired (their units are already back in stock: nothing to release), when committing an expired reservation whose units are no longer available, and when extending an expired reservation.',
    },
    RESERVATION_NOT_ACTIVE: {
      description:
        'Returned when releasing, committing or extending a reservation (or line) that was already released or committed, or holds nothing any more.',
    },
    INVALID_TTL: { description: 'Returned when ttlSeconds is outside 1..RESERVATION_TTL_MAX_SECONDS.' },
    SHIP_TO_NOT_SERVED: {
      description:
        'Returned by inventoryReserve with shipTo when a line names a warehouse that does not ship to that country, or when no writable warehouse of the variant does.',
    },
    TOO_MANY_ITEMS: {
      description: 'Returned when a request has more items than allowed (500 bulk items, 100 reservation lines); nothing is applied.',
    },
    TAKEN: { description: 'Returned when a sku, warehouse code or externalId is already used in this store.' },
    IDEMPOTENCY_KEY_REUSED: { description: 'Returned when an idempotency key was used before with a different input or operation.' },
    IDEMPOTENCY_KEY_IN_PROGRESS: {
      description: 'Returned when a request with this idempotency key is still running; retry later with the same key.',
    },
    WEBHOOK_NOT_FOUND: { description: 'Returned when no webhook subscription has that id in this store.' },
    WEBHOOK_DELIVERY_NOT_FOUND: { description: 'Returned when no webhook delivery has that id in this store.' },
    WEBHOOK_URL_FORBIDDEN: {
      description:
        'Returned by webhookSubscriptionCreate / Update (a new url, or active: true) when the url’s host is, or resolves to, an address webhooks may not target (loopback, private, link-local, CGNAT, multicast, reserved, cloud metadata, …); nothing was sent to it.',
    },
    INBOUND_SHIPMENT_NOT_FOUND: { description: 'Returned when no inbound shipment has that id in this store (or it is the manual one).' },
    INBOUND_LINE_NOT_FOUND: {
      description: 'Returned when a receipt names a line (or variant and warehouse) that the shipment does not have.',
    },
    INBOUND_SHIPMENT_CLOSED: {
      description: 'Returned by inboundShipmentUpdate / Cancel / Receive when the shipment is already RECEIVED or CANCELLED.',
    },
    OVER_RECEIPT: {
      description: 'Returned when a receipt would receive more than is open on a line and the receipt does not say allowOverReceipt: true.',
    },
    QUANTITY_BELOW_RECEIVED: {
      description: 'Returned by inboundShipmentUpdate when a line’s new quantity is below what was already received on it.',
    },
    INCOMING_BELOW_OPEN_INBOUND: {
      description:
        'Returned by the deprecated inventoryLevelUpdate(incoming) when the number is below what open inbound shipments and transfers already bring to the level.',
    },
    TRANSFER_NOT_FOUND: { description: 'Returned when no transfer has that id in this store.' },
    TRANSFER_LINE_NOT_FOUND: { description: 'Returned when a receipt or write-off names a variant or line the transfer does not have.' },
    TRANSFER_CLOSED: {
      description: 'Returned by inventoryTransferReceive / WriteOff when nothing of the transfer is in transit any more.',
    },
    EXCEEDS_IN_TRANSIT: {
      description: 'Returned when a transfer receipt or write-off names more units than are still in transit on the line.',
    },
    PREORDERS_UNCOVERED: {
      description:
        'Returned when a change would lower a level’s incoming below what preorders were sold against (PREORDER policy: more units would be sold or held beyond onHand + allowance than before): inboundShipmentCancel, inboundShipmentUpdate lowering a line, inventoryTransferWriteOff, the deprecated inventoryLevelUpdate(incoming). Nothing is changed; the message says how many units would lose their cover. The same input with allowUncoveredPreorders: true applies it and records the uncovered units on the movement.',
    },
  },
});

@Access({ payload: true })
@ObjectType({ description: 'A business error: the mutation did not apply (or, in bulk, that item did not).' })
export class UserError {
  @Field(() => ErrorCode, { description: 'Stable machine-readable code.' })
  code!: ErrorCode;

  @Field(() => [String], { nullable: true, description: 'Path to the input field at fault, e.g. ["lines", "0", "quantity"].' })
  field!: string[] | null;

  @Field({ description: 'Human-readable explanation.' })
  message!: string;
}

@InterfaceAccess({ read: ['inventory:read', 'inventory:reserve'], public: ['id'] })
@InterfaceType({
  description: 'An object with a globally unique, opaque ID.',
  // node()/nodes() tag the rows they load with their type.
  resolveType: (value: { __typename?: string }) => value.__typename,
})
export abstract class Node {
  @Field(() => ID, { description: 'Opaque global ID.' })
  id!: string;
}

/**
 * Descriptions of the root operation types. type-graphql builds Query, Mutation and Subscription
 * itself and takes no description for them; src/server/schema.ts sets these on the built schema.
 */
export const ROOT_TYPE_DESCRIPTIONS: Readonly<Record<'Query' | 'Mutation' | 'Subscription', string>> = {
  Query: 'Reads: catalog, warehouses, inventory levels and their ledger, reservations and webhooks of the calling key’s store.',
  Mutation: 'Writes. Business failures come back in `userErrors`; stock writes take an optional idempotencyKey that makes retries safe.',
  Subscription:
    'Real-time events over graphql-ws, in commit order. Every event has a cursor: resubscribe with `after` to resume without gaps.',
};
