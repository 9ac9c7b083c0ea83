/** Builds the executable schema from the type-graphql resolvers. */
import 'reflect-metadata';
import { defaultFieldResolver, GraphQLNonNull, isObjectType, printSchema, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { buildSchema, type AuthChecker } from 'type-graphql';
import { ApiKeyResolver } from '../modules/auth/apikey.resolver';
import { hasScope } from '../graphql/scopes';
import { ProductResolver, VariantResolver, WarehouseResolver } from '../modules/catalog/catalog.resolver';
// Import order is field order in schema.graphql: `products` comes before the catalogue's lists, and
// the stock fields of Product/Variant/Warehouse after the catalogue's own.
import { ProductListResolver } from '../modules/inventory/product.reads.resolver';
import { ProductReadResolver, VariantReadResolver, WarehouseReadResolver } from '../modules/catalog/catalog.reads.resolver';
import { ProductStockResolver, VariantStockResolver, WarehouseStockResolver } from '../modules/inventory/catalog-stock.resolver';
import { InventoryLevelReadResolver, InventorySummaryResolver, StockMovementResolver } from '../modules/inventory/inventory.reads.resolver';
import { InventoryLevelResolver } from '../modules/inventory/inventory.resolver';
import {
  InventoryLevelBackorderResolver,
  ProductBackorderResolver,
  StockMovementBackorderResolver,
  VariantBackorderResolver,
} from '../modules/inventory/backorder.resolver';
import { InventorySnapshotResolver, StockMovementsSummaryResolver } from '../modules/inventory/history.resolver';
import { NodeResolver } from '../modules/node/node.resolver';
import { ReservationReadResolver, StockMovementReservationResolver } from '../modules/reservations/reservation.reads.resolver';
import { ReservationLineResolver, ReservationResolver } from '../modules/reservations/reservation.resolver';
import { StoreSettingsResolver } from '../modules/reservations/store-settings.resolver';
import { InboundShipmentLineResolver, InboundShipmentResolver } from '../modules/inbound/inbound.resolver';
import {
  InventoryLevelTransitResolver,
  InventoryTransferLineResolver,
  InventoryTransferResolver,
} from '../modules/inbound/transfer.resolver';
import { InventoryChangedEventResolver, StockStatusChangedEventResolver } from '../modules/subscriptions/subscription.resolver';
import { InboundReceivedEventResolver, TransferEventResolver } from '../modules/subscriptions/transit.resolver';
import { WebhookDeliveryResolver, WebhookSubscriptionResolver } from '../modules/webhooks/webhook.resolver';
import type { Context } from '../graphql/context';
import { assertAccessDeclared } from '../graphql/access';
import { forbidden, unauthenticated } from '../graphql/errors';
import { ROOT_TYPE_DESCRIPTIONS } from '../graphql/common.types';

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
  ProductListResolver,
  ProductReadResolver,
  VariantReadResolver,
  WarehouseReadResolver,
  ProductStockResolver,
  VariantStockResolver,
  WarehouseStockResolver,
  InventoryLevelReadResolver,
  StockMovementResolver,
  StockMovementReservationResolver,
  InventorySummaryResolver,
  InventoryLevelBackorderResolver,
  VariantBackorderResolver,
  ProductBackorderResolver,
  StockMovementBackorderResolver,
  InventorySnapshotResolver,
  StockMovementsSummaryResolver,
  ReservationReadResolver,
  NodeResolver,
  InventoryChangedEventResolver,
  StockStatusChangedEventResolver,
  WebhookSubscriptionResolver,
  WebhookDeliveryResolver,
  ApiKeyResolver,
  StoreSettingsResolver,
  InboundShipmentResolver,
  InboundShipmentLineResolver,
  InventoryTransferResolver,
  InventoryTransferLineResolver,
  InventoryLevelTransitResolver,
  InboundReceivedEventResolver,
  TransferEventResolver,
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
    nullMeansDefault(schema);
    // Every type says who may read it, every root field its scopes: the server does not start otherwise.
    assertAccessDeclared(schema);
    return schema;
  });
  return cached;
}

/**
 * Explicit null on an argument that has a default means the default: every such argument
 * (`sortKey: ProductSortKey! = NAME`, `reverse: Boolean! = false`, …) becomes nullable with the same
 * default (`sortKey: ProductSortKey = NAME`; widening an argument is not a breaking change), and the
 * field's resolver receives the default in place of null. Without this, `products(sortKey: null)`
 * (or a null variable) failed inside graphql-js's argument coercion as INTERNAL_SERVER_ERROR. The
 * generated client types follow (`sortKey?: InputMaybe<ProductSortKey>`).
 */
export function nullMeansDefault(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const defaults = field.args.filter((a) => a.defaultValue !== undefined && a.type instanceof GraphQLNonNull);
      if (!defaults.length) continue;
      for (const a of defaults) (a as { type: unknown }).type = (a.type as GraphQLNonNull<never>).ofType;
      const wrap = (inner: GraphQLFieldResolver<unknown, unknown> | undefined) => {
        const fn = inner ?? defaultFieldResolver;
        return (
          root: unknown,
          args: Record<string, unknown>,
          ctx: unknown,
          info: Parameters<GraphQLFieldResolver<unknown, unknown>>[3],
        ) => {
          for (const a of defaults) if (args[a.name] === null) args[a.name] = a.defaultValue;
          return fn(root, args, ctx, info);
        };
      };
      field.resolve = wrap(field.resolve);
      if (field.subscribe) field.subscribe = wrap(field.subscribe);
    }
  }
}

/** The SDL checked in as schema.graphql. */
export async function schemaSdl(): Promise<string> {
  return printSchema(await getSchema()) + '\n';
}
