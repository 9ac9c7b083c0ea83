/** Reads of inventory levels, their summary, and the ledger. Thin: parse, call a read service, map. */
import { movementGlobalId } from '../../graphql/cursor-seal';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { deprecatedTotal, int32Total } from '../../graphql/scalars';
import { poolTx } from '../../db/tx';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { decodeIdList } from '../../graphql/ids';
import { selects } from '../../graphql/selection';
import { Variant, Warehouse } from '../catalog/graphql';
import { levelFilterOf } from './level.filter';
import { levelPage, levelSummary } from './level.reads';
import { movementPage, type MovementRow } from './movement.reads';
import {
  InventoryLevelConnection,
  InventoryLevelFilter,
  InventorySummary,
  LevelSettings,
  LevelSortKeyEnum,
  MovementKindEnum,
  StockMovement,
  StockMovementConnection,
  StockMovementFilter,
} from './inventory.reads.types';
import { InventoryLevel } from './inventory.types';
import type { MovementReason } from '../stock';
import { levelById } from './loaders';
import { primeCatalog, variantById, warehouseById } from '../catalog';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

const KIND: Record<MovementReason, MovementKindEnum> = {
  RECEIVED: MovementKindEnum.ADJUSTMENT,
  CYCLE_COUNT: MovementKindEnum.ADJUSTMENT,
  CORRECTION: MovementKindEnum.ADJUSTMENT,
  DAMAGED: MovementKindEnum.ADJUSTMENT,
  SHRINKAGE: MovementKindEnum.ADJUSTMENT,
  RETURN: MovementKindEnum.ADJUSTMENT,
  SALE: MovementKindEnum.ADJUSTMENT,
  OTHER: MovementKindEnum.ADJUSTMENT,
  RESERVATION: MovementKindEnum.RESERVATION,
  RELEASE: MovementKindEnum.RELEASE,
  EXPIRY: MovementKindEnum.EXPIRY,
  COMMIT: MovementKindEnum.COMMIT,
  TRANSFER_IN: MovementKindEnum.TRANSFER,
  TRANSFER_OUT: MovementKindEnum.TRANSFER,
  INBOUND_EXPECTED: MovementKindEnum.INBOUND,
  INBOUND_CANCELLED: MovementKindEnum.INBOUND,
  TRANSFER_SHIPPED: MovementKindEnum.TRANSFER,
  TRANSFER_LOST: MovementKindEnum.TRANSFER,
};

@Resolver(() => InventoryLevel)
export class InventoryLevelReadResolver {
  @Authorized('inventory:read')
  @Query(() => InventoryLevelConnection, { description: 'Inventory levels, filtered and sorted, keyset-paginated.' })
  async inventoryLevels(
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => InventoryLevelFilter, { nullable: true, description: 'Conditions.' }) filter: InventoryLevelFilter | null,
    @Arg('sortKey', () => LevelSortKeyEnum, { defaultValue: LevelSortKeyEnum.SKU, description: 'Sort order.' }) sortKey: LevelSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'InventoryLevel', sortKey, reverse);
    // The variant, product and warehouse the query selects come with the page (same statement)
    // and seed the by-id loaders, whose field resolvers then find them there.
    const nodeSelects = (...path: string[]) => selects(info, ['edges', 'node', ...path]) || selects(info, ['nodes', ...path]);
    const include = { variant: nodeSelects('variant'), product: nodeSelects('variant', 'product'), warehouse: nodeSelects('warehouse') };
    const result = await levelPage(tx(ctx), storeOf(ctx), levelFilterOf(filter), sortKey, page, include);
    primeCatalog(ctx, result.catalog);
    return toConnection(ctx, result, 'InventoryLevel', sortKey, (r) => r.id);
  }

  @Authorized('inventory:read')
  @Query(() => InventorySummary, { description: 'Counts per status and stock totals over the levels matching the filter.' })
  inventorySummary(
    @Ctx() ctx: Context,
    @Arg('filter', () => InventoryLevelFilter, { nullable: true, description: 'Conditions.' }) filter: InventoryLevelFilter | null,
  ) {
    return levelSummary(tx(ctx), storeOf(ctx), levelFilterOf(filter));
  }
}

@Resolver(() => StockMovement)
export class StockMovementResolver {
  @FieldResolver(() => ID, { description: 'Opaque global ID.' })
  id(@Root() m: MovementRow, @Ctx() ctx: Context): string {
    // Masked: the bare number would show how many movements all stores made.
    return movementGlobalId(ctx.app.db, m.id);
  }
  @FieldResolver(() => MovementKindEnum, { description: 'What kind of change this is.' })
  kind(@Root() m: MovementRow): MovementKindEnum {
    return KIND[m.reason];
  }
  @FieldResolver(() => InventoryLevel, { description: 'The level changed.' })
  inventoryLevel(@Root() m: MovementRow, @Ctx() ctx: Context) {
    return levelById(ctx).load(m.inventoryLevelId);
  }
  @FieldResolver(() => Variant, { description: 'The variant of the level.' })
  variant(@Root() m: MovementRow, @Ctx() ctx: Context) {
    return variantById(ctx).load(m.variantId);
  }
  @FieldResolver(() => Warehouse, { description: 'The warehouse of the level.' })
  warehouse(@Root() m: MovementRow, @Ctx() ctx: Context) {
    return warehouseById(ctx).load(m.warehouseId);
  }
  @FieldResolver(() => LevelSettings, {
    nullable: true,
    description: 'safetyStock, incoming and thresholds before the change (null on entries recorded before settings were).',
  })
  settingsBefore(@Root() m: MovementRow): LevelSettings | null {
    if (m.safetyStockBefore == null) return null;
    return {
      safetyStock: m.safetyStockBefore,
      incoming: m.incomingBefore!,
      lowStockThreshold: m.lowStockThresholdBefore!,
      criticalThreshold: m.criticalThresholdBefore!,
    };
  }
  @FieldResolver(() => LevelSettings, {
    nullable: true,
    description: 'safetyStock, incoming and thresholds after the change (null on entries recorded before settings were).',
  })
  settingsAfter(@Root() m: MovementRow): LevelSettings | null {
    if (m.safetyStockAfter == null) return null;
    return {
      safetyStock: m.safetyStockAfter,
      incoming: m.incomingAfter!,
      lowStockThreshold: m.lowStockThresholdAfter!,
      criticalThreshold: m.criticalThresholdAfter!,
    };
  }
  @FieldResolver(() => Int, {
    nullable: true,
    description: 'available (onHand − reserved − safetyStock, floored at 0) before the change; null when safetyStock was not recorded.',
  })
  availableBefore(@Root() m: MovementRow): number | null {
    return m.safetyStockBefore == null ? null : Math.max(0, m.onHandBefore - m.reservedBefore - m.safetyStockBefore);
  }
  @FieldResolver(() => Int, { nullable: true, description: 'available after the change; null when safetyStock was not recorded.' })
  availableAfter(@Root() m: MovementRow): number | null {
    return m.safetyStockAfter == null ? null : Math.max(0, m.onHandAfter - m.reservedAfter - m.safetyStockAfter);
  }
  @Authorized('inventory:read')
  @Query(() => StockMovementConnection, { description: 'The ledger, oldest first (reverse: newest first), keyset-paginated.' })
  async stockMovements(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => StockMovementFilter, { nullable: true, description: 'Conditions.' }) filter: StockMovementFilter | null,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Newest first.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'StockMovement', 'ID', reverse);
    const f = {
      ...filter,
      inventoryLevelIds: decodeIdList(filter?.inventoryLevelIds, 'InventoryLevel', 'filter.inventoryLevelIds'),
      variantIds: decodeIdList(filter?.variantIds, 'Variant', 'filter.variantIds'),
      warehouseIds: decodeIdList(filter?.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
      reservationIds: decodeIdList(filter?.reservationIds, 'Reservation', 'filter.reservationIds'),
      reasons: filter?.reasons as MovementReason[] | null | undefined,
    };
    return toConnection(ctx, await movementPage(tx(ctx), storeOf(ctx), f, page), 'StockMovement', 'ID', (r) => r.id);
  }
}

@Resolver(() => InventorySummary)
export class InventorySummaryResolver {
  @FieldResolver(() => Int, deprecatedTotal('onHand'))
  totalOnHand(@Root() s: InventorySummary): number {
    return int32Total(s.totalOnHand, 'totals.onHand');
  }
  @FieldResolver(() => Int, deprecatedTotal('reserved'))
  totalReserved(@Root() s: InventorySummary): number {
    return int32Total(s.totalReserved, 'totals.reserved');
  }
  @FieldResolver(() => Int, deprecatedTotal('available'))
  totalAvailable(@Root() s: InventorySummary): number {
    return int32Total(s.totalAvailable, 'totals.available');
  }
  @FieldResolver(() => Int, deprecatedTotal('incoming'))
  totalIncoming(@Root() s: InventorySummary): number {
    return int32Total(s.totalIncoming, 'totals.incoming');
  }
}
