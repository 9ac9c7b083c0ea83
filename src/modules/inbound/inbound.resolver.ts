/** Inbound shipments: mutations, reads and nested fields. Thin: parse, call one service, map. */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import { storeOf, type Context } from '../../graphql/context';
import { decodeId, decodeIdList, toGlobalId } from '../../graphql/ids';
import { poolTx } from '../../db/tx';
import { variantById, warehouseById } from '../catalog';
import { Variant, Warehouse } from '../catalog/graphql';
import { levelById } from '../inventory';
import { InventoryLevel } from '../inventory/graphql';
import { shipmentPage, type InboundLineView, type InboundShipmentRow } from './inbound.reads';
import {
  InboundShipment,
  InboundShipmentCancelInput,
  InboundShipmentConnection,
  InboundShipmentCreateInput,
  InboundShipmentFilter,
  InboundShipmentLine,
  InboundShipmentPayload,
  InboundShipmentReceiveInput,
  InboundShipmentUpdateInput,
} from './inbound.types';
import { linesByShipmentId, shipmentById } from './loaders';
import { ShipmentService, type ShipmentResult } from './shipment.service';

const svc = (ctx: Context) => new ShipmentService(ctx.app);
const payload = async (ctx: Context, r: ShipmentResult) => ({
  inboundShipment: r.shipmentId && !r.userErrors.length ? await shipmentById(ctx).load(r.shipmentId) : null,
  userErrors: r.userErrors,
  idempotentReplay: !!r.replayed,
});

@Resolver(() => InboundShipment)
export class InboundShipmentResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() s: InboundShipmentRow): string {
    return toGlobalId('InboundShipment', s.id);
  }

  @FieldResolver(() => [InboundShipmentLine], { description: 'The lines, in the order given.' })
  lines(@Root() s: InboundShipmentRow, @Ctx() ctx: Context) {
    return linesByShipmentId(ctx).load(s.id);
  }

  @Authorized('inventory:read')
  @Query(() => InboundShipment, { nullable: true, description: 'One inbound shipment by global id.' })
  inboundShipment(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const raw = decodeId(id, 'InboundShipment');
    return raw ? shipmentById(ctx).load(raw) : null;
  }

  @Authorized('inventory:read')
  @Query(() => InboundShipmentConnection, { description: 'Inbound shipments, newest first unless reverse, keyset-paginated.' })
  async inboundShipments(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => InboundShipmentFilter, { nullable: true, description: 'Conditions.' }) filter: InboundShipmentFilter | null,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Oldest first.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'InboundShipment', 'CREATED_AT', !reverse);
    const f = { ...filter, warehouseIds: decodeIdList(filter?.warehouseIds, 'Warehouse', 'filter.warehouseIds') };
    const rows = await shipmentPage(poolTx(ctx.app.db.pool), storeOf(ctx), f, page);
    return toConnection(ctx, rows, 'InboundShipment', 'CREATED_AT', (r) => r.id);
  }

  @Authorized('inventory:write')
  @Mutation(() => InboundShipmentPayload, {
    description: 'Announces an inbound shipment: its lines raise incoming at once (INBOUND_EXPECTED).',
  })
  async inboundShipmentCreate(
    @Ctx() ctx: Context,
    @Arg('input', () => InboundShipmentCreateInput, { description: 'The shipment.' }) input: InboundShipmentCreateInput,
  ) {
    return payload(ctx, await svc(ctx).create(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InboundShipmentPayload, { description: 'Changes an open shipment (reference, source, expected date, line quantities).' })
  async inboundShipmentUpdate(
    @Ctx() ctx: Context,
    @Arg('input', () => InboundShipmentUpdateInput, { description: 'What to change.' }) input: InboundShipmentUpdateInput,
  ) {
    return payload(ctx, await svc(ctx).update(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InboundShipmentPayload, {
    description: 'Cancels an open shipment: what is still open stops counting in incoming (INBOUND_CANCELLED).',
  })
  async inboundShipmentCancel(
    @Ctx() ctx: Context,
    @Arg('input', () => InboundShipmentCancelInput, { description: 'The shipment.' }) input: InboundShipmentCancelInput,
  ) {
    return payload(ctx, await svc(ctx).cancel(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InboundShipmentPayload, {
    description:
      'Receives units of a shipment, partially and repeatedly: each line raises onHand and lowers incoming in one change (RECEIVED, naming the shipment), with an INBOUND_RECEIVED event. More than is open is OVER_RECEIPT unless allowOverReceipt.',
  })
  async inboundShipmentReceive(
    @Ctx() ctx: Context,
    @Arg('input', () => InboundShipmentReceiveInput, { description: 'What arrived.' }) input: InboundShipmentReceiveInput,
  ) {
    return payload(ctx, await svc(ctx).receive(ctx.auth!, input));
  }
}

@Resolver(() => InboundShipmentLine)
export class InboundShipmentLineResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() l: InboundLineView): string {
    return toGlobalId('InboundShipmentLine', l.id);
  }
  @FieldResolver(() => Int, { description: 'quantity − received − cancelled, floored at 0: what counts in the level’s incoming.' })
  openQuantity(@Root() l: InboundLineView): number {
    return Math.max(0, l.quantity - l.receivedQuantity - l.cancelledQuantity);
  }
  @FieldResolver(() => InventoryLevel, { description: 'The level receiving the units.' })
  inventoryLevel(@Root() l: InboundLineView, @Ctx() ctx: Context) {
    return levelById(ctx).load(l.inventoryLevelId);
  }
  @FieldResolver(() => Variant, { description: 'The variant.' })
  variant(@Root() l: InboundLineView, @Ctx() ctx: Context) {
    return variantById(ctx).load(l.variantId);
  }
  @FieldResolver(() => Warehouse, { description: 'The warehouse.' })
  warehouse(@Root() l: InboundLineView, @Ctx() ctx: Context) {
    return warehouseById(ctx).load(l.warehouseId);
  }
}
