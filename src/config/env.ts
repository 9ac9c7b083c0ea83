/**
 * The operator's environment variables, validated with envalid. Each validator throws a short
 * reason; the reporter turns the first failure into one ConfigError line naming the variable.
 * Everything else the gateway can tune is a constant in ./tuning.ts.
 */
import { customCleanEnv, makeValidator, str } from 'envalid';
import { ConfigError } from './error';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const SEED_DEMO_MODES = ['auto', 'always', 'never'] as const;

/** A validator failure; the reporter prefixes the variable's name. */
class Invalid extends Error {}

const int = (min: number, max: number) =>
  makeValidator<number>((raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Invalid(`must be an integer, got "${raw}"`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new Invalid(`must be between ${min} and ${max}, got ${n}`);
    return n;
  });

const oneOf = <T extends string>(allowed: readonly T[]) =>
  makeValidator<T>((raw) => {
    if (!(allowed as readonly string[]).includes(raw)) throw new Invalid(`must be one of ${allowed.join(', ')}, got "${raw}"`);
    return raw as T;
  });

/** true/false, 1/0, yes/no, on/off. */
const flag = makeValidator<boolean>((raw) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Invalid(`must be true or false, got "${raw}"`);
});

const postgresUrl = makeValidator<string>((raw) => {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Invalid('is not a valid URL (expected postgresql://user@host:port/db)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new Invalid(`must use the postgresql:// scheme, got "${u.protocol}"`);
  if (!u.hostname && !u.searchParams.get('host')) throw new Invalid('has no host');
  return raw;
});

const origins = makeValidator<string[]>((raw) => {
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of list) {
    if (o === '*') continue;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new Invalid(`"${o}" is not an origin (expected e.g. https://shop.example.com)`);
    }
    if (u.origin !== o) throw new Invalid(`"${o}" is not an origin; did you mean "${u.origin}"?`);
  }
  return list;
});

const secret = makeValidator<string>((raw) => {
  if (raw.length < 32 || raw.length > 1024 || /\s/.test(raw)) {
    throw new Invalid(
      `must be 32 to 1024 characters without spaces (e.g. the output of \`openssl rand -base64 32\`), got ${raw.length} characters`,
    );
  }
  return raw;
});

/** A port, or host:port to listen elsewhere than HOST. */
const listenAddress = makeValidator<{ host: string | null; port: number }>((raw) => {
  const m = /^(?:(.+):)?(\d+)$/.exec(raw.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65_535) throw new Invalid(`must be a port (0 to 65535) or host:port, got "${raw}"`);
  return { host: m[1] ? m[1].replace(/^\[(.*)\]$/, '$1') : null, port };
});

/** The operator's variables, in the order their errors are reported. */
const SPECS = {
  NODE_ENV: str({ default: 'development' }),
  PORT: int(0, 65_535)({ default: 4000 }),
  HOST: str({ default: '0.0.0.0' }),
  DATABASE_URL: postgresUrl({ default: undefined }),
  DATA_DIR: str({ default: './data' }),
  DATABASE_POOL_SIZE: int(1, 500)({ default: 10 }),
  LOG_LEVEL: oneOf(LOG_LEVELS)({ default: 'info', testDefault: 'warn' }),
  SEED_DEMO: oneOf(SEED_DEMO_MODES)({ default: 'auto' }),
  CORS_ORIGINS: origins({ default: [] }),
  GRAPHIQL: flag({ default: undefined }),
  TRUSTED_DOCUMENTS: str({ default: undefined }),
  PUBLISHABLE_TRUSTED_ONLY: flag({ default: false }),
  MAX_QUERY_COST: int(10, 10_000_000)({ default: 5000 }),
  RATE_LIMIT_BUCKET_SIZE: int(0, 1_000_000_000)({ default: 20_000 }),
  RATE_LIMIT_RESTORE_RATE: int(1, 1_000_000_000)({ default: 1_000 }),
  METRICS_PORT: listenAddress({ default: undefined }),
  CURSOR_SECRET: secret({ default: undefined }),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: flag({ default: false }),
  SUBSCRIPTION_MEMORY_MB: int(1, 65_536)({ default: 64 }),
  /** Test and benchmark hook (JSON overrides of ./tuning.ts); not for operators. */
  INVENTORY_TUNING: str({ default: undefined }),
};

/** Names of every variable the gateway reads (besides the standard OTEL_* ones). */
export const VARIABLES = Object.keys(SPECS) as (keyof typeof SPECS)[];

export type OperatorEnv = ReturnType<typeof readEnv>;

/** Variables of earlier releases that are constants now: set, they stop the start rather than be ignored. */
const RETIRED: Record<string, string> = {
  METRICS_HOST: 'set METRICS_PORT=host:port instead',
  INTROSPECTION: 'introspection is on unless NODE_ENV=production',
  BOARD: 'the board is always served on /board',
  IDEMPOTENCY_TTL_SECONDS: 'it is the constant IDEMPOTENCY_TTL_MS in src/config/tuning.ts',
  OUTBOX_RETENTION_HOURS: 'it is the constant OUTBOX_RETENTION_MS in src/config/tuning.ts',
};
for (const name of [
  'DATABASE_CONNECT_TIMEOUT_MS',
  'DATABASE_STARTUP_TIMEOUT_MS',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'RESERVATION_TTL_DEFAULT_SECONDS',
  'RESERVATION_TTL_MAX_SECONDS',
  'SWEEP_INTERVAL_MS',
  'TX_MAX_RETRIES',
  'RESERVE_BATCH_IN_FLIGHT',
  'SHUTDOWN_TIMEOUT_MS',
  'MAX_QUERY_DEPTH',
  'MAX_QUERY_ALIASES',
  'MAX_QUERY_TOKENS',
  'MAX_QUERY_DIRECTIVES',
  'EVENTS_POLL_MS',
  'SUBSCRIPTION_BUFFER',
  'SUBSCRIPTION_FLUSH_MS',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_MAX_ATTEMPTS',
  'WEBHOOK_RETRY_BASE_MS',
  'WEBHOOK_POLL_MS',
  'METRICS_OPERATION_NAMES_MAX',
]) {
  RETIRED[name] = `it is the constant ${name} in src/config/tuning.ts`;
}

function refuseRetired(env: Record<string, string | undefined>): void {
  for (const [name, instead] of Object.entries(RETIRED)) {
    if (env[name] !== undefined && env[name]!.trim() !== '') throw new ConfigError(name, `is no longer a setting (${instead}): unset it`);
  }
}

/** Validates the operator's variables; an unset or blank variable takes its default. */
export function readEnv(env: Record<string, string | undefined>) {
  refuseRetired(env);
  const present: Record<string, string> = {};
  for (const name of VARIABLES) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') present[name] = v;
  }
  return customCleanEnv(present, SPECS, (cleaned) => cleaned, {
    reporter: ({ errors }) => {
      const [name, err] = Object.entries(errors)[0] ?? [];
      if (name && err) throw err instanceof ConfigError ? err : new ConfigError(name, err.message);
    },
  });
}
