/**
 * The auth module's public interface: API keys, quotas and rate limits (the scopes and AuthInfo are
 * the GraphQL kit's, src/graphql/scopes.ts). Other modules
 * import auth only from here. Auth depends on no other feature module.
 * The resolver is not exported: src/server/schema.ts registers it.
 */
export * from './keys.service';
export * from './quota';
export * from './rate-limit';
export * from './revocation';
