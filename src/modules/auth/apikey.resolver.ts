/** currentApiKey: the calling key's scopes and usage quota. */
import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../../graphql/context';
import { poolTx } from '../../db/tx';
import { quotaStatus } from './quota';
import { ApiKeyInfo, QuotaPeriodEnum } from './apikey.types';

@Resolver(() => ApiKeyInfo)
export class ApiKeyResolver {
  @Authorized('inventory:read', 'inventory:write', 'inventory:reserve', 'catalog:write', 'webhooks:manage', 'storefront:read')
  @Query(() => ApiKeyInfo, { description: 'The API key making this request: its scopes and its usage quota.' })
  async currentApiKey(@Ctx() ctx: Context): Promise<ApiKeyInfo> {
    const auth = ctx.auth!;
    const q = auth.quota ? await quotaStatus(poolTx(ctx.app.db.pool), auth.keyId, auth.quota) : null;
    return {
      prefix: auth.actor.replace(/^key:/, ''),
      kind: auth.kind,
      scopes: auth.kind === 'pk' ? ['storefront:read'] : auth.scopes,
      quota: q && { ...q, period: q.period as QuotaPeriodEnum, resetsAt: new Date(q.resetsAt) },
    };
  }
}
