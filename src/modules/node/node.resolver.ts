/** node(id) / nodes(ids): any object by its global id, through the same per-request loaders. */
import { cursorSealer } from '../../graphql/cursor-seal';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, ID, Info, Query, Resolver } from 'type-graphql';
import { canSeeType } from '../../graphql/access';
import { Node } from '../../graphql/common.types';
import type { Context } from '../../graphql/context';
import { fromGlobalId } from '../../graphql/ids';
import { badInput } from '../../graphql/errors';
import { levelById, movementById } from '../inventory';
import { lineById, reservationById } from '../reservations';
import { productById, variantById, warehouseById } from '../catalog';
import { shipmentById, transferById } from '../inbound';

const MAX_NODES = 250;

/** Null, as for a missing id, when the key may not see objects of the id's type at all. */
async function load(ctx: Context, info: GraphQLResolveInfo, gid: string): Promise<object | null> {
  const g = fromGlobalId(gid);
  if (!g || !ctx.auth || !canSeeType(info.schema, ctx.auth, g.type)) return null;
  const row: object | null = await (async () => {
    switch (g.type) {
      case 'Product':
        return productById(ctx).load(g.id);
      case 'Variant':
        return variantById(ctx).load(g.id);
      case 'Warehouse':
        return warehouseById(ctx).load(g.id);
      case 'InventoryLevel':
        return levelById(ctx).load(g.id);
      case 'Reservation':
        return reservationById(ctx).load(g.id);
      case 'ReservationLine':
        return lineById(ctx).load(g.id);
      case 'StockMovement': {
        // Masked ids (and the bare numbers global ids held before masking).
        const id = /^\d+$/.test(g.id) ? g.id : cursorSealer(ctx.app.db).movementIds.open(g.id);
        return id === null ? null : movementById(ctx).load(id);
      }
      case 'InboundShipment':
        return shipmentById(ctx).load(g.id);
      case 'InventoryTransfer':
        return transferById(ctx).load(g.id);
      default:
        return null;
    }
  })();
  return row ? Object.assign(Object.create(null), row, { __typename: g.type }) : null;
}

@Resolver()
export class NodeResolver {
  @Authorized('inventory:read', 'inventory:reserve', 'storefront:read')
  @Query(() => Node, {
    nullable: true,
    description:
      'Any object by its global id; null if it does not exist in your store or your key may not read its type. Publishable keys read public fields only.',
  })
  node(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    return load(ctx, info, id);
  }

  @Authorized('inventory:read', 'inventory:reserve', 'storefront:read')
  @Query(() => [Node], {
    nullable: 'items',
    description: `Several objects by global id (at most ${MAX_NODES}), in the same order; null for each that does not exist.`,
  })
  nodes(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo, @Arg('ids', () => [ID], { description: 'Global ids.' }) ids: string[]) {
    if (ids.length > MAX_NODES) throw badInput(`At most ${MAX_NODES} ids, got ${ids.length}`, { argument: 'ids' });
    return Promise.all(ids.map((id) => load(ctx, info, id)));
  }
}
