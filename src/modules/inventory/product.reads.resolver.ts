/** The products list: catalogue rows filtered and sorted by stock. Thin: parse, call the read service, map. */
import { Arg, Args, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { poolTx } from '../../db/tx';
import { PageArgs, pageRequest, toConnection } from '../../graphql/connection';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { decodeIdList } from '../../graphql/ids';
import { Product, ProductConnection } from '../catalog/graphql';
import type { StockStatus } from '../stock';
import { ProductFilter, ProductSortKeyEnum } from './inventory.reads.types';
import * as reads from './product.reads';

const tx = (ctx: Context) => poolTx(ctx.app.db.pool);

@Resolver(() => Product)
export class ProductListResolver {
  @Authorized('inventory:read', 'storefront:read')
  @Query(() => ProductConnection, { description: 'Products, filtered and sorted, keyset-paginated.' })
  async products(
    @Ctx() ctx: Context,
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => ProductFilter, { nullable: true, description: 'Conditions.' }) filter: ProductFilter | null,
    @Arg('sortKey', () => ProductSortKeyEnum, { defaultValue: ProductSortKeyEnum.NAME, description: 'Sort order.' })
    sortKey: ProductSortKeyEnum,
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
