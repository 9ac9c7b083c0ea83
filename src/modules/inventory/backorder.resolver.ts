/**
 * Backorders and preorders on the read side (issue 22): whether a level, variant or product can
 * still sell, the backordered units, and a level's effective policy. Thin: the arithmetic is the
 * stock core's (policy.ts); the variant's policy comes from the per-request variant loader.
 */
import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { InventoryPolicyEnum, Product, Variant } from '../catalog/graphql';
import { variantById, type ProductRow, type VariantRow } from '../catalog';
import { backorderAllowance, backorderedOf, effectivePolicy, isSellable, uncoveredOf, type LevelRow } from '../stock';
import { InventoryLevel } from './inventory.types';
import { StockMovement } from './inventory.reads.types';
import type { MovementRow } from './movement.reads';
import { totalsByProductId, totalsByVariantId } from './loaders';

async function policyOf(l: LevelRow, ctx: Context) {
  const v = await variantById(ctx).load(l.variantId);
  return effectivePolicy(l, { inventoryPolicy: v?.inventoryPolicy ?? null, backorderLimit: v?.backorderLimit ?? null });
}

@Resolver(() => InventoryLevel)
export class InventoryLevelBackorderResolver {
  @FieldResolver(() => Boolean, {
    description:
      'Whether one more unit can be sold here: available > 0, or, under a CONTINUE or PREORDER policy, available (unclamped) above −allowance. status stays OUT_OF_STOCK while a level sells on backorder.',
  })
  async sellable(@Root() l: LevelRow, @Ctx() ctx: Context): Promise<boolean> {
    const p = await policyOf(l, ctx);
    return isSellable(l.onHand, l.reserved, l.safetyStock, backorderAllowance(p.policy, p.limit, l.incoming));
  }

  @FieldResolver(() => Int, { description: 'Units sold or held below zero available: max(0, reserved + safetyStock − onHand).' })
  backordered(@Root() l: LevelRow): number {
    return backorderedOf(l.onHand, l.reserved, l.safetyStock);
  }

  @FieldResolver(() => Int, {
    description:
      'Units sold or held beyond what stock and the policy’s allowance cover: max(0, reserved − onHand − allowance). 0 unless a change accepted it: preorders whose incoming was withdrawn with allowUncoveredPreorders: true (a cancelled inbound shipment, a lowered line, a transfer written off), or a policy tightened while backordered. Such a level is not sellable; its status is unchanged (OUT_OF_STOCK).',
  })
  async uncovered(@Root() l: LevelRow, @Ctx() ctx: Context): Promise<number> {
    const p = await policyOf(l, ctx);
    return uncoveredOf(l.onHand, l.reserved, backorderAllowance(p.policy, p.limit, l.incoming));
  }

  @FieldResolver(() => InventoryPolicyEnum, { description: "The effective policy: this level's override, else its variant's." })
  async inventoryPolicy(@Root() l: LevelRow, @Ctx() ctx: Context) {
    return (await policyOf(l, ctx)).policy;
  }

  @FieldResolver(() => Int, { nullable: true, description: 'The effective backorder limit (null: none).' })
  async backorderLimit(@Root() l: LevelRow, @Ctx() ctx: Context) {
    return (await policyOf(l, ctx)).limit;
  }

  @FieldResolver(() => Boolean, { description: "Whether this level overrides its variant's policy (inventoryLevelUpdate)." })
  inventoryPolicyOverridden(@Root() l: LevelRow): boolean {
    return l.inventoryPolicy != null;
  }
}

@Resolver(() => Variant)
export class VariantBackorderResolver {
  @FieldResolver(() => Boolean, { description: 'Whether any of its levels can sell one more unit (see InventoryLevel.sellable).' })
  async sellable(@Root() v: VariantRow, @Ctx() ctx: Context) {
    return (await totalsByVariantId(ctx).load(v.id)).sellable;
  }
}

@Resolver(() => Product)
export class ProductBackorderResolver {
  @FieldResolver(() => Boolean, { description: 'Whether any level of any of its variants can sell one more unit.' })
  async sellable(@Root() p: ProductRow, @Ctx() ctx: Context) {
    return (await totalsByProductId(ctx).load(p.id)).sellable;
  }
}

@Resolver(() => StockMovement)
export class StockMovementBackorderResolver {
  @FieldResolver(() => Int, {
    description:
      'Units below zero available after the change (backorders): max(0, reservedAfter + safetyStock − onHandAfter); safetyStock counts as 0 on movements that did not record it.',
  })
  backordered(@Root() m: MovementRow): number {
    return backorderedOf(m.onHandAfter, m.reservedAfter, m.safetyStockAfter ?? 0);
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      'Units sold or held beyond the level’s allowance after this change (reservedAfter − onHandAfter − allowance), recorded only when this change took them there: accepted with allowUncoveredPreorders: true (incoming lowered below what preorders were sold against), or a level policy tightened while backordered. null on every other movement.',
  })
  uncoveredAfter(@Root() m: MovementRow): number | null {
    return m.uncoveredAfter ?? null;
  }
}
