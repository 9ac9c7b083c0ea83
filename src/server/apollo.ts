/** Apollo Server for POST/GET /graphql, with the guard's rules, error formatting and caches. */
import type http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLSchema } from 'graphql';
import type { Context } from '../graphql/context';
import type { OperationGuard } from './security';
import { documentStore } from './persisted';

export interface ApolloDeps {
  schema: GraphQLSchema;
  guard: OperationGuard;
  persisted: KeyValueCache<string>;
  httpServer: http.Server;
  /** Runs when Apollo drains (stop): closes the WebSocket server. */
  drain(): Promise<void>;
}

export function createApollo({ schema, guard, persisted, httpServer, drain }: ApolloDeps): ApolloServer<Context> {
  return new ApolloServer<Context>({
    schema,
    // Keys are bearer headers, never cookies, and a browser preflights any request carrying Authorization.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    // Shutdown is ours (main.ts): Apollo's own signal handler would re-raise the signal mid-drain.
    stopOnTerminationSignals: false,
    // The guard's validation rules refuse introspection when it is off, on every transport.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: guard.formatError,
    validationRules: guard.validationRules,
    persistedQueries: { cache: persisted },
    documentStore: documentStore(),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No type or field has a cache hint, so responses never carried a cache-control header; the
      // default cache-control plugin still ran a willResolveField hook (and allocated) per field.
      ApolloServerPluginCacheControlDisabled(),
      guard.apolloPlugin(),
      {
        async serverWillStart() {
          return { drainServer: drain };
        },
      },
    ],
  });
}
