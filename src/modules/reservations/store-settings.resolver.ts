import { Authorized, Arg, Ctx, Field, InputType, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { Access } from '../../graphql/access';
import { UserError } from '../../graphql/common.types';
import { storeOf, type Context } from '../../graphql/context';
import { AllocationStrategyEnum } from './reservation.types';
import { storeSettings, updateStoreSettings } from './store-settings';

@Access({ read: ['inventory:read', 'inventory:reserve'] })
@ObjectType({ description: "The calling key's store's settings." })
export class StoreSettings {
  @Field(() => AllocationStrategyEnum, {
    description: 'How reservation lines without a warehouse are allocated unless a request says otherwise (default PRIORITY).',
  })
  allocationStrategy!: AllocationStrategyEnum;
}

@InputType({ description: 'Changes to the store settings (omitted fields stay as they are).' })
export class StoreSettingsInput {
  @Field(() => AllocationStrategyEnum, { nullable: true, description: 'The default allocation strategy.' })
  allocationStrategy?: AllocationStrategyEnum | null;
}

@Access({ payload: true })
@ObjectType({ description: 'Result of storeSettingsUpdate.' })
export class StoreSettingsPayload {
  @Field(() => StoreSettings, { nullable: true, description: 'The settings after the change.' })
  settings!: StoreSettings | null;
  @Field(() => [UserError], { description: 'Business errors; empty on success.' })
  userErrors!: UserError[];
}

@Resolver(() => StoreSettings)
export class StoreSettingsResolver {
  @Authorized('inventory:read', 'inventory:reserve')
  @Query(() => StoreSettings, { description: "The store's settings." })
  storeSettings(@Ctx() ctx: Context) {
    return storeSettings(ctx.app.db.prisma, storeOf(ctx));
  }

  @Authorized('admin')
  @Mutation(() => StoreSettingsPayload, { description: "Changes the store's settings (admin keys only)." })
  async storeSettingsUpdate(
    @Ctx() ctx: Context,
    @Arg('input', () => StoreSettingsInput, { description: 'The settings to change.' }) input: StoreSettingsInput,
  ) {
    return { settings: await updateStoreSettings(ctx.app.db.prisma, storeOf(ctx), input), userErrors: [] };
  }
}
