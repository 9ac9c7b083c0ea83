/** node(id) / nodes(ids): any object by its global id, through the same per-request loaders. */
import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Node } from '../../graphql/common.types';
import type { Context } from '../../graphql/context';
import { fromGlobalId } from '../../graphql/ids';
import { badInput } from '../../graphql/errors';

const MAX_NODES = 250;

async function load(ctx: Context, gid: string): Promise<object | null> {
  const g = fromGlobalId(gid);
  if (!g) return null;
  const l = ctx.loaders;
  const row: object | null = await (async () => {
    switch (g.type) {
      case 'Product':
        return l.productById.load(g.id);
      case 'Variant':
        return l.variantById.load(g.id);
      case 'Warehouse':
        return l.warehouseById.load(g.id);
      case 'InventoryLevel':
        return l.levelById.load(g.id);
      case 'Reservation':
        return l.reservationById.load(g.id);
      case 'ReservationLine':
        return l.lineById.load(g.id);
      case 'StockMovement':
        return l.movementById.load(g.id);
      default:
        return null;
    }
  })();
  return row ? Object.assign(Object.create(null), row, { __typename: g.type }) : null;
}

@Resolver()
export class NodeResolver {
  @Authorized('inventory:read')
  @Query(() => Node, { nullable: true, description: 'Any object by its global id; null if it does not exist in your store.' })
  node(@Ctx() ctx: Context, @Arg('id', () => ID, { description: 'Global id.' }) id: string) {
    return load(ctx, id);
  }

  @Authorized('inventory:read')
  @Query(() => [Node], { nullable: 'items', description: `Several objects by global id (at most ${MAX_NODES}), in the same order; null for each that does not exist.` })
  nodes(@Ctx() ctx: Context, @Arg('ids', () => [ID], { description: 'Global ids.' }) ids: string[]) {
    if (ids.length > MAX_NODES) throw badInput(`At most ${MAX_NODES} ids, got ${ids.length}`, { argument: 'ids' });
    return Promise.all(ids.map((id) => load(ctx, id)));
  }
}
