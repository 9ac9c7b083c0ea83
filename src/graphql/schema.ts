/** Builds the executable schema from the type-graphql resolvers. */
import 'reflect-metadata';
import { printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import { ApiKeyResolver } from '../modules/auth/apikey.resolver';
import { hasScope } from '../modules/auth/scopes';
import { ProductResolver, VariantResolver, WarehouseResolver } from '../modules/catalog/catalog.resolver';
import { ProductReadResolver, VariantReadResolver, WarehouseReadResolver } from '../modules/catalog/catalog.reads.resolver';
import { InventoryLevelReadResolver, StockMovementResolver } from '../modules/inventory/inventory.reads.resolver';
import { InventoryLevelResolver } from '../modules/inventory/inventory.resolver';
import { NodeResolver } from '../modules/node/node.resolver';
import { ReservationReadResolver } from '../modules/reservations/reservation.reads.resolver';
import { ReservationLineResolver, ReservationResolver } from '../modules/reservations/reservation.resolver';
import { InventoryChangedEventResolver, StockStatusChangedEventResolver } from '../modules/subscriptions/subscription.resolver';
import { WebhookDeliveryResolver, WebhookSubscriptionResolver } from '../modules/webhooks/webhook.resolver';
import type { Context } from './context';
import { assertAccessDeclared } from './access';
import { forbidden, unauthenticated } from './errors';
import { ROOT_TYPE_DESCRIPTIONS } from './common.types';

/**
 * @Authorized(...scopes): the caller needs a valid key and any one of the scopes (admin has all).
 * Failures are GraphQLErrors UNAUTHENTICATED / FORBIDDEN naming the scope.
 */
export const authChecker: AuthChecker<Context> = ({ context }, scopes) => {
  const auth = context.auth;
  if (!auth) throw unauthenticated();
  if (scopes.length === 0 || scopes.some((s) => hasScope(auth, s))) return true;
  throw forbidden(scopes.join('" or "'));
};

export const resolvers = [
  ProductResolver,
  VariantResolver,
  WarehouseResolver,
  InventoryLevelResolver,
  ReservationResolver,
  ReservationLineResolver,
  ProductReadResolver,
  VariantReadResolver,
  WarehouseReadResolver,
  InventoryLevelReadResolver,
  StockMovementResolver,
  ReservationReadResolver,
  NodeResolver,
  InventoryChangedEventResolver,
  StockStatusChangedEventResolver,
  WebhookSubscriptionResolver,
  WebhookDeliveryResolver,
  ApiKeyResolver,
] as const;

let cached: Promise<GraphQLSchema> | null = null;

export function getSchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [...resolvers],
    authChecker,
    validate: false,
    emitSchemaFile: false,
    // Subscriptions use their own `subscribe` (src/events): there is no topic-based PubSub.
    pubSub: {
      publish() {
        throw new Error('topic PubSub is not used');
      },
      subscribe() {
        throw new Error('topic PubSub is not used');
      },
    },
  }).then((schema) => {
    // type-graphql takes no description for the root types.
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      if (root) root.description = ROOT_TYPE_DESCRIPTIONS[root.name as keyof typeof ROOT_TYPE_DESCRIPTIONS];
    }
    // Every type says who may read it, every root field its scopes: the server does not start otherwise.
    assertAccessDeclared(schema);
    return schema;
  });
  return cached;
}

/** The SDL checked in as schema.graphql. */
export async function schemaSdl(): Promise<string> {
  return printSchema(await getSchema()) + '\n';
}
