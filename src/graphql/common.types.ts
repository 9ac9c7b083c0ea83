import { Field, ID, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { Access, InterfaceAccess } from './access';
import { ErrorCode } from './errors';

registerEnumType(ErrorCode, {
  name: 'ErrorCode',
  description: 'Stable machine-readable codes of business errors returned in `userErrors`.',
  valuesConfig: {
    INVALID_INPUT: { description: 'An argument is malformed, empty or too long.' },
    PRODUCT_NOT_FOUND: { description: 'No product with that id or externalId in this store.' },
    VARIANT_NOT_FOUND: { description: 'No variant with that id, sku or label in this store.' },
    VARIANT_LABEL_AMBIGUOUS: { description: 'Several variants of the product share that label.' },
    WAREHOUSE_NOT_FOUND: { description: 'No warehouse with that id or code in this store.' },
    INVENTORY_NOT_FOUND: { description: 'The variant has no inventory level in that warehouse.' },
    RESERVATION_NOT_FOUND: { description: 'No reservation with that id in this store.' },
    RESERVATION_LINE_NOT_FOUND: { description: 'The line does not belong to the reservation.' },
    READONLY_WAREHOUSE: { description: 'The warehouse is read-only (e.g. FBA): its stock cannot be changed here.' },
    INACTIVE_WAREHOUSE: { description: 'The warehouse is inactive and cannot take new reservations.' },
    SAME_WAREHOUSE: { description: 'A move needs two different warehouses.' },
    INSUFFICIENT_STOCK: { description: 'Not enough available stock for the change.' },
    NEGATIVE_QUANTITY: { description: 'A quantity that must be positive was zero or negative.' },
    QUANTITY_BELOW_RESERVED: { description: 'onHand would fall below the reserved quantity.' },
    QUANTITY_OUT_OF_RANGE: { description: 'A quantity or a resulting counter is outside 0..2147483647.' },
    COMPARE_QUANTITY_STALE: { description: 'compareQuantity does not match the current onHand.' },
    EXCEEDS_RESERVED: { description: 'More was released or committed than the reservation line holds.' },
    RESERVATION_EXPIRED: { description: 'The reservation expired and its stock is no longer available.' },
    RESERVATION_NOT_ACTIVE: { description: 'The reservation was already released, committed or expired.' },
    INVALID_TTL: { description: 'ttlSeconds is outside the allowed range.' },
    TOO_MANY_ITEMS: { description: 'The request has more items than allowed.' },
    TAKEN: { description: 'The sku, code or externalId is already used in this store.' },
    IDEMPOTENCY_KEY_REUSED: { description: 'The idempotency key was used before with a different request.' },
    IDEMPOTENCY_KEY_IN_PROGRESS: { description: 'A request with this idempotency key is still running; retry later.' },
    WEBHOOK_NOT_FOUND: { description: 'No webhook subscription with that id in this store.' },
    WEBHOOK_DELIVERY_NOT_FOUND: { description: 'No webhook delivery with that id in this store.' },
    WEBHOOK_URL_FORBIDDEN: {
      description:
        'webhookSubscriptionCreate / Update (a new url, or active: true): the url’s host is, or resolves to, an address webhooks may not target (loopback, private, link-local, CGNAT, multicast, reserved, cloud metadata, …); nothing was sent to it.',
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
 * itself and takes no description for them; src/graphql/schema.ts sets these on the built schema.
 */
export const ROOT_TYPE_DESCRIPTIONS: Readonly<Record<'Query' | 'Mutation' | 'Subscription', string>> = {
  Query: 'Reads: catalog, warehouses, inventory levels and their ledger, reservations and webhooks of the calling key’s store.',
  Mutation: 'Writes. Business failures come back in `userErrors`; stock writes take an optional idempotencyKey that makes retries safe.',
  Subscription: 'Real-time events over graphql-ws, in commit order. Every event has a cursor: resubscribe with `after` to resume without gaps.',
};
