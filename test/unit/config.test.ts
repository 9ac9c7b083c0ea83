/** Configuration: the operator's variables (envalid), the tuning hook, and one clear line per mistake. */
import { ConfigError, configOrReport, loadConfig } from '../../src/config';
import { VARIABLES } from '../../src/config/env';
import { TUNING_KNOBS, tuningEnv } from '../../src/config/tuning';

const message = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
};

test('defaults: no variable set gives a working development configuration', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({
    nodeEnv: 'development',
    port: 4000,
    host: '0.0.0.0',
    databaseUrl: undefined,
    dataDir: './data',
    poolSize: 1, // PGlite
    logLevel: 'info',
    seedDemo: 'auto',
    corsOrigins: [],
    graphiql: true,
    introspection: true,
    board: true,
    trustedDocumentsFile: null,
    publishableTrustedOnly: false,
    maxQueryCost: 5000,
    rateLimitBucketSize: 20_000,
    rateLimitRestoreRate: 1000,
    metricsPort: null,
    metricsHost: '0.0.0.0',
    cursorSecret: null,
    webhookAllowPrivateTargets: false,
  });
  // The constants, under the names the code reads, in their units.
  expect(c.sweepIntervalMs).toBe(TUNING_KNOBS.SWEEP_INTERVAL_MS.value);
  expect(c.idempotencyTtlSeconds).toBe(86_400);
  expect(c.outboxRetentionSeconds).toBe(72 * 3600);
  expect(c.reservationTtlDefaultSeconds).toBe(900);
  expect(c.startupTimeoutMs).toBe(60_000);
});

test('operator variables are parsed; blank means unset; production turns the IDE and introspection off', () => {
  const c = loadConfig({
    NODE_ENV: 'production',
    PORT: '8080',
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgresql://u@db:5432/inv',
    DATABASE_POOL_SIZE: '25',
    LOG_LEVEL: 'debug',
    SEED_DEMO: 'never',
    CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
    METRICS_PORT: '9464',
    DATA_DIR: '  ',
  });
  expect(c).toMatchObject({
    port: 8080,
    host: '127.0.0.1',
    poolSize: 25,
    logLevel: 'debug',
    seedDemo: 'never',
    graphiql: false,
    introspection: false,
    dataDir: './data',
  });
  expect(c.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
  expect(c.metricsPort).toBe(9464);
  expect(c.metricsHost).toBe('127.0.0.1');
  expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'on' }).graphiql).toBe(true);
  expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('warn');
});

test('METRICS_PORT takes host:port to bind the metrics endpoint elsewhere than HOST', () => {
  expect(loadConfig({ METRICS_PORT: '10.0.0.5:9464' })).toMatchObject({ metricsPort: 9464, metricsHost: '10.0.0.5' });
  expect(loadConfig({ METRICS_PORT: '[::1]:0' })).toMatchObject({ metricsPort: 0, metricsHost: '::1' });
  expect(message({ METRICS_PORT: '70000' })).toBe(
    'Invalid configuration: METRICS_PORT must be a port (0 to 65535) or host:port, got "70000"',
  );
});

test('a bad value is one line naming the variable', () => {
  expect(message({ PORT: 'eighty' })).toBe('Invalid configuration: PORT must be an integer, got "eighty"');
  expect(message({ PORT: '70000' })).toBe('Invalid configuration: PORT must be between 0 and 65535, got 70000');
  expect(message({ DATABASE_URL: 'mysql://x@h/db' })).toBe(
    'Invalid configuration: DATABASE_URL must use the postgresql:// scheme, got "mysql:"',
  );
  expect(message({ DATABASE_URL: 'not a url' })).toMatch(/^Invalid configuration: DATABASE_URL is not a valid URL/);
  expect(message({ LOG_LEVEL: 'loud' })).toBe(
    'Invalid configuration: LOG_LEVEL must be one of debug, info, warn, error, silent, got "loud"',
  );
  expect(message({ SEED_DEMO: 'sometimes' })).toBe('Invalid configuration: SEED_DEMO must be one of auto, always, never, got "sometimes"');
  expect(message({ CORS_ORIGINS: 'https://a.example.com/' })).toBe(
    'Invalid configuration: CORS_ORIGINS "https://a.example.com/" is not an origin; did you mean "https://a.example.com"?',
  );
  expect(message({ GRAPHIQL: 'maybe' })).toBe('Invalid configuration: GRAPHIQL must be true or false, got "maybe"');
  for (const m of [message({ PORT: 'x' }), message({ CORS_ORIGINS: 'nope' })]) expect(m).not.toContain('\n');
});

test('with several bad values the first in the documented order is reported', () => {
  expect(message({ LOG_LEVEL: 'loud', PORT: 'x' })).toMatch(/^Invalid configuration: PORT /);
});

test('INVENTORY_TUNING overrides the constants, each validated; unknown keys and bad JSON are refused', () => {
  const c = loadConfig({
    INVENTORY_TUNING: tuningEnv({
      SWEEP_INTERVAL_MS: 200,
      EVENTS_POLL_MS: 50,
      IDEMPOTENCY_TTL_MS: 120_000,
      BOARD: false,
      INTROSPECTION: false,
    }),
  });
  expect(c).toMatchObject({ sweepIntervalMs: 200, eventsPollMs: 50, idempotencyTtlSeconds: 120, board: false, introspection: false });
  expect(message({ INVENTORY_TUNING: '{"SWEEP_INTERVAL_MS":10}' })).toBe(
    'Invalid configuration: INVENTORY_TUNING.SWEEP_INTERVAL_MS must be between 50 and 3600000, got 10',
  );
  expect(message({ INVENTORY_TUNING: '{"SWEEP_INTERVAL_MS":"200"}' })).toBe(
    'Invalid configuration: INVENTORY_TUNING.SWEEP_INTERVAL_MS must be an integer, got "200"',
  );
  expect(message({ INVENTORY_TUNING: '{"SWEEP_INTERVALL_MS":200}' })).toMatch(
    /^Invalid configuration: INVENTORY_TUNING.SWEEP_INTERVALL_MS is not a tuning constant/,
  );
  expect(message({ INVENTORY_TUNING: '{"OUTBOX_RETENTION_MS":3600500}' })).toMatch(/OUTBOX_RETENTION_MS must be whole seconds/);
  expect(message({ INVENTORY_TUNING: '{"BOARD":"no"}' })).toBe(
    'Invalid configuration: INVENTORY_TUNING.BOARD must be true or false, got "no"',
  );
  expect(message({ INVENTORY_TUNING: 'SWEEP_INTERVAL_MS=200' })).toMatch(/^Invalid configuration: INVENTORY_TUNING must be a JSON object/);
  expect(message({ INVENTORY_TUNING: '[1]' })).toMatch(/^Invalid configuration: INVENTORY_TUNING must be a JSON object/);
  expect(message({ INVENTORY_TUNING: tuningEnv({ RESERVATION_TTL_DEFAULT_SECONDS: 7200, RESERVATION_TTL_MAX_SECONDS: 3600 }) })).toMatch(
    /RESERVATION_TTL_DEFAULT_SECONDS must not exceed RESERVATION_TTL_MAX_SECONDS \(3600\)/,
  );
});

test('every tuning default lies within its own range, and durations are in milliseconds', () => {
  for (const [name, k] of Object.entries(TUNING_KNOBS)) {
    expect(k.value).toBeGreaterThanOrEqual(k.min);
    expect(k.value).toBeLessThanOrEqual(k.max);
    expect(name).toMatch(/_MS$|_SECONDS$|_MAX$|_ATTEMPTS$|_RETRIES$|_BUFFER$|_FLIGHT$|_BYTES$|^MAX_QUERY_/);
  }
});

test('a variable of an earlier release that is now a constant stops the start instead of being ignored', () => {
  expect(message({ SWEEP_INTERVAL_MS: '200' })).toBe(
    'Invalid configuration: SWEEP_INTERVAL_MS is no longer a setting (it is the constant SWEEP_INTERVAL_MS in src/config/tuning.ts): unset it',
  );
  expect(message({ METRICS_HOST: '10.0.0.5' })).toMatch(/METRICS_HOST is no longer a setting \(set METRICS_PORT=host:port instead\)/);
  expect(loadConfig({ SWEEP_INTERVAL_MS: '' }).sweepIntervalMs).toBe(1000);
});

test('the operator reads about 15 variables (plus the OTEL_* ones and the test hook)', () => {
  // 19 since SUBSCRIPTION_MEMORY_MB (issue 19: a hard cap the operator sets for the host's memory).
  expect(VARIABLES.filter((v) => v !== 'INVENTORY_TUNING').length).toBeLessThanOrEqual(19);
});

test('configOrReport writes the one line and returns null; other errors propagate', () => {
  const lines: string[] = [];
  const stderr = { write: (s: string) => lines.push(s) };
  expect(configOrReport(() => loadConfig({ PORT: 'x' }), stderr)).toBeNull();
  expect(lines).toEqual(['Invalid configuration: PORT must be an integer, got "x"\n']);
  expect(configOrReport(() => loadConfig({}), stderr)?.port).toBe(4000);
  expect(() =>
    configOrReport(() => {
      throw new TypeError('boom');
    }, stderr),
  ).toThrow('boom');
});

test('the README documents every variable the gateway reads, and only those; and every tuning constant', () => {
  const readme = require('node:fs').readFileSync(require('node:path').join(__dirname, '..', '..', 'README.md'), 'utf8') as string;
  const table = (heading: string) => {
    const start = readme.indexOf(heading);
    expect(start).toBeGreaterThan(-1);
    const rows = readme.slice(start).split('\n\n')[0].split('\n').slice(2);
    return new Set(rows.flatMap((r) => [...r.split('|')[1].matchAll(/`([A-Z_*]+)`/g)].map((m) => m[1])));
  };
  const documented = table('| Variable | Default | Meaning |');
  documented.delete('OTEL_*'); // the standard OpenTelemetry variables, read by the SDK
  expect([...documented].sort()).toEqual(VARIABLES.filter((v) => v !== 'INVENTORY_TUNING').sort());
  expect(readme).toContain('INVENTORY_TUNING');
  expect([...table('| Constant | Default | Meaning |')].sort()).toEqual(Object.keys(TUNING_KNOBS).sort());
});
