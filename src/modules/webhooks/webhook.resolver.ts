/** Webhook management. Thin: parse, call the service, map. */
import { cursorSealer } from '../../graphql/cursor-seal';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { poolTx } from '../../db/tx';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId, decodeIdList, toGlobalId } from '../../graphql/ids';
import { DateTime } from '../../graphql/scalars';
import { deliveryBody } from './webhook.body';
import * as svc from './webhook.service';
import { WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES } from './webhook.service';
import {
  WebhookDelivery,
  WebhookFilter,
  WebhookDeliveryConnection,
  WebhookDeliveryPayload,
  WebhookDeliveryStatusEnum,
  WebhookSubscription,
  WebhookSubscriptionInput,
  WebhookSubscriptionPayload,
  WebhookSubscriptionStatusEnum,
} from './webhook.types';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

/** The SSRF guard's settings. */
const guard = (ctx: Context): svc.TargetGuard => ({
  allowPrivate: ctx.app.config.webhookAllowPrivateTargets,
  resolveTimeoutMs: Math.min(ctx.app.config.webhookTimeoutMs, 5000),
});

/** The service's input; ids that are not ids of their type become userErrors naming the element. */
function input(i: WebhookSubscriptionInput): { input: svc.WebhookInput; userErrors: UserErrorShape[] } {
  const userErrors: UserErrorShape[] = [];
  const ids = (gids: string[] | null | undefined, type: 'Warehouse' | 'Variant', field: string) =>
    gids == null
      ? gids
      : gids.flatMap((g, n) => {
          const id = decodeId(g, type);
          if (!id) userErrors.push(userError(ErrorCode.INVALID_INPUT, `${field}[${n}] is not a ${type} id`, ['input', field, n]));
          return id ? [id] : [];
        });
  return {
    input: {
      url: i.url,
      topics: i.topics,
      active: i.active,
      warehouseIds: ids(i.warehouseIds, 'Warehouse', 'warehouseIds'),
      variantIds: ids(i.variantIds, 'Variant', 'variantIds'),
    },
    userErrors,
  };
}

@Resolver(() => WebhookSubscription)
export class WebhookSubscriptionResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() w: svc.WebhookRow) {
    return toGlobalId('WebhookSubscription', w.id);
  }
  @FieldResolver(() => WebhookSubscriptionStatusEnum, {
    description: 'ACTIVE, PAUSED (by you) or DISABLED (by the gateway, see disabledReason).',
  })
  status(@Root() w: svc.WebhookRow) {
    return w.active ? 'ACTIVE' : w.disabledReason ? 'DISABLED' : 'PAUSED';
  }
  @FieldResolver(() => Int, {
    description: `Deliveries in a row that failed every attempt (a success resets it); at ${WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES} the gateway disables the subscription.`,
  })
  consecutiveFailedDeliveries(@Root() w: svc.WebhookRow) {
    return w.consecutiveFailures;
  }
  @FieldResolver(() => WebhookFilter, { description: 'Which levels.' })
  filter(@Root() w: svc.WebhookRow) {
    return {
      warehouseIds: w.filter.warehouseIds?.map((id) => toGlobalId('Warehouse', id)) ?? null,
      variantIds: w.filter.variantIds?.map((id) => toGlobalId('Variant', id)) ?? null,
    };
  }

  @Authorized('webhooks:manage')
  @Query(() => [WebhookSubscription], { description: 'Your store’s webhook subscriptions.' })
  webhookSubscriptions(@Ctx() ctx: Context) {
    return svc.listWebhooks(ctx.app.db.prisma, storeOf(ctx));
  }

  @Authorized('webhooks:manage')
  @Mutation(() => WebhookSubscriptionPayload, { description: 'Creates a webhook subscription; the signing secret is returned once.' })
  async webhookSubscriptionCreate(
    @Ctx() ctx: Context,
    @Arg('input', () => WebhookSubscriptionInput, { description: 'The subscription.' }) i: WebhookSubscriptionInput,
  ) {
    const parsed = input(i);
    if (parsed.userErrors.length) return { webhookSubscription: null, secret: null, deletedId: null, userErrors: parsed.userErrors };
    const r = await svc.createWebhook(ctx.app.db.prisma, storeOf(ctx), parsed.input, guard(ctx));
    return { webhookSubscription: r.webhook, secret: r.secret, deletedId: null, userErrors: r.userErrors };
  }

  @Authorized('webhooks:manage')
  @Mutation(() => WebhookSubscriptionPayload, { description: 'Changes a webhook subscription.' })
  async webhookSubscriptionUpdate(
    @Ctx() ctx: Context,
    @Arg('id', () => ID, { description: 'Global id.' }) id: string,
    @Arg('input', () => WebhookSubscriptionInput, { description: 'What to change.' }) i: WebhookSubscriptionInput,
  ) {
    const parsed = input(i);
    if (parsed.userErrors.length) return { webhookSubscription: null, secret: null, deletedId: null, userErrors: parsed.userErrors };
    const r = await svc.updateWebhook(ctx.app.db.prisma, storeOf(ctx), decodeId(id, 'WebhookSubscription'), parsed.input, guard(ctx));
    return { webhookSubscription: r.webhook, secret: null, deletedId: null, userErrors: r.userErrors };
  }

  @Authorized('webhooks:manage')
  @Mutation(() => WebhookSubscriptionPayload, { description: 'Deletes a webhook subscription and its deliveries.' })
  async webhookSubscriptionDelete(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const userErrors = await svc.deleteWebhook(ctx.app.db.prisma, storeOf(ctx), decodeId(id, 'WebhookSubscription'));
    return { webhookSubscription: null, secret: null, deletedId: userErrors.length ? null : id, userErrors };
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveryResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() d: svc.DeliveryRow) {
    return toGlobalId('WebhookDelivery', d.id);
  }
  @FieldResolver(() => String, { description: 'The event’s sequence.' })
  eventId(@Root() d: svc.DeliveryRow) {
    return d.eventSeq;
  }
  @FieldResolver(() => String, {
    description:
      'The exact JSON body sent (byte for byte, the same on every attempt), without the headers; before the first attempt, the body that will be sent.',
  })
  payload(@Root() d: svc.DeliveryRow, @Ctx() ctx: Context) {
    return d.body ?? deliveryBody(d, (id) => cursorSealer(ctx.app.db).movementIds.seal(id));
  }
  @FieldResolver(() => DateTime, { nullable: true, description: 'Next attempt, while PENDING.' })
  nextAttemptAt(@Root() d: svc.DeliveryRow) {
    return d.status === 'PENDING' ? d.nextAttemptAt : null;
  }

  @Authorized('webhooks:manage')
  @Query(() => WebhookDeliveryConnection, { description: 'Deliveries, newest first.' })
  async webhookDeliveries(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('subscriptionId', () => ID, { nullable: true, description: 'Only this subscription.' }) subscriptionId?: string,
    @Arg('statuses', () => [WebhookDeliveryStatusEnum], { nullable: true, description: 'Only these statuses.' })
    statuses?: WebhookDeliveryStatusEnum[],
  ) {
    const page = pageRequest(ctx, args, 'WebhookDelivery', 'CREATED_AT', true);
    const sub = subscriptionId != null ? (decodeIdList([subscriptionId], 'WebhookSubscription', 'subscriptionId') ?? [])[0] : null;
    return toConnection(
      ctx,
      await svc.deliveryPage(tx(ctx), storeOf(ctx), { subscriptionId: sub, statuses }, page),
      'WebhookDelivery',
      'CREATED_AT',
      (r) => r.id,
    );
  }

  @Authorized('webhooks:manage')
  @Mutation(() => WebhookDeliveryPayload, { description: 'Queues a delivery again for a fresh series of attempts.' })
  async webhookDeliveryRetry(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const r = await svc.retryDelivery(tx(ctx), storeOf(ctx), decodeId(id, 'WebhookDelivery'));
    return { delivery: r.delivery, userErrors: r.userErrors };
  }
}
