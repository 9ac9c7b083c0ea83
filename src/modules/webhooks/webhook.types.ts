import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { UserError } from '../../graphql/common.types';
import { Connection } from '../../graphql/connection';
import { DateTime } from '../../graphql/scalars';
import { WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES } from './webhook.service';

export enum WebhookTopicEnum {
  INVENTORY_UPDATED = 'INVENTORY_UPDATED',
  STOCK_LOW = 'STOCK_LOW',
  STOCK_CRITICAL = 'STOCK_CRITICAL',
  STOCK_OUT = 'STOCK_OUT',
  BACK_IN_STOCK = 'BACK_IN_STOCK',
  SELLABLE_CHANGED = 'SELLABLE_CHANGED',
  INBOUND_RECEIVED = 'INBOUND_RECEIVED',
  TRANSFER_SHIPPED = 'TRANSFER_SHIPPED',
  TRANSFER_RECEIVED = 'TRANSFER_RECEIVED',
}
registerEnumType(WebhookTopicEnum, {
  name: 'WebhookTopic',
  description: 'What a webhook is sent for.',
  valuesConfig: {
    INVENTORY_UPDATED: { description: 'Any committed change of a level (inventory.updated).' },
    STOCK_LOW: { description: 'A level became LOW_STOCK (product.stock_low).' },
    STOCK_CRITICAL: { description: 'A level became CRITICAL.' },
    STOCK_OUT: { description: 'A level became OUT_OF_STOCK (product.stock_out).' },
    BACK_IN_STOCK: { description: 'A level left OUT_OF_STOCK.' },
    SELLABLE_CHANGED: {
      description: 'A level became sellable or stopped being sellable (backorder and preorder policies: see InventoryLevel.sellable).',
    },
    INBOUND_RECEIVED: { description: 'Units of an inbound shipment line were received (one per line and receipt).' },
    TRANSFER_SHIPPED: { description: 'Units of a transfer line left the source (one per line).' },
    TRANSFER_RECEIVED: { description: 'Units of a transfer line arrived at the destination (one per line and receipt).' },
  },
});

export enum WebhookDeliveryStatusEnum {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(WebhookDeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a delivery stands.',
  valuesConfig: {
    PENDING: { description: 'Not delivered yet: waiting for its next attempt.' },
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every attempt failed; webhookDeliveryRetry queues it again.' },
  },
});

export enum WebhookSubscriptionStatusEnum {
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
  DISABLED = 'DISABLED',
}
registerEnumType(WebhookSubscriptionStatusEnum, {
  name: 'WebhookSubscriptionStatus',
  description: 'Whether a webhook subscription receives events.',
  valuesConfig: {
    ACTIVE: { description: 'Events are queued and delivered.' },
    PAUSED: { description: 'Set inactive (active: false) by you: no events are queued; queued deliveries wait.' },
    DISABLED: {
      description:
        'Stopped by the gateway (see disabledReason): after a run of deliveries that failed every attempt, or a target the SSRF guard refused at delivery time. No events are queued; queued deliveries wait. webhookSubscriptionUpdate(input: { active: true }) turns it back on.',
    },
  },
});

@Access({ read: ['webhooks:manage'] })
@ObjectType({ description: 'Which levels a webhook subscription covers (empty: all).' })
export class WebhookFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these warehouses.' })
  warehouseIds!: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these variants.' })
  variantIds!: string[] | null;
}

@Access({ read: ['webhooks:manage'] })
@ObjectType({ description: 'An endpoint receiving signed events.' })
export class WebhookSubscription {
  @Field(() => ID, { description: 'Opaque global ID.' })
  id!: string;
  @Field({ description: 'Where events are POSTed.' })
  url!: string;
  @Field(() => [WebhookTopicEnum], { description: 'What is sent.' })
  topics!: WebhookTopicEnum[];
  @Field(() => WebhookFilter, { description: 'Which levels.' })
  filter!: WebhookFilter;
  @Field({ description: 'Inactive subscriptions receive nothing.' })
  active!: boolean;
  @Field(() => DateTime, { description: 'When it was created.' })
  createdAt!: Date;
  @Field(() => WebhookSubscriptionStatusEnum, { description: 'ACTIVE, PAUSED (by you) or DISABLED (by the gateway, see disabledReason).' })
  status!: WebhookSubscriptionStatusEnum;
  @Field(() => String, { nullable: true, description: 'Why the gateway disabled it, while DISABLED.' })
  disabledReason!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'When the gateway disabled it, while DISABLED.' })
  disabledAt!: Date | null;
  @Field(() => Int, {
    description: `Deliveries in a row that failed every attempt (a success resets it); at ${WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES} the gateway disables the subscription.`,
  })
  consecutiveFailedDeliveries!: number;
}

@Access({ read: ['webhooks:manage'] })
@ObjectType({ description: 'One event sent (or to be sent) to one subscription.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Opaque global ID (also sent as X-Inventory-Delivery-Id and as deliveryId in the body).' })
  id!: string;
  @Field(() => WebhookTopicEnum, { description: 'Topic.' })
  topic!: WebhookTopicEnum;
  @Field({ description: 'The event’s sequence (X-Inventory-Event-Id): order and de-duplicate by it.' })
  eventId!: string;
  @Field(() => WebhookDeliveryStatusEnum, { description: 'Status.' })
  status!: WebhookDeliveryStatusEnum;
  @Field(() => Int, { description: 'Attempts made.' })
  attempts!: number;
  @Field(() => DateTime, { nullable: true, description: 'Next attempt, while PENDING.' })
  nextAttemptAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt.' })
  lastStatusCode!: number | null;
  @Field(() => String, {
    nullable: true,
    description:
      'Why the last attempt failed: the HTTP status, or the cause (ECONNREFUSED, TIMEOUT, a TLS error code, WEBHOOK_URL_FORBIDDEN, …) and its detail.',
  })
  lastError!: string | null;
  @Field(() => DateTime, { description: 'When the event was queued.' })
  createdAt!: Date;
  @Field(() => DateTime, { nullable: true, description: 'When it was delivered.' })
  deliveredAt!: Date | null;
  @Field({
    description:
      'The exact JSON body sent (byte for byte, the same on every attempt), without the headers; before the first attempt, the body that will be sent.',
  })
  payload!: string;
}

export const WebhookDeliveryConnection = Connection(WebhookDelivery, 'WebhookDelivery');

@InputType({ description: 'A webhook subscription to create, or changes to one (omitted fields stay).' })
export class WebhookSubscriptionInput {
  @Field(() => String, { nullable: true, description: 'http(s) URL, at most 2048 characters (required to create).' })
  url?: string | null;
  @Field(() => [WebhookTopicEnum], { nullable: true, description: 'Topics (required to create).' })
  topics?: WebhookTopicEnum[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only these variants.' })
  variantIds?: string[] | null;
  @Field(() => Boolean, {
    nullable: true,
    description:
      'Active (default true). true also re-enables a subscription the gateway DISABLED (its url is checked again); false pauses it.',
  })
  active?: boolean | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of webhookSubscriptionCreate / Update / Delete.' })
export class WebhookSubscriptionPayload {
  @Field(() => WebhookSubscription, { nullable: true, description: 'The subscription, or null on errors (and after delete).' })
  webhookSubscription!: unknown;
  @Field(() => String, { nullable: true, description: 'The signing secret: returned once, by create.' })
  secret!: string | null;
  @Field(() => ID, { nullable: true, description: 'Id of the deleted subscription.' })
  deletedId!: string | null;
  @Field(() => [UserError], { description: 'Business errors.' })
  userErrors!: UserError[];
}

@Access({ payload: true })
@ObjectType({ description: 'Result of webhookDeliveryRetry.' })
export class WebhookDeliveryPayload {
  @Field(() => WebhookDelivery, { nullable: true, description: 'The delivery, queued again.' })
  delivery!: unknown;
  @Field(() => [UserError], { description: 'Business errors.' })
  userErrors!: UserError[];
}
