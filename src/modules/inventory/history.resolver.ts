/** Stock history: InventoryLevel.snapshot(at) and stockMovementsSummary. Thin: check the arguments, read, map. */
import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import { poolTx } from '../../db/tx';
import type { Context } from '../../graphql/context';
import { storeOf } from '../../graphql/context';
import { badInput } from '../../graphql/errors';
import { decodeIdList } from '../../graphql/ids';
import { DateTime } from '../../graphql/scalars';
import { availableOf, stockStatus, type LevelRow, type MovementReason } from '../stock';
import { movementSummary, type SnapshotRow, type SummaryUnit } from './history.reads';
import { snapshotByKey } from './loaders';
import {
  InventorySnapshot,
  StockMovementsSummary,
  StockMovementsSummaryFilter,
  SummaryGroupByEnum,
  type StockMovementsBucket,
} from './history.types';
import { InventoryLevel, type StockStatusEnum } from './inventory.types';

/** Most periods one summary may span (a period has at most one bucket per reason). */
export const SUMMARY_MAX_PERIODS = 2000;

const PERIOD_MS: Record<SummaryGroupByEnum, number> = { HOUR: 3_600_000, DAY: 86_400_000, WEEK: 7 * 86_400_000 };

function snapshotOf(r: SnapshotRow, at: Date): InventorySnapshot {
  const available = availableOf(r.onHand, r.reserved, r.safetyStock);
  return {
    at,
    onHand: r.onHand,
    reserved: r.reserved,
    incoming: r.incoming,
    safetyStock: r.safetyStock,
    available,
    status: stockStatus(available, r.lowStockThreshold, r.criticalThreshold) as StockStatusEnum,
    lowStockThreshold: r.lowStockThreshold,
    criticalThreshold: r.criticalThreshold,
  };
}

@Resolver(() => InventoryLevel)
export class InventorySnapshotResolver {
  @FieldResolver(() => InventorySnapshot, {
    nullable: true,
    description:
      'The level as it was at `at`, from the ledger (docs/API.md, "Stock history"). `at` must not be in the future, nor before the level was created ' +
      '(BAD_USER_INPUT). One statement for every level of the request.',
  })
  async snapshot(
    @Root() level: LevelRow,
    @Ctx() ctx: Context,
    @Arg('at', () => DateTime, { description: 'The moment: the state after every change recorded at or before it.' }) at: Date,
  ): Promise<InventorySnapshot> {
    if (at.getTime() > Date.now()) throw badInput('"at" is in the future: the stock then is not known yet', { argument: 'at' });
    const r = await snapshotByKey(ctx).load(`${at.getTime()}|${level.id}`);
    if (!r) throw badInput('Inventory level not found', { argument: 'at' });
    if (!r.existed)
      throw badInput('"at" is before the level was created: it had no stock then', { argument: 'at', reason: 'BEFORE_LEVEL_EXISTED' });
    return snapshotOf(r, at);
  }
}

@Resolver(() => StockMovementsSummary)
export class StockMovementsSummaryResolver {
  @Authorized('inventory:read')
  @Query(() => StockMovementsSummary, {
    description:
      'Net stock changes per reason and UTC period over the ledger (for charts): movements with from ≤ recorded < to. ' +
      `At most ${SUMMARY_MAX_PERIODS} periods. One statement, from hourly checkpoints and the recent ledger.`,
  })
  async stockMovementsSummary(
    @Ctx() ctx: Context,
    @Arg('filter', () => StockMovementsSummaryFilter, { description: 'The range (required) and conditions.' })
    filter: StockMovementsSummaryFilter,
    @Arg('groupBy', () => SummaryGroupByEnum, { defaultValue: SummaryGroupByEnum.DAY, description: 'The period of the buckets.' })
    groupBy: SummaryGroupByEnum,
  ): Promise<StockMovementsSummary> {
    const from = filter.from;
    const to = filter.to ?? new Date();
    if (to.getTime() <= from.getTime()) throw badInput('"to" must be after "from"', { argument: 'filter.to' });
    const periods = Math.ceil((to.getTime() - from.getTime()) / PERIOD_MS[groupBy]) + 1;
    if (periods > SUMMARY_MAX_PERIODS) {
      throw badInput(
        `The range spans ${periods} ${groupBy} periods; at most ${SUMMARY_MAX_PERIODS}: narrow it or group by a longer period`,
        {
          argument: 'filter',
        },
      );
    }
    const rows = await movementSummary(
      poolTx(ctx.app.db.pool),
      storeOf(ctx),
      {
        from,
        to,
        warehouseIds: decodeIdList(filter.warehouseIds, 'Warehouse', 'filter.warehouseIds') ?? null,
        variantIds: decodeIdList(filter.variantIds, 'Variant', 'filter.variantIds') ?? null,
        productIds: decodeIdList(filter.productIds, 'Product', 'filter.productIds') ?? null,
        reasons: (filter.reasons as MovementReason[] | null | undefined) ?? null,
      },
      groupBy.toLowerCase() as SummaryUnit,
    );
    const buckets: StockMovementsBucket[] = rows.map((r) => ({
      periodStart: new Date(r.periodStart),
      reason: r.reason,
      onHandChange: BigInt(r.onHandChange),
      reservedChange: BigInt(r.reservedChange),
      incomingChange: BigInt(r.incomingChange),
      movements: BigInt(r.movements),
    }));
    return { from, to, groupBy, buckets };
  }
}
