/**
 * Stock fields of the catalogue's types: a variant's and a warehouse's levels (one statement for
 * every parent on the page), and the totals, status and hasStock of products and variants (by
 * DataLoader). The catalogue module does not know about stock; the inventory module extends its
 * types here. Thin: parse, call a read service, map.
 */
import { Arg, Args, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { poolTx } from '../../db/tx';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { deprecatedTotal, int32Total } from '../../graphql/scalars';
import type { ProductRow, VariantRow, WarehouseRow } from '../catalog';
import { Product, Variant, Warehouse } from '../catalog/graphql';
import { levelFilterOf } from './level.filter';
import { levelCountsByParent, levelPagesByParent, type LevelSortKey } from './level.reads';
import { InventoryLevelConnection, InventoryLevelFilter, LevelSortKeyEnum, StockTotals } from './inventory.reads.types';
import { StockStatusEnum } from './inventory.types';
import type { LevelRow } from '../stock';
import { totalsByProductId, totalsByVariantId } from './loaders';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

/** The inventoryLevels field of a variant or warehouse: one statement for every parent on the page. */
function nestedLevels(
  ctx: Context,
  parent: 'variant' | 'warehouse',
  parentId: string,
  args: PageArgs,
  sortKey: LevelSortKey,
  reverse: boolean,
  f?: InventoryLevelFilter | null,
) {
  const storeId = storeOf(ctx);
  const page = pageRequest(ctx, args, 'InventoryLevel', sortKey, reverse);
  const filter = levelFilterOf(f);
  const key = JSON.stringify(['levels', parent, args, sortKey, reverse, filter]);
  const pages = ctx.loaders.nested(key, (ids) => levelPagesByParent(tx(ctx), storeId, parent, ids, filter, sortKey, page));
  const counts = ctx.loaders.nested(`count:${key}`, (ids) => levelCountsByParent(tx(ctx), storeId, parent, ids, filter));
  return pages.load(parentId).then((p) =>
    toConnection(
      ctx,
      p,
      'InventoryLevel',
      sortKey,
      (r: LevelRow) => r.id,
      undefined,
      () => counts.load(parentId),
    ),
  );
}

const LEVEL_ARGS = {
  sortKey: { type: () => LevelSortKeyEnum, defaultValue: LevelSortKeyEnum.SKU, description: 'Sort order.' },
  reverse: { type: () => Boolean, defaultValue: false, description: 'Reverse the order.' },
};

@Resolver(() => Product)
export class ProductStockResolver {
  @FieldResolver(() => StockTotals, {
    description: 'Exact sums of onHand, reserved, available and incoming over all variants and warehouses (Int64).',
  })
  async totals(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await totalsByProductId(ctx).load(p.id)).totals;
  }
  @FieldResolver(() => Int, deprecatedTotal('onHand'))
  async totalOnHand(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByProductId(ctx).load(p.id)).totalOnHand, 'totals.onHand');
  }
  @FieldResolver(() => Int, deprecatedTotal('reserved'))
  async totalReserved(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByProductId(ctx).load(p.id)).totalReserved, 'totals.reserved');
  }
  @FieldResolver(() => Int, deprecatedTotal('available'))
  async totalAvailable(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByProductId(ctx).load(p.id)).totalAvailable, 'totals.available');
  }
  @FieldResolver(() => Int, deprecatedTotal('incoming'))
  async totalIncoming(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByProductId(ctx).load(p.id)).totalIncoming, 'totals.incoming');
  }
  @FieldResolver(() => StockStatusEnum, { description: 'The best status among its levels (OUT_OF_STOCK with none).' })
  async status(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await totalsByProductId(ctx).load(p.id)).status;
  }
  @FieldResolver(() => Boolean, { description: 'Whether anything is available.' })
  async hasStock(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await totalsByProductId(ctx).load(p.id)).totalAvailable > 0n;
  }
}

@Resolver(() => Variant)
export class VariantStockResolver {
  @FieldResolver(() => InventoryLevelConnection, { description: 'Stock of this variant per warehouse.' })
  inventoryLevels(
    @Root() v: VariantRow,
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('sortKey', LEVEL_ARGS.sortKey.type, LEVEL_ARGS.sortKey) sortKey: LevelSortKeyEnum,
    @Arg('reverse', LEVEL_ARGS.reverse.type, LEVEL_ARGS.reverse) reverse: boolean,
    @Arg('filter', () => InventoryLevelFilter, { nullable: true, description: 'Conditions.' }) filter: InventoryLevelFilter | null,
  ) {
    return nestedLevels(ctx, 'variant', v.id, args, sortKey, reverse, filter);
  }

  @FieldResolver(() => StockTotals, { description: 'Exact sums of onHand, reserved, available and incoming over warehouses (Int64).' })
  async totals(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await totalsByVariantId(ctx).load(v.id)).totals;
  }
  @FieldResolver(() => Int, deprecatedTotal('onHand'))
  async totalOnHand(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByVariantId(ctx).load(v.id)).totalOnHand, 'totals.onHand');
  }
  @FieldResolver(() => Int, deprecatedTotal('reserved'))
  async totalReserved(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByVariantId(ctx).load(v.id)).totalReserved, 'totals.reserved');
  }
  @FieldResolver(() => Int, deprecatedTotal('available'))
  async totalAvailable(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByVariantId(ctx).load(v.id)).totalAvailable, 'totals.available');
  }
  @FieldResolver(() => Int, deprecatedTotal('incoming'))
  async totalIncoming(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await totalsByVariantId(ctx).load(v.id)).totalIncoming, 'totals.incoming');
  }
  @FieldResolver(() => StockStatusEnum, { description: 'The best status among its levels (OUT_OF_STOCK with none).' })
  async status(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await totalsByVariantId(ctx).load(v.id)).status;
  }
  @FieldResolver(() => Boolean, { description: 'Whether anything is available in any warehouse.' })
  async hasStock(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await totalsByVariantId(ctx).load(v.id)).totalAvailable > 0n;
  }
}

@Resolver(() => Warehouse)
export class WarehouseStockResolver {
  @FieldResolver(() => InventoryLevelConnection, { description: 'Stock held in this warehouse.' })
  inventoryLevels(
    @Root() w: WarehouseRow,
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('sortKey', LEVEL_ARGS.sortKey.type, LEVEL_ARGS.sortKey) sortKey: LevelSortKeyEnum,
    @Arg('reverse', LEVEL_ARGS.reverse.type, LEVEL_ARGS.reverse) reverse: boolean,
    @Arg('filter', () => InventoryLevelFilter, { nullable: true, description: 'Conditions.' }) filter: InventoryLevelFilter | null,
  ) {
    return nestedLevels(ctx, 'warehouse', w.id, args, sortKey, reverse, filter);
  }
}
