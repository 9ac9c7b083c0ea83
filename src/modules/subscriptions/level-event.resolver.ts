/**
 * The fields every level event type resolves the same way (inventoryChanged, stockStatusChanged,
 * inboundReceived, transferShipped/Received): the level, variant and warehouse as they are now,
 * through the request's loaders. One abstract resolver (type-graphql resolver inheritance); each
 * event type's resolver extends it.
 */
import { Ctx, FieldResolver, Resolver, Root, type ClassType } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { variantById, warehouseById } from '../catalog';
import { Variant, Warehouse } from '../catalog/graphql';
import { levelById } from '../inventory';
import { InventoryLevel } from '../inventory/graphql';
import type { EventView } from './event-view';

/** The description of every level event subscription's `after` argument. */
export const AFTER_ARG = {
  nullable: true,
  description:
    'Resume after this cursor: missed events come first, in order. "0" or "oldest": from the oldest retained event. A cursor beyond the newest event is BAD_USER_INPUT.',
};

export function LevelEventFields<T extends object>(eventType: ClassType<T>) {
  @Resolver(() => eventType)
  abstract class LevelEventFieldsResolver {
    @FieldResolver(() => InventoryLevel, { description: 'The level, as it is now.' })
    inventoryLevel(@Root() e: EventView, @Ctx() ctx: Context) {
      return levelById(ctx).load(e.levelId);
    }
    @FieldResolver(() => Variant, { description: 'The variant.' })
    variant(@Root() e: EventView, @Ctx() ctx: Context) {
      return variantById(ctx).load(e.variantId);
    }
    @FieldResolver(() => Warehouse, { description: 'The warehouse of the level.' })
    warehouse(@Root() e: EventView, @Ctx() ctx: Context) {
      return warehouseById(ctx).load(e.warehouseId);
    }
  }
  return LevelEventFieldsResolver;
}
