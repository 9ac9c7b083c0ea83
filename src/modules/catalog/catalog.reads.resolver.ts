/** Reads of products, variants and warehouses: connections and lookups. Thin: parse, call a read service, map. */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { badInput } from '../../graphql/errors';
import { decodeId, decodeIdList } from '../../graphql/ids';
import { poolTx } from '../../db/tx';
import * as reads from './catalog.reads';
import {
  VariantConnection,
  VariantFilter,
  VariantLookupResult,
  VariantSortKeyEnum,
  WarehouseConnection,
  WarehouseFilter,
  WarehouseSortKeyEnum,
} from './catalog.reads.types';
import { moneyOf, type ProductRow, type VariantRow } from './catalog.model';
import { Money, Product, Variant, Warehouse } from './catalog.types';
import { variantCountByProductId } from './loaders';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

// Stock fields of these types (inventoryLevels, totals, status, hasStock) and the products list,
// which filters and sorts by stock, are resolved by the inventory module (catalog-stock.resolver.ts,
// product.reads.resolver.ts): the catalogue does not depend on it.

@Resolver(() => Product)
export class ProductReadResolver {
  @FieldResolver(() => VariantConnection, { description: "The product's variants." })
  variants(
    @Root() p: ProductRow,
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('sortKey', () => VariantSortKeyEnum, { defaultValue: VariantSortKeyEnum.SKU, description: 'Sort order.' })
    sortKey: VariantSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const storeId = storeOf(ctx);
    const page = pageRequest(ctx, args, 'Variant', sortKey, reverse);
    const key = JSON.stringify(['variants', args, sortKey, reverse]);
    const pages = ctx.loaders.nested(key, (ids) => reads.variantPagesByProduct(tx(ctx), storeId, ids, sortKey, page));
    return pages.load(p.id).then((pg) =>
      toConnection(
        ctx,
        pg,
        'Variant',
        sortKey,
        (r: VariantRow) => r.id,
        undefined,
        () => variantCountByProductId(ctx).load(p.id),
      ),
    );
  }

  @FieldResolver(() => Int, { description: 'Number of variants.' })
  variantCount(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return variantCountByProductId(ctx).load(p.id);
  }
}

@Resolver(() => Variant)
export class VariantReadResolver {
  @FieldResolver(() => Money, { nullable: true, description: 'Selling price (seed 002); null when none is set.' })
  price(@Root() v: VariantRow): Money | null {
    return moneyOf(v);
  }

  @Authorized('inventory:read', 'storefront:read')
  @Query(() => VariantConnection, { description: 'Variants, filtered and sorted, keyset-paginated.' })
  async variants(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => VariantFilter, { nullable: true, description: 'Conditions.' }) filter: VariantFilter | null,
    @Arg('sortKey', () => VariantSortKeyEnum, { defaultValue: VariantSortKeyEnum.SKU, description: 'Sort order.' })
    sortKey: VariantSortKeyEnum,
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
  @Authorized('inventory:read')
  @Query(() => WarehouseConnection, { description: 'Warehouses, filtered and sorted, keyset-paginated.' })
  async warehouses(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => WarehouseFilter, { nullable: true, description: 'Conditions.' }) filter: WarehouseFilter | null,
    @Arg('sortKey', () => WarehouseSortKeyEnum, { defaultValue: WarehouseSortKeyEnum.PRIORITY, description: 'Sort order.' })
    sortKey: WarehouseSortKeyEnum,
    @Arg('reverse', () => Boolean, { defaultValue: false, description: 'Reverse the order.' }) reverse: boolean,
  ) {
    const page = pageRequest(ctx, args, 'Warehouse', sortKey, reverse);
    return toConnection(
      ctx,
      await reads.warehousePage(tx(ctx), storeOf(ctx), filter ?? {}, sortKey, page),
      'Warehouse',
      sortKey,
      (r) => r.id,
    );
  }
}
