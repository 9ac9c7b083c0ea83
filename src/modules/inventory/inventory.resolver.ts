import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { decodeId, toGlobalId } from '../../graphql/ids';
import { Variant, Warehouse } from '../catalog/graphql';
import { availableOf, stockStatus, type LevelRow } from '../stock';
import { InventoryService } from './inventory.service';
import {
  InventoryAdjustInput,
  InventoryBulkUpdateInput,
  InventoryBulkUpdatePayload,
  InventoryLevel,
  InventoryLevelPayload,
  InventoryLevelUpdateInput,
  InventoryMoveInput,
  InventoryMovePayload,
  InventorySetInput,
  StockStatusEnum,
} from './inventory.types';
import { levelById } from './loaders';
import { variantById, warehouseById } from '../catalog';

const svc = (ctx: Context) => new InventoryService(ctx.app);
const levelPayload = (r: { inventoryLevel: LevelRow | null; userErrors: unknown[]; replayed?: boolean }) => ({
  inventoryLevel: r.inventoryLevel,
  userErrors: r.userErrors,
  idempotentReplay: !!r.replayed,
});

@Resolver(() => InventoryLevel)
export class InventoryLevelResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() l: LevelRow): string {
    return toGlobalId('InventoryLevel', l.id);
  }

  @FieldResolver(() => Int, { description: 'onHand − reserved − safetyStock, floored at 0: what can be sold now.' })
  available(@Root() l: LevelRow): number {
    return availableOf(l.onHand, l.reserved, l.safetyStock);
  }

  @FieldResolver(() => StockStatusEnum, { description: 'Status derived from available and the thresholds.' })
  status(@Root() l: LevelRow): StockStatusEnum {
    return stockStatus(availableOf(l.onHand, l.reserved, l.safetyStock), l.lowStockThreshold, l.criticalThreshold) as StockStatusEnum;
  }

  @FieldResolver(() => Variant, { description: 'The variant stocked.' })
  variant(@Root() l: LevelRow, @Ctx() ctx: Context) {
    return variantById(ctx).load(l.variantId);
  }

  @FieldResolver(() => Warehouse, { description: 'The warehouse holding the stock.' })
  warehouse(@Root() l: LevelRow, @Ctx() ctx: Context) {
    return warehouseById(ctx).load(l.warehouseId);
  }

  @Authorized('inventory:read')
  @Query(() => InventoryLevel, { nullable: true, description: 'One inventory level by global id.' })
  inventoryLevel(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    const raw = decodeId(id, 'InventoryLevel');
    return raw ? levelById(ctx).load(raw) : null;
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryLevelPayload, {
    description: 'Sets onHand to an absolute quantity (creating the level if needed), optionally compare-and-set.',
  })
  async inventorySet(
    @Ctx() ctx: Context,
    @Arg('input', () => InventorySetInput, { description: 'What to set.' }) input: InventorySetInput,
  ) {
    return levelPayload(await svc(ctx).set(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryLevelPayload, {
    description:
      'Applies a signed delta to onHand. Never lets available go below zero, or below −allowance under a backorder policy (CONTINUE, PREORDER).',
  })
  async inventoryAdjust(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryAdjustInput, { description: 'What to adjust.' }) input: InventoryAdjustInput,
  ) {
    return levelPayload(await svc(ctx).adjust(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryMovePayload, { description: 'Moves units between two warehouses atomically (TRANSFER_OUT + TRANSFER_IN).' })
  async inventoryMove(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryMoveInput, { description: 'What to move.' }) input: InventoryMoveInput,
  ) {
    const r = await svc(ctx).move(ctx.auth!, input);
    return { source: r.source, destination: r.destination, userErrors: r.userErrors, idempotentReplay: !!r.replayed };
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryLevelPayload, { description: 'Changes thresholds, safety stock or incoming; the status is recomputed at once.' })
  async inventoryLevelUpdate(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryLevelUpdateInput, { description: 'What to change.' }) input: InventoryLevelUpdateInput,
  ) {
    return levelPayload(await svc(ctx).updateLevel(ctx.auth!, input));
  }

  @Authorized('inventory:write')
  @Mutation(() => InventoryBulkUpdatePayload, { description: 'Up to 500 SET/ADJUST items, atomic or per-row depending on errorPolicy.' })
  async inventoryBulkUpdate(
    @Ctx() ctx: Context,
    @Arg('input', () => InventoryBulkUpdateInput, { description: 'The items.' }) input: InventoryBulkUpdateInput,
  ) {
    const r = await svc(ctx).bulkUpdate(ctx.auth!, input);
    return { ...r, idempotentReplay: !!r.replayed };
  }
}
