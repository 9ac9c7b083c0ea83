/**
 * Subscriptions over graphql-ws. Thin: check access, open an event source, map events. The source
 * is shareable: the graphql-ws server runs each event once per subscription shape and sends the
 * result to every subscriber of that shape (src/graphql/shared-subscriptions.ts).
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { shareable } from '../../graphql/shared-subscriptions';
import { badInput, forbidden, unauthenticated } from '../../graphql/errors';
import { decodeIdList } from '../../graphql/ids';
import type { OutboxEvent, Topic } from '../../events/outbox';
import { hasScope } from '../../graphql/scopes';
import { CursorAheadError, CursorExpiredError, openEventSource, type EventFilter } from './subscription.service';
import { InventoryChangedEvent, InventoryEventFilter, StockStatusChangedEvent, StockStatusEventFilter } from './subscription.types';
import type { EventView } from './event-view';
import { AFTER_ARG, LevelEventFields } from './level-event.resolver';

/** Events written before backorders (migration 20261201400000) lack backordered and sellable: derived here. */
function withBackorder(s: unknown, statusKey = 'status'): Record<string, unknown> | undefined {
  if (s == null || typeof s !== 'object') return undefined;
  const o = s as Record<string, unknown>;
  return { ...o, backordered: o.backordered ?? 0, sellable: o.sellable ?? o[statusKey] !== 'OUT_OF_STOCK' };
}

function view(e: OutboxEvent): EventView {
  const raw = e.payload as Record<string, unknown>;
  const p: Record<string, unknown> =
    e.topic === 'STOCK_STATUS_CHANGED'
      ? { ...withBackorder(raw), previousSellable: raw.previousSellable ?? raw.previousStatus !== 'OUT_OF_STOCK' }
      : e.topic === 'INVENTORY_UPDATED'
        ? { ...raw, before: withBackorder(raw.before), after: withBackorder(raw.after) }
        : raw;
  return {
    ...p,
    cursor: String(e.seq),
    occurredAt: e.createdAt,
    levelId: p.levelId as string,
    variantId: p.variantId as string,
    warehouseId: p.warehouseId as string,
  };
}

export async function open(ctx: Context, topic: Topic, f: StockStatusEventFilter | null | undefined, after: string | null | undefined) {
  const auth = ctx.auth;
  if (!auth) throw unauthenticated('Send the API key in connection_init: { "Authorization": "Bearer <key>" }');
  if (!hasScope(auth, 'inventory:read')) throw forbidden('inventory:read');
  if (after != null && !/^(\d{1,18}|oldest)$/.test(after))
    throw badInput('"after" must be a cursor received from this subscription, "0" or "oldest"', { argument: 'after' });
  const filter: EventFilter = {
    warehouseIds: decodeIdList(f?.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
    variantIds: decodeIdList(f?.variantIds, 'Variant', 'filter.variantIds'),
    productIds: decodeIdList(f?.productIds, 'Product', 'filter.productIds'),
    skus: f?.skus ?? null,
    statuses: (f?.statuses as EventFilter['statuses']) ?? null,
  };
  try {
    const from = after == null ? null : after === 'oldest' ? 0 : Number(after);
    const source = await openEventSource(ctx.app, auth.storeId, topic, filter, from);
    // Each event runs with a fresh context (fresh loaders): "inventoryLevel" is the level as it is
    // now, not as first seen (SharedSubscriptions).
    return shareable(source, view);
  } catch (e) {
    if (e instanceof CursorExpiredError) throw new GraphQLError(e.message, { extensions: { code: 'CURSOR_EXPIRED' } });
    if (e instanceof CursorAheadError) throw badInput(e.message, { argument: 'after' });
    throw e;
  }
}

@Resolver(() => InventoryChangedEvent)
export class InventoryChangedEventResolver extends LevelEventFields(InventoryChangedEvent) {
  @Authorized('inventory:read')
  @Subscription(() => InventoryChangedEvent, {
    description: 'Every committed change of inventory levels in your store, in order. Resume with "after" (the last cursor received).',
    subscribe: ({ args, context }) => open(context as Context, 'INVENTORY_UPDATED', args.filter, args.after),
  })
  inventoryChanged(
    @Root() e: EventView,
    @Arg('filter', () => InventoryEventFilter, { nullable: true, description: 'Which levels.' }) _filter?: InventoryEventFilter,
    @Arg('after', () => String, AFTER_ARG) _after?: string,
  ): EventView {
    return e;
  }
}

@Resolver(() => StockStatusChangedEvent)
export class StockStatusChangedEventResolver extends LevelEventFields(StockStatusChangedEvent) {
  @Authorized('inventory:read')
  @Subscription(() => StockStatusChangedEvent, {
    description: 'Status crossings (low, critical, out of stock, back in stock) in your store, in order. Resume with "after".',
    subscribe: ({ args, context }) => open(context as Context, 'STOCK_STATUS_CHANGED', args.filter, args.after),
  })
  stockStatusChanged(
    @Root() e: EventView,
    @Arg('filter', () => StockStatusEventFilter, { nullable: true, description: 'Which levels and statuses.' })
    _filter?: StockStatusEventFilter,
    @Arg('after', () => String, AFTER_ARG) _after?: string,
  ): EventView {
    return e;
  }
}
