/**
 * Wraps the root fields' resolvers once, after the schema is built:
 *  - mutations: their payload's userErrors (by code), idempotent replays and reservation events
 *    are counted (metrics.ts), from the payload the service returned, whatever the client selected;
 *  - with tracing on, every root Query and Mutation field runs in a `service <field>` span (the
 *    service call between the GraphQL operation and its SQL statements).
 */
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { observeMutationPayload } from './metrics';
import { inSpan, tracingOn } from './tracing';

const done = new WeakSet<GraphQLSchema>();

export function instrumentRootFields(schema: GraphQLSchema): void {
  if (done.has(schema)) return;
  done.add(schema);
  const wrap = (type: GraphQLObjectType | null | undefined, count: boolean) => {
    for (const [name, field] of Object.entries(type?.getFields() ?? {})) {
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const counted: GraphQLFieldResolver<unknown, unknown> = count
        ? async (src, args, ctx, info) => {
            const r = await resolve(src, args, ctx, info);
            observeMutationPayload(name, r);
            return r;
          }
        : resolve;
      field.resolve = tracingOn()
        ? (src, args, ctx, info) => inSpan(`service ${name}`, { 'graphql.field.name': name }, async () => counted(src, args, ctx, info))
        : counted;
    }
  };
  wrap(schema.getMutationType(), true);
  wrap(schema.getQueryType(), false);
}
