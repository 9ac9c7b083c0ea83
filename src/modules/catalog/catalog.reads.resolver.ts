/** Reads of products, variants and warehouses: connections, aggregates and lookups. Thin: parse, call a read service, map. */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { deprecatedTotal, int32Total } from '../../graphql/scalars';
import { StockTotals } from '../inventory/inventory.reads.types';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { badInput } from '../../graphql/errors';
import { decodeId, decodeIdList } from '../../graphql/ids';
import { poolTx } from '../../db/tx';
import type { StockStatus } from '../stock';
import { levelCountsByParent, levelPagesByParent, type LevelFilter, type LevelSortKey } from '../inventory/level.reads';
import { InventoryLevelConnection, InventoryLevelFilter, LevelSortKeyEnum } from '../inventory/inventory.reads.types';
import { StockStatusEnum } from '../inventory/inventory.types';
import type { LevelRow } from '../stock';
import * as reads from './catalog.reads';
import {
  ProductConnection,
  ProductFilter,
  ProductSortKeyEnum,
  VariantConnection,
  VariantFilter,
  VariantLookupResult,
  VariantSortKeyEnum,
  WarehouseConnection,
  WarehouseFilter,
  WarehouseSortKeyEnum,
} from './catalog.reads.types';
import { moneyOf, type ProductRow, type VariantRow, type WarehouseRow } from './catalog.service';
import { Money, Product, Variant, Warehouse } from './catalog.types';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

export function levelFilterOf(f: InventoryLevelFilter | null | undefined): LevelFilter {
  if (!f) return {};
  return {
    warehouseIds: decodeIdList(f.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
    variantIds: decodeIdList(f.variantIds, 'Variant', 'filter.variantIds'),
    productIds: decodeIdList(f.productIds, 'Product', 'filter.productIds'),
    skus: f.skus ?? null,
    statuses: (f.statuses as StockStatus[] | null | undefined) ?? null,
    lowStockOnly: f.lowStockOnly ?? null,
    updatedSince: f.updatedSince ?? null,
  };
}

/** The inventoryLevels field of a variant or warehouse: one statement for every parent on the page. */
function nestedLevels(ctx: Context, parent: 'variant' | 'warehouse', parentId: string, args: PageArgs, sortKey: LevelSortKey, reverse: boolean, f?: InventoryLevelFilter | null) {
  const storeId = storeOf(ctx);
  const page = pageRequest(ctx, args, 'InventoryLevel', sortKey, reverse);
  const filter = levelFilterOf(f);
  const key = JSON.stringify(['levels', parent, args, sortKey, reverse, filter]);
  const pages = ctx.loaders.nested(key, (ids) => levelPagesByParent(tx(ctx), storeId, parent, ids, filter, sortKey, page));
  const counts = ctx.loaders.nested(`count:${key}`, (ids) => levelCountsByParent(tx(ctx), storeId, parent, ids, filter));
  return pages
    .load(parentId)
    .then((p) => toConnection(ctx, p, 'InventoryLevel', sortKey, (r: LevelRow) => r.id, undefined, () => counts.load(parentId)));
}

const LEVEL_ARGS = {
  sortKey: { type: () => LevelSortKeyEnum, defaultValue: LevelSortKeyEnum.SKU, description: 'Sort order.' },
  reverse: { type: () => Boolean, defaultValue: false, description: 'Reverse the order.' },
};

@Resolver(() => Product)
export class ProductReadResolver {
  @FieldResolver(() => VariantConnection, { description: "The product's variants." })
  variants(
    @Root() p: ProductRow,
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('sortKey', () => VariantSortKeyEnum, { defaultValue: VariantSortKeyEnum.SKU, description: 'Sort order.' }) sortKey: VariantSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const storeId = storeOf(ctx);
    const page = pageRequest(ctx, args, 'Variant', sortKey, reverse);
    const key = JSON.stringify(['variants', args, sortKey, reverse]);
    const pages = ctx.loaders.nested(key, (ids) => reads.variantPagesByProduct(tx(ctx), storeId, ids, sortKey, page));
    return pages.load(p.id).then((pg) => toConnection(ctx, pg, 'Variant', sortKey, (r: VariantRow) => r.id, undefined, () => ctx.loaders.variantCountByProductId.load(p.id)));
  }

  @FieldResolver(() => Int, { description: 'Number of variants.' })
  variantCount(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return ctx.loaders.variantCountByProductId.load(p.id);
  }

  @FieldResolver(() => StockTotals, { description: 'Exact sums of onHand, reserved, available and incoming over all variants and warehouses (Int64).' })
  async totals(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await ctx.loaders.totalsByProductId.load(p.id)).totals;
  }
  @FieldResolver(() => Int, deprecatedTotal('onHand'))
  async totalOnHand(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByProductId.load(p.id)).totalOnHand, 'totals.onHand');
  }
  @FieldResolver(() => Int, deprecatedTotal('reserved'))
  async totalReserved(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByProductId.load(p.id)).totalReserved, 'totals.reserved');
  }
  @FieldResolver(() => Int, deprecatedTotal('available'))
  async totalAvailable(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByProductId.load(p.id)).totalAvailable, 'totals.available');
  }
  @FieldResolver(() => Int, deprecatedTotal('incoming'))
  async totalIncoming(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByProductId.load(p.id)).totalIncoming, 'totals.incoming');
  }
  @FieldResolver(() => StockStatusEnum, { description: 'The best status among its levels (OUT_OF_STOCK with none).' })
  async status(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await ctx.loaders.totalsByProductId.load(p.id)).status;
  }
  @FieldResolver(() => Boolean, { description: 'Whether anything is available.' })
  async hasStock(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await ctx.loaders.totalsByProductId.load(p.id)).totalAvailable > 0n;
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => ProductConnection, { description: 'Products, filtered and sorted, keyset-paginated.' })
  async products(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => ProductFilter, { nullable: true, description: 'Conditions.' }) filter: ProductFilter | null,
    @Arg('sortKey', () => ProductSortKeyEnum, { defaultValue: ProductSortKeyEnum.NAME, description: 'Sort order.' }) sortKey: ProductSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'Product', sortKey, reverse);
    const f = {
      search: filter?.search,
      statuses: filter?.statuses as StockStatus[] | null | undefined,
      active: filter?.active,
      warehouseIds: decodeIdList(filter?.warehouseIds, 'Warehouse', 'filter.warehouseIds'),
      updatedSince: filter?.updatedSince,
    };
    return toConnection(ctx, await reads.productPage(tx(ctx), storeOf(ctx), f, sortKey, page), 'Product', sortKey, (r) => r.id);
  }
}

@Resolver(() => Variant)
export class VariantReadResolver {
  @FieldResolver(() => Money, { nullable: true, description: 'Selling price (seed 002); null when none is set.' })
  price(@Root() v: VariantRow): Money | null {
    return moneyOf(v);
  }

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
    return (await ctx.loaders.totalsByVariantId.load(v.id)).totals;
  }
  @FieldResolver(() => Int, deprecatedTotal('onHand'))
  async totalOnHand(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByVariantId.load(v.id)).totalOnHand, 'totals.onHand');
  }
  @FieldResolver(() => Int, deprecatedTotal('reserved'))
  async totalReserved(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByVariantId.load(v.id)).totalReserved, 'totals.reserved');
  }
  @FieldResolver(() => Int, deprecatedTotal('available'))
  async totalAvailable(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByVariantId.load(v.id)).totalAvailable, 'totals.available');
  }
  @FieldResolver(() => Int, deprecatedTotal('incoming'))
  async totalIncoming(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return int32Total((await ctx.loaders.totalsByVariantId.load(v.id)).totalIncoming, 'totals.incoming');
  }
  @FieldResolver(() => StockStatusEnum, { description: 'The best status among its levels (OUT_OF_STOCK with none).' })
  async status(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await ctx.loaders.totalsByVariantId.load(v.id)).status;
  }
  @FieldResolver(() => Boolean, { description: 'Whether anything is available in any warehouse.' })
  async hasStock(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await ctx.loaders.totalsByVariantId.load(v.id)).totalAvailable > 0n;
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => VariantConnection, { description: 'Variants, filtered and sorted, keyset-paginated.' })
  async variants(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => VariantFilter, { nullable: true, description: 'Conditions.' }) filter: VariantFilter | null,
    @Arg('sortKey', () => VariantSortKeyEnum, { defaultValue: VariantSortKeyEnum.SKU, description: 'Sort order.' }) sortKey: VariantSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'Variant', sortKey, reverse);
    const f = { ...filter, productIds: decodeIdList(filter?.productIds, 'Product', 'filter.productIds') };
    return toConnection(ctx, await reads.variantPage(tx(ctx), storeOf(ctx), f, sortKey, page), 'Variant', sortKey, (r) => r.id);
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => VariantLookupResult, { description: "A product's variant by label, case-insensitively (seed 004)." })
  async variantByLabel(
    @Ctx() ctx: Context,
    @Arg('label', () => String, { description: 'The label, e.g. "large" for "Large".' }) label: string,
    @Arg('productId', () => ID, { nullable: true, description: 'The product, by global id…' }) productId?: string,
    @Arg('externalId', () => String, { nullable: true, description: '…or by externalId.' }) externalId?: string,
  ) {
    if ((productId == null) === (externalId == null)) throw badInput('Give exactly one of productId or externalId');
    const id = productId != null ? decodeId(productId, 'Product') : null;
    if (productId != null && !id) throw badInput('productId is not a Product id', { argument: 'productId' });
    return reads.variantByLabel(tx(ctx), storeOf(ctx), { id, externalId }, label);
  }
}

@Resolver(() => Warehouse)
export class WarehouseReadResolver {
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

  @Authorized('inventory:read')
  @Query(() => WarehouseConnection, { description: 'Warehouses, filtered and sorted, keyset-paginated.' })
  async warehouses(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => WarehouseFilter, { nullable: true, description: 'Conditions.' }) filter: WarehouseFilter | null,
    @Arg('sortKey', () => WarehouseSortKeyEnum, { defaultValue: WarehouseSortKeyEnum.PRIORITY, description: 'Sort order.' }) sortKey: WarehouseSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'Warehouse', sortKey, reverse);
    return toConnection(ctx, await reads.warehousePage(tx(ctx), storeOf(ctx), filter ?? {}, sortKey, page), 'Warehouse', sortKey, (r) => r.id);
  }
}

