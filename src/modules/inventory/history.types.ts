/** GraphQL types of stock history: InventoryLevel.snapshot and stockMovementsSummary (docs/API.md, "Stock history"). */
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { DateTime, Int64 } from '../../graphql/scalars';
import { MovementReasonEnum, StockStatusEnum } from './inventory.types';

@Access({ read: ['inventory:read'] })
@ObjectType({
  description:
    'A level as it was at a past moment, from the ledger: the state after its last change recorded at or before that moment ' +
    '(a change is recorded at the start of its transaction). Same rules as the live fields.',
})
export class InventorySnapshot {
  @Field(() => DateTime, { description: 'The moment asked about.' })
  at!: Date;
  @Field(() => Int, { description: 'Physical units then.' })
  onHand!: number;
  @Field(() => Int, { description: 'Units held then by reservations that had not expired by that moment.' })
  reserved!: number;
  @Field(() => Int, { description: 'Units on their way then.' })
  incoming!: number;
  @Field(() => Int, { description: 'Units kept back from sale then.' })
  safetyStock!: number;
  @Field(() => Int, { description: 'onHand − reserved − safetyStock then, floored at 0.' })
  available!: number;
  @Field(() => StockStatusEnum, { description: 'The status then, from available and the thresholds in force then.' })
  status!: StockStatusEnum;
  @Field(() => Int, { description: 'lowStockThreshold then.' })
  lowStockThreshold!: number;
  @Field(() => Int, { description: 'criticalThreshold then.' })
  criticalThreshold!: number;
}

export enum SummaryGroupByEnum {
  HOUR = 'HOUR',
  DAY = 'DAY',
  WEEK = 'WEEK',
}
registerEnumType(SummaryGroupByEnum, {
  name: 'StockMovementsGroupBy',
  description: 'Period of a movement summary; periods are UTC.',
  valuesConfig: {
    HOUR: { description: 'UTC hours.' },
    DAY: { description: 'UTC days (00:00–24:00 UTC).' },
    WEEK: { description: 'ISO weeks: Monday 00:00 UTC to the next Monday.' },
  },
});

@InputType({ description: 'Which movements a summary counts; all given conditions must hold.' })
export class StockMovementsSummaryFilter {
  @Field(() => DateTime, { description: 'Movements recorded at or after this moment.' })
  from!: Date;
  @Field(() => DateTime, { nullable: true, description: 'Movements recorded before this moment (default: now).' })
  to?: Date | null;
  @Field(() => [ID], { nullable: true, description: 'Only levels in these warehouses.' })
  warehouseIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only levels of these variants.' })
  variantIds?: string[] | null;
  @Field(() => [ID], { nullable: true, description: 'Only levels of variants of these products.' })
  productIds?: string[] | null;
  @Field(() => [MovementReasonEnum], { nullable: true, description: 'Only these reasons.' })
  reasons?: MovementReasonEnum[] | null;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'Net changes of the movements of one reason in one period.' })
export class StockMovementsBucket {
  @Field(() => DateTime, { description: 'Start of the period (UTC).' })
  periodStart!: Date;
  @Field(() => MovementReasonEnum, { description: 'The reason of the movements.' })
  reason!: MovementReasonEnum;
  @Field(() => Int64, { description: 'Sum of the onHand changes.' })
  onHandChange!: bigint;
  @Field(() => Int64, { description: 'Sum of the reserved changes.' })
  reservedChange!: bigint;
  @Field(() => Int64, { description: 'Sum of the incoming changes (0 for movements recorded before settings were).' })
  incomingChange!: bigint;
  @Field(() => Int64, { description: 'Number of movements.' })
  movements!: bigint;
}

@Access({ read: ['inventory:read'] })
@ObjectType({ description: 'Net stock changes per reason and period (for charts).' })
export class StockMovementsSummary {
  @Field(() => DateTime, { description: 'Start of the counted range (inclusive).' })
  from!: Date;
  @Field(() => DateTime, { description: 'End of the counted range (exclusive).' })
  to!: Date;
  @Field(() => SummaryGroupByEnum, { description: 'The period of the buckets.' })
  groupBy!: SummaryGroupByEnum;
  @Field(() => [StockMovementsBucket], {
    description: 'One bucket per period and reason that had movements, by period then reason; periods without movements are absent.',
  })
  buckets!: StockMovementsBucket[];
}
