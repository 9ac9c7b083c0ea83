/**
 * Environment → typed configuration. Every variable is validated at start; a bad value gives
 * one clear line naming the variable (ConfigError) and the process exits with code 1.
 */
export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

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
  txMaxRetries: number;
  /** Reservation batches (group commit) running at once; more requests wait and go together. */
  reserveBatchInFlight: number;
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
  /** How long sequenced events stay resumable. */
  outboxRetentionSeconds: number;
  /** Events a subscriber may have pending before it is cut off as too slow (at least two hub batches). */
  subscriptionBuffer: number;
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
  /** Secret the pagination cursors' AES-256-GCM key is derived from; null: a random one stored in the database (cursor_keys). */
  cursorSecret: string | null;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function corsOrigins(env: Env): string[] {
  const raw = env.CORS_ORIGINS;
  if (!raw) return [];
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of list) {
    if (o === '*') continue;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin (expected e.g. https://shop.example.com)`);
    }
    if (u.origin !== o) throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin; did you mean "${u.origin}"?`);
  }
  return list;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a valid URL (expected postgresql://user@host:port/db)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must use the postgresql:// scheme, got "${u.protocol}"`);
  }
  if (!u.hostname && !u.searchParams.get('host')) throw new ConfigError('DATABASE_URL', 'has no host');
  return raw;
}

function cursorSecret(env: Env): string | null {
  const raw = env.CURSOR_SECRET;
  if (raw === undefined || raw === '') return null;
  if (raw.length < 32 || raw.length > 1024 || /\s/.test(raw)) {
    throw new ConfigError('CURSOR_SECRET', `must be 32 to 1024 characters without spaces (e.g. the output of \`openssl rand -base64 32\`), got ${raw.length} characters`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV || 'development';
  const reservationTtlMaxSeconds = int(env, 'RESERVATION_TTL_MAX_SECONDS', 86_400, 1, 30 * 86_400);
  const reservationTtlDefaultSeconds = int(env, 'RESERVATION_TTL_DEFAULT_SECONDS', 900, 1, 30 * 86_400);
  if (reservationTtlDefaultSeconds > reservationTtlMaxSeconds) {
    throw new ConfigError('RESERVATION_TTL_DEFAULT_SECONDS', `must not exceed RESERVATION_TTL_MAX_SECONDS (${reservationTtlMaxSeconds})`);
  }
  const url = databaseUrl(env);
  const config: Config = {
    nodeEnv,
    port: int(env, 'PORT', 4000, 0, 65_535),
    host: env.HOST || '0.0.0.0',
    databaseUrl: url,
    dataDir: env.DATA_DIR || './data',
    // PGlite is one backend: the pool must be 1 there.
    poolSize: url ? int(env, 'DATABASE_POOL_SIZE', 10, 1, 500) : 1,
    connectTimeoutMs: int(env, 'DATABASE_CONNECT_TIMEOUT_MS', 5_000, 100, 120_000),
    startupTimeoutMs: int(env, 'DATABASE_STARTUP_TIMEOUT_MS', 60_000, 0, 86_400_000),
    statementTimeoutMs: int(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 15_000, 100, 600_000),
    logLevel: oneOf(env, 'LOG_LEVEL', nodeEnv === 'test' ? 'warn' : 'info', ['debug', 'info', 'warn', 'error', 'silent'] as const),
    seedDemo: oneOf(env, 'SEED_DEMO', 'auto', ['auto', 'always', 'never'] as const),
    reservationTtlDefaultSeconds,
    reservationTtlMaxSeconds,
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', 1_000, 50, 3_600_000),
    txMaxRetries: int(env, 'TX_MAX_RETRIES', 5, 0, 50),
    reserveBatchInFlight: int(env, 'RESERVE_BATCH_IN_FLIGHT', 1, 1, 64),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    maxDepth: int(env, 'MAX_QUERY_DEPTH', 12, 2, 100),
    maxAliases: int(env, 'MAX_QUERY_ALIASES', 30, 1, 1000),
    maxTokens: int(env, 'MAX_QUERY_TOKENS', 5000, 100, 100_000),
    maxDirectives: int(env, 'MAX_QUERY_DIRECTIVES', 20, 1, 1000),
    maxQueryCost: int(env, 'MAX_QUERY_COST', 5000, 10, 10_000_000),
    rateLimitBucketSize: int(env, 'RATE_LIMIT_BUCKET_SIZE', 20_000, 0, 1_000_000_000),
    rateLimitRestoreRate: int(env, 'RATE_LIMIT_RESTORE_RATE', 1_000, 1, 1_000_000_000),
    corsOrigins: corsOrigins(env),
    introspection: bool(env, 'INTROSPECTION', nodeEnv !== 'production'),
    trustedDocumentsFile: env.TRUSTED_DOCUMENTS || null,
    publishableTrustedOnly: bool(env, 'PUBLISHABLE_TRUSTED_ONLY', false),
    eventsPollMs: int(env, 'EVENTS_POLL_MS', 500, 10, 60_000),
    outboxRetentionSeconds: int(env, 'OUTBOX_RETENTION_HOURS', 72, 1, 24 * 365) * 3600,
    subscriptionBuffer: int(env, 'SUBSCRIPTION_BUFFER', 5000, 1000, 1_000_000),
    subscriptionFlushMs: int(env, 'SUBSCRIPTION_FLUSH_MS', 25, 0, 1000),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 5_000, 100, 120_000),
    webhookMaxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 100),
    webhookRetryBaseMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 1_000, 10, 3_600_000),
    webhookPollMs: int(env, 'WEBHOOK_POLL_MS', 1_000, 10, 60_000),
    webhookAllowPrivateTargets: bool(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    graphiql: bool(env, 'GRAPHIQL', nodeEnv !== 'production'),
    board: bool(env, 'BOARD', true),
    cursorSecret: cursorSecret(env),
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
    throw new ConfigError('PUBLISHABLE_TRUSTED_ONLY', 'is true but TRUSTED_DOCUMENTS is not set: publishable keys could run nothing. Set TRUSTED_DOCUMENTS to the manifest file, or PUBLISHABLE_TRUSTED_ONLY=false');
  }
}
