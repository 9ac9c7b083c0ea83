/**
 * Environment → typed configuration. The operator's variables (src/config/env.ts) are validated
 * with envalid at start; everything else is a named constant (src/config/tuning.ts). A bad value
 * gives one clear line naming the variable (ConfigError) and the process exits with code 1.
 */
import { readEnv, type LogLevel } from './config/env';
import { ConfigError } from './config/error';
import { parseTuning, type Tuning } from './config/tuning';

export { ConfigError, configOrReport } from './config/error';
export type { LogLevel } from './config/env';

export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  /** PostgreSQL URL; undefined means embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize: number;
  connectTimeoutMs: number;
  /** How long startup keeps retrying an unreachable database before exiting; 0 = forever. */
  startupTimeoutMs: number;
  statementTimeoutMs: number;
  logLevel: LogLevel;
  /** auto: load demo data into an empty embedded database on first start. */
  seedDemo: 'auto' | 'always' | 'never';
  reservationTtlDefaultSeconds: number;
  reservationTtlMaxSeconds: number;
  idempotencyTtlSeconds: number;
  sweepIntervalMs: number;
  /** The ledger rollup job (checkpoints for stockMovementsSummary): interval, minimum lag behind now(), window per run. */
  ledgerRollupIntervalMs: number;
  ledgerRollupLagMs: number;
  ledgerRollupWindowMs: number;
  txMaxRetries: number;
  /** Reservation batches (group commit) running at once; more requests wait and go together. */
  reserveBatchInFlight: number;
  adjustBatchInFlight: number;
  shutdownTimeoutMs: number;
  /** Static limits, enforced by graphql-armor before execution. */
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** Largest requested cost of one operation (MAX_COST_EXCEEDED above). */
  maxQueryCost: number;
  /** Leaky bucket per key; 0 disables rate limiting. */
  rateLimitBucketSize: number;
  rateLimitRestoreRate: number;
  /** Origins allowed by CORS ('*' for any). */
  corsOrigins: string[];
  introspection: boolean;
  /** JSON manifest { sha256: document } of trusted operations. */
  trustedDocumentsFile: string | null;
  /** Publishable keys may only run trusted documents. */
  publishableTrustedOnly: boolean;
  /** Safety-net poll of the outbox (LISTEN/NOTIFY and local commits wake it sooner). */
  eventsPollMs: number;
  /** Least time between the starts of two pumps of the event hub (EVENTS_PUMP_GAP_MS). */
  eventsPumpGapMs: number;
  /** How long sequenced events stay resumable. */
  outboxRetentionSeconds: number;
  /** Events queued per subscription before it catches up from the outbox (not a cut-off: the lag is the server's). */
  subscriptionBuffer: number;
  /** Socket bytes not taken by the kernel above which a subscriber's frames wait. */
  subscriptionSocketHighWaterBytes: number;
  /** A socket backlog older than this cuts the subscriber off (4290). */
  subscriptionStallMs: number;
  subscriptionRenderConcurrency: number;
  subscriptionRenderSliceMs: number;
  /** Hard cap on memory of all subscriptions together (SUBSCRIPTION_MEMORY_MB); past it the largest backlogs are cut off. */
  subscriptionMemoryMb: number;
  /** Open subscriptions per graphql-ws connection, and per API key in this process. */
  subscriptionsPerSocket: number;
  subscriptionsPerKey: number;
  /** Held subscription frames are written (all sockets together) at most once per this many ms (0: every event at once). */
  subscriptionFlushMs: number;
  webhookTimeoutMs: number;
  webhookMaxAttempts: number;
  webhookRetryBaseMs: number;
  webhookPollMs: number;
  /** Let webhooks target loopback, private, link-local and CGNAT addresses (tests, on-premise); off by default. */
  webhookAllowPrivateTargets: boolean;
  /** Serve the GraphiQL IDE on GET /graphql (Accept: text/html) and its assets under /ide/. */
  graphiql: boolean;
  /** Serve the live stock board on /board. */
  board: boolean;
  /** Port of the Prometheus /metrics endpoint (its own server); null = no endpoint. */
  metricsPort: number | null;
  metricsHost: string;
  /** Operation names (besides trusted documents') that get their own `operation` label; the rest are "other". */
  metricsOperationNamesMax: number;
  /** Secret the pagination cursors' AES-256-GCM key is derived from; null: a random one stored in the database (cursor_keys). */
  cursorSecret: string | null;
  /** NATS servers with JetStream: events fan out through JetStream (docs/SCALING.md); null = in-process fan-out only. */
  natsServers: string[] | null;
}

type Env = Record<string, string | undefined>;

/** The tuning constants under the names the rest of the code reads. */
function tuned(t: Tuning) {
  return {
    connectTimeoutMs: t.DATABASE_CONNECT_TIMEOUT_MS,
    startupTimeoutMs: t.DATABASE_STARTUP_TIMEOUT_MS,
    statementTimeoutMs: t.DATABASE_STATEMENT_TIMEOUT_MS,
    reservationTtlDefaultSeconds: t.RESERVATION_TTL_DEFAULT_SECONDS,
    reservationTtlMaxSeconds: t.RESERVATION_TTL_MAX_SECONDS,
    idempotencyTtlSeconds: t.IDEMPOTENCY_TTL_MS / 1000,
    sweepIntervalMs: t.SWEEP_INTERVAL_MS,
    ledgerRollupIntervalMs: t.LEDGER_ROLLUP_INTERVAL_MS,
    ledgerRollupLagMs: t.LEDGER_ROLLUP_LAG_MS,
    ledgerRollupWindowMs: t.LEDGER_ROLLUP_WINDOW_MS,
    txMaxRetries: t.TX_MAX_RETRIES,
    reserveBatchInFlight: t.RESERVE_BATCH_IN_FLIGHT,
    adjustBatchInFlight: t.ADJUST_BATCH_IN_FLIGHT,
    shutdownTimeoutMs: t.SHUTDOWN_TIMEOUT_MS,
    maxDepth: t.MAX_QUERY_DEPTH,
    maxAliases: t.MAX_QUERY_ALIASES,
    maxTokens: t.MAX_QUERY_TOKENS,
    maxDirectives: t.MAX_QUERY_DIRECTIVES,
    eventsPollMs: t.EVENTS_POLL_MS,
    eventsPumpGapMs: t.EVENTS_PUMP_GAP_MS,
    outboxRetentionSeconds: t.OUTBOX_RETENTION_MS / 1000,
    subscriptionBuffer: t.SUBSCRIPTION_BUFFER,
    subscriptionSocketHighWaterBytes: t.SUBSCRIPTION_SOCKET_HIGH_WATER_BYTES,
    subscriptionStallMs: t.SUBSCRIPTION_STALL_MS,
    subscriptionRenderConcurrency: t.SUBSCRIPTION_RENDERS_IN_FLIGHT,
    subscriptionRenderSliceMs: t.SUBSCRIPTION_RENDER_SLICE_MS,
    subscriptionsPerSocket: t.SUBSCRIPTIONS_PER_SOCKET_MAX,
    subscriptionsPerKey: t.SUBSCRIPTIONS_PER_KEY_MAX,
    subscriptionFlushMs: t.SUBSCRIPTION_FLUSH_MS,
    webhookTimeoutMs: t.WEBHOOK_TIMEOUT_MS,
    webhookMaxAttempts: t.WEBHOOK_MAX_ATTEMPTS,
    webhookRetryBaseMs: t.WEBHOOK_RETRY_BASE_MS,
    webhookPollMs: t.WEBHOOK_POLL_MS,
    metricsOperationNamesMax: t.METRICS_OPERATION_NAMES_MAX,
  };
}

export function loadConfig(env: Env = process.env): Config {
  const e = readEnv(env);
  const { tuning, switches } = parseTuning(e.INVENTORY_TUNING);
  const production = e.NODE_ENV === 'production';
  const config: Config = {
    ...tuned(tuning),
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    // PGlite is one backend: the pool must be 1 there.
    poolSize: e.DATABASE_URL ? e.DATABASE_POOL_SIZE : 1,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO,
    maxQueryCost: e.MAX_QUERY_COST,
    rateLimitBucketSize: e.RATE_LIMIT_BUCKET_SIZE,
    rateLimitRestoreRate: e.RATE_LIMIT_RESTORE_RATE,
    corsOrigins: e.CORS_ORIGINS,
    introspection: switches.INTROSPECTION ?? !production,
    trustedDocumentsFile: e.TRUSTED_DOCUMENTS ?? null,
    publishableTrustedOnly: e.PUBLISHABLE_TRUSTED_ONLY,
    webhookAllowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    graphiql: e.GRAPHIQL ?? !production,
    board: switches.BOARD,
    metricsPort: e.METRICS_PORT?.port ?? null,
    metricsHost: e.METRICS_PORT?.host ?? e.HOST,
    cursorSecret: e.CURSOR_SECRET ?? null,
    subscriptionMemoryMb: e.SUBSCRIPTION_MEMORY_MB,
    natsServers: e.NATS_URL ?? null,
  };
  checkCombinations(config);
  return config;
}

/** Settings that are valid one by one but cannot work together: refused at start, not at the first request. */
function checkCombinations(c: Config): void {
  if (c.rateLimitBucketSize > 0 && c.rateLimitBucketSize < c.maxQueryCost) {
    throw new ConfigError(
      'RATE_LIMIT_BUCKET_SIZE',
      `(${c.rateLimitBucketSize}) is smaller than MAX_QUERY_COST (${c.maxQueryCost}): an operation costing more than the bucket holds could never run. ` +
        `Raise RATE_LIMIT_BUCKET_SIZE to at least ${c.maxQueryCost}, lower MAX_QUERY_COST, or set RATE_LIMIT_BUCKET_SIZE=0 to disable rate limiting`,
    );
  }
  if (c.publishableTrustedOnly && !c.trustedDocumentsFile) {
    throw new ConfigError(
      'PUBLISHABLE_TRUSTED_ONLY',
      'is true but TRUSTED_DOCUMENTS is not set: publishable keys could run nothing. Set TRUSTED_DOCUMENTS to the manifest file, or PUBLISHABLE_TRUSTED_ONLY=false',
    );
  }
}
