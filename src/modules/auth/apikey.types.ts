import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import { Access } from '../../graphql/access';
import { DateTime } from '../../graphql/scalars';

export enum QuotaPeriodEnum {
  DAY = 'DAY',
  MONTH = 'MONTH',
}
registerEnumType(QuotaPeriodEnum, {
  name: 'QuotaPeriod',
  description: 'How often a usage quota starts again (UTC).',
  valuesConfig: { DAY: { description: 'At 00:00 UTC every day.' }, MONTH: { description: 'At 00:00 UTC on the 1st of every month.' } },
});

@Access({ read: ['inventory:read', 'inventory:write', 'inventory:reserve', 'catalog:write', 'webhooks:manage'], public: true })
@ObjectType({ description: "A key's usage quota and what it used in the current period." })
export class KeyQuota {
  @Field(() => Float, { description: 'Cost points allowed per period (a whole number).' })
  limit!: number;
  @Field(() => Float, { description: 'Cost points used in the current period.' })
  used!: number;
  @Field(() => Float, { description: 'Cost points left in the current period.' })
  remaining!: number;
  @Field(() => QuotaPeriodEnum, { description: 'The period.' })
  period!: QuotaPeriodEnum;
  @Field(() => DateTime, { description: 'When the current period ends and usage starts again at 0.' })
  resetsAt!: Date;
}

@Access({ read: ['inventory:read', 'inventory:write', 'inventory:reserve', 'catalog:write', 'webhooks:manage'], public: true })
@ObjectType({ description: 'The API key making the request.' })
export class ApiKeyInfo {
  @Field({ description: 'The first characters of the key (as key:list shows them).' })
  prefix!: string;
  @Field({ description: '"sk" (secret) or "pk" (publishable).' })
  kind!: string;
  @Field(() => [String], { description: 'Scopes (publishable keys: storefront:read).' })
  scopes!: string[];
  @Field(() => KeyQuota, {
    nullable: true,
    description: 'Usage quota; null when the key has none. Every response also reports it in extensions.cost.quota.',
  })
  quota!: KeyQuota | null;
}
