/**
 * Subscriptions to inbound receipts and transfers (issue 22). Same source, filters and resume
 * cursors as inventoryChanged (subscription.resolver.ts); one event per line and change, naming
 * the level, so the level filters apply unchanged.
 */
import { Arg, Authorized, Ctx, FieldResolver, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { movementGlobalId } from '../../graphql/cursor-seal';
import { shipmentById, transferById } from '../inbound';
import { InboundShipment, InventoryTransfer } from '../inbound/graphql';
import { AFTER_ARG, LevelEventFields } from './level-event.resolver';
import type { EventView } from './event-view';
import { open } from './subscription.resolver';
import { InventoryEventFilter } from './subscription.types';
import { InboundReceivedEvent, TransferEvent } from './transit.types';

@Resolver(() => InboundReceivedEvent)
export class InboundReceivedEventResolver extends LevelEventFields(InboundReceivedEvent) {
  @FieldResolver(() => ID, { description: 'The ledger entry of the change (a StockMovement id).' })
  movementId(@Root() e: EventView, @Ctx() ctx: Context): string {
    return movementGlobalId(ctx.app.db, String(e.movementId));
  }

  @Authorized('inventory:read')
  @Subscription(() => InboundReceivedEvent, {
    description: 'Receipts of inbound shipments in your store (one event per line received), in order. Resume with "after".',
    subscribe: ({ args, context }) => open(context as Context, 'INBOUND_RECEIVED', args.filter, args.after),
  })
  inboundReceived(
    @Root() e: EventView,
    @Arg('filter', () => InventoryEventFilter, { nullable: true, description: 'Which levels.' }) _filter?: InventoryEventFilter,
    @Arg('after', () => String, AFTER_ARG) _after?: string,
  ): EventView {
    return e;
  }

  @FieldResolver(() => InboundShipment, { nullable: true, description: 'The shipment, as it is now.' })
  inboundShipment(@Root() e: EventView, @Ctx() ctx: Context) {
    return shipmentById(ctx).load(String(e.shipmentId));
  }
}

@Resolver(() => TransferEvent)
export class TransferEventResolver extends LevelEventFields(TransferEvent) {
  @FieldResolver(() => ID, { description: 'The ledger entry of the change (a StockMovement id).' })
  movementId(@Root() e: EventView, @Ctx() ctx: Context): string {
    return movementGlobalId(ctx.app.db, String(e.movementId));
  }

  @Authorized('inventory:read')
  @Subscription(() => TransferEvent, {
    description: 'Transfer lines shipped (one event per line, on the source level), in order. Resume with "after".',
    subscribe: ({ args, context }) => open(context as Context, 'TRANSFER_SHIPPED', args.filter, args.after),
  })
  transferShipped(
    @Root() e: EventView,
    @Arg('filter', () => InventoryEventFilter, { nullable: true, description: 'Which levels.' }) _filter?: InventoryEventFilter,
    @Arg('after', () => String, AFTER_ARG) _after?: string,
  ): EventView {
    return e;
  }

  @Authorized('inventory:read')
  @Subscription(() => TransferEvent, {
    description: 'Transfer lines received (one event per line and receipt, on the destination level), in order. Resume with "after".',
    subscribe: ({ args, context }) => open(context as Context, 'TRANSFER_RECEIVED', args.filter, args.after),
  })
  transferReceived(
    @Root() e: EventView,
    @Arg('filter', () => InventoryEventFilter, { nullable: true, description: 'Which levels.' }) _filter?: InventoryEventFilter,
    @Arg('after', () => String, AFTER_ARG) _after?: string,
  ): EventView {
    return e;
  }

  @FieldResolver(() => InventoryTransfer, { nullable: true, description: 'The transfer, as it is now.' })
  inventoryTransfer(@Root() e: EventView, @Ctx() ctx: Context) {
    return transferById(ctx).load(String(e.transferId));
  }
}
