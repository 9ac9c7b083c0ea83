/** Transfers in transit: mutations, reads and nested fields. Thin: parse, call one service, map. */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import { storeOf, type Context } from '../../graphql/context';
import { decodeId, decodeIdList, toGlobalId } from '../../graphql/ids';
import { poolTx } from '../../db/tx';
import { variantById, warehouseById } from '../catalog';
import { Variant, Warehouse } from '../catalog/graphql';
import { levelById } from '../inventory';
import { InventoryLevel } from '../inventory/graphql';
import { transferPage, type TransferLineRow, type TransferRow } from './inbound.reads';
import {
  InventoryTransfer,
  InventoryTransferConnection,
  InventoryTransferFilter,
  InventoryTransferLine,
  InventoryTransferPayload,
  InventoryTransferReceiveInput,
  InventoryTransferShipInput,
  InventoryTransferWriteOffInput,
} from './inbound.types';
import { inTransitByLevelId, linesByTransferId, transferById } from './loaders';
import type { LevelRow } from '../stock';
import { TransferService, type TransferResult } from './transfer.service';

const svc = (ctx: Context) => new TransferService(ctx.app);
const payload = async (ctx: Context, r: TransferResult) => ({
  inventoryTransfer: r.transferId && !r.userErrors.length ? await transferById(ctx).load(r.transferId) : null,
  userErrors: r.userErrors,
  idempotentReplay: !!r.replayed,
});

@Resolver(() => InventoryTransfer)
export class InventoryTransferResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() t: TransferRow): string {
    return toGlobalId('InventoryTransfer', t.id);
  }
  @FieldResolver(() => Warehouse, { description: 'Where the units left.' })
  fromWarehouse(@Root() t: TransferRow, @Ctx() ctx: Context) {
    return warehouseById(ctx).load(t.fromWarehouseId);
  }
  @FieldResolver(() => Warehouse, { description: 'Where the units go.' })
  toWarehouse(@Root() t: TransferRow, @Ctx() ctx: Context) {
    return warehouseById(ctx).load(t.toWarehouseId);
  }
  @FieldResolver(() => [InventoryTransferLine], { description: 'The lines, in the order given.' })
  lines(@Root() t: TransferRow, @Ctx() ctx: Context) {
    return linesByTransferId(ctx).load(t.id);
  }

  @Authorized('inventory:read')
  @Query(() => InventoryTransfer, { nullable: true, description: 'One transfer by global id.' })
  inventoryTransfer(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const raw = decodeId(id, 'InventoryTransfer');
    return raw ? transferById(ctx).load(raw) : null;
  }

  @Authorized('inventory:read')
  @Query(() => InventoryTransferConnection, { description: 'Transfers, newest first unless reverse, keyset-paginated.' })
  async inventoryTransfers(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => InventoryTransferFilter, { nullable: true, description: 'Conditions.' }) filter: InventoryTransferFilter | null,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Oldest first.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'InventoryTransfer', 'CREATED_AT', !reverse);
    const f = { ...filter, warehouseIds: decodeIdList(filter?.warehouseIds, 'Warehouse', 'filter.warehouseIds') };
    const rows = await transferPage(poolTx(ctx.app.db.pool), storeOf(ctx), f, page);
    return toConnection(ctx, rows, 'InventoryTransfer', 'CREATED_AT', (r) => r.id);
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryTransferPayload, {
    description:
      'Ships units between warehouses: they leave the source now (TRANSFER_OUT, available must suffice) and count in the destination’s incoming until received (TRANSFER_SHIPPED event).',
  })
  async inventoryTransferShip(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryTransferShipInput, { description: 'What to ship.' }) input: InventoryTransferShipInput,
  ) {
    return payload(ctx, await svc(ctx).ship(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryTransferPayload, {
    description: 'Receives units of a transfer at its destination, partially and repeatedly (TRANSFER_IN, TRANSFER_RECEIVED event).',
  })
  async inventoryTransferReceive(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryTransferReceiveInput, { description: 'What arrived.' }) input: InventoryTransferReceiveInput,
  ) {
    return payload(ctx, await svc(ctx).receive(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryTransferPayload, {
    description: 'Writes off units lost in transit, with a reason (TRANSFER_LOST): incoming at the destination falls.',
  })
  async inventoryTransferWriteOff(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryTransferWriteOffInput, { description: 'What was lost.' }) input: InventoryTransferWriteOffInput,
  ) {
    return payload(ctx, await svc(ctx).writeOff(ctx.auth!, input));
  }
}

@Resolver(() => InventoryTransferLine)
export class InventoryTransferLineResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() l: TransferLineRow): string {
    return toGlobalId('InventoryTransferLine', l.id);
  }
  @FieldResolver(() => Int, { description: 'quantity − received − lost: counted in the destination’s incoming.' })
  inTransitQuantity(@Root() l: TransferLineRow): number {
    return l.quantity - l.receivedQuantity - l.lostQuantity;
  }
  @FieldResolver(() => Variant, { description: 'The variant.' })
  variant(@Root() l: TransferLineRow, @Ctx() ctx: Context) {
    return variantById(ctx).load(l.variantId);
  }
  @FieldResolver(() => InventoryLevel, { description: 'The source level.' })
  sourceLevel(@Root() l: TransferLineRow, @Ctx() ctx: Context) {
    return levelById(ctx).load(l.sourceLevelId);
  }
  @FieldResolver(() => InventoryLevel, { description: 'The destination level.' })
  destinationLevel(@Root() l: TransferLineRow, @Ctx() ctx: Context) {
    return levelById(ctx).load(l.destinationLevelId);
  }
}

/** InventoryLevel.inTransit: resolved here, so inventory does not depend on the inbound module. */
@Resolver(() => InventoryLevel)
export class InventoryLevelTransitResolver {
  @FieldResolver(() => Int, {
    description: 'Units of transfers in transit to this level (shipped, not yet received or written off); part of incoming.',
  })
  inTransit(@Root() l: LevelRow, @Ctx() ctx: Context) {
    return inTransitByLevelId(ctx).load(l.id);
  }
}
