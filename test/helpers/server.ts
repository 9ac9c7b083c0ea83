/** Starts a real gateway (real HTTP + WebSocket server) in this process on a fresh database. */
import 'reflect-metadata';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { startGateway, type Gateway } from '../../src/server';
import { createTestDatabase, type TestDatabase } from './db';
import { migratedPgliteDump } from './pglite-template';
import { startThrowawaysFrom } from '../../src/db/client';
import { makeClient, type GqlClient } from './gql';
import { createTestStore, type TestStore } from './factories';

/** What every test gateway runs with, before the test's own settings. */
const TEST_ENV = {
  NODE_ENV: 'test',
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: 'memory://',
  SEED_DEMO: 'never',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
  // Rate limiting runs in every test, with a bucket no test empties (test/e2e/security.test.ts
  // sets real limits).
  RATE_LIMIT_BUCKET_SIZE: '100000000',
  RATE_LIMIT_RESTORE_RATE: '1000000',
};

export interface TestServer {
  gateway: Gateway;
  url: string;
  config: Config;
  db: TestDatabase;
  /** A store with an admin key, ready to use. */
  store: TestStore;
  /** GraphQL client with the store's admin key. */
  gql: GqlClient;
  stop(): Promise<void>;
}

/**
 * For subscribe()'s `registered`: true once the gateway serves one more subscriber than when this
 * was called (call it before subscribing).
 */
export function oneMoreSubscriber(t: TestServer): () => boolean {
  const before = t.gateway.subscriptions.stats.subscribers;
  return () => t.gateway.subscriptions.stats.subscribers > before;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const db = await createTestDatabase({ migrated: true });
  // Embedded: a copy of a migrated database, as on PostgreSQL (./pglite-template.ts).
  if (!db.url) startThrowawaysFrom(await migratedPgliteDump());
  const config = loadConfig({
    ...TEST_ENV,
    ...(db.url ? { DATABASE_URL: db.url, DATABASE_POOL_SIZE: '10' } : {}),
    ...env,
    // Tuning for tests (src/config/tuning.ts): the caller's overrides win over these.
    INVENTORY_TUNING: JSON.stringify({ SWEEP_INTERVAL_MS: 200, ...JSON.parse(env.INVENTORY_TUNING ?? '{}') }),
  });
  const gateway = await startGateway(config, createLogger(config.logLevel));
  const store = await createTestStore(gateway.app);
  return {
    gateway,
    url: gateway.url,
    config,
    db,
    store,
    gql: makeClient(gateway.url, store.adminKey),
    async stop() {
      await gateway.stop();
      await db.drop();
    },
  };
}

/**
 * Another instance on a test server's PostgreSQL database (embedded PGlite serves one process),
 * with the settings every test gateway runs with; `env` adds to them or overrides them. The caller
 * stops it.
 */
export function startPeerGateway(t: TestServer, env: Record<string, string> = {}): Promise<Gateway> {
  if (!t.db.url) throw new Error('a second instance needs PostgreSQL');
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: t.db.url, DATABASE_POOL_SIZE: '10', ...env });
  return startGateway(config, createLogger(config.logLevel));
}
