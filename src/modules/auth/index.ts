/**
 * The auth module's public interface: scopes, API keys, quotas and rate limits. Other modules
 * import auth only from here. Auth depends on no other feature module.
 * The resolver is not exported: src/graphql/schema.ts registers it.
 */
export * from './scopes';
export * from './keys.service';
export * from './quota';
export * from './rate-limit';
export * from './revocation';
