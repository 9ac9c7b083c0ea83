/**
 * Tuning constants: the gateway's knobs that an operator does not set. They live here, in one
 * place, with their units in their names (durations are milliseconds, `*_MS`; counts have no unit).
 *
 * Tests and the benchmark reach them through ONE hook, the `INVENTORY_TUNING` environment
 * variable: a JSON object of overrides, e.g. `INVENTORY_TUNING='{"SWEEP_INTERVAL_MS":200}'`.
 * It is NOT for operators: its keys may change between releases without notice. Each override is
 * validated against the range below; a bad one stops the process with one line naming it.
 */
import { ConfigError } from './error';

interface Knob {
  value: number;
  min: number;
  max: number;
}

const DAY_MS = 86_400_000;

const knob = (value: number, min: number, max: number): Knob => ({ value, min, max });

/** Every knob with its default and the range an override must stay within. */
export const TUNING_KNOBS = {
  /** Timeout for opening one database connection (embedded PGlite: at least 60 s, see openDatabase). */
  DATABASE_CONNECT_TIMEOUT_MS: knob(5_000, 100, 120_000),
  /** How long startup keeps retrying an unreachable database before exiting 1; 0 = forever. */
  DATABASE_STARTUP_TIMEOUT_MS: knob(60_000, 0, DAY_MS),
  /** PostgreSQL statement_timeout of the pool's connections. */
  DATABASE_STATEMENT_TIMEOUT_MS: knob(15_000, 100, 600_000),
  /**
   * Reservation lifetime when none is given, and the longest accepted. Seconds, not milliseconds,
   * as the exception: they bound the API's `ttlSeconds` argument, and schema.graphql names them.
   */
  RESERVATION_TTL_DEFAULT_SECONDS: knob(900, 1, 30 * 86_400),
  RESERVATION_TTL_MAX_SECONDS: knob(86_400, 1, 30 * 86_400),
  /** How long an idempotency key's result is kept (whole seconds: stored as an interval in seconds). */
  IDEMPOTENCY_TTL_MS: knob(DAY_MS, 60_000, 30 * DAY_MS),
  /** How often expired reservations are released. */
  SWEEP_INTERVAL_MS: knob(1_000, 50, 3_600_000),
  /**
   * The ledger's hourly checkpoints for stockMovementsSummary (src/modules/inventory/ledger-rollup.ts):
   * how often the job runs, how far behind now() it stays at least (open transactions hold it back
   * further), and how much ledger time one run covers at most (it repeats at once while behind).
   */
  LEDGER_ROLLUP_INTERVAL_MS: knob(60_000, 50, DAY_MS),
  LEDGER_ROLLUP_LAG_MS: knob(5_000, 0, DAY_MS),
  LEDGER_ROLLUP_WINDOW_MS: knob(3_600_000, 1_000, 30 * DAY_MS),
  /** Retries of a transaction on serialization failure or deadlock. */
  TX_MAX_RETRIES: knob(5, 0, 50),
  /** Reservation batches (group commit) running at once; more requests wait and go together. */
  RESERVE_BATCH_IN_FLIGHT: knob(1, 1, 64),
  /** Adjustment batches (group-committed inventoryAdjust) running at once; more requests wait and go together. */
  ADJUST_BATCH_IN_FLIGHT: knob(1, 1, 64),
  /** Grace period on SIGTERM/SIGINT before a forced exit. */
  SHUTDOWN_TIMEOUT_MS: knob(10_000, 0, 600_000),
  /** Static limits per document, enforced by graphql-armor before execution. */
  MAX_QUERY_DEPTH: knob(12, 2, 100),
  MAX_QUERY_ALIASES: knob(30, 1, 1000),
  MAX_QUERY_TOKENS: knob(5000, 100, 100_000),
  MAX_QUERY_DIRECTIVES: knob(20, 1, 1000),
  /** Safety-net poll of the outbox (LISTEN/NOTIFY and local commits wake it sooner). */
  EVENTS_POLL_MS: knob(500, 10, 60_000),
  /**
   * Least time between the starts of two pumps of the event hub (each pump is one sequencing
   * transaction and its commit): under write load the commits of several batches share one pump;
   * a commit after a quiet spell is still pumped at once. At most this much added event latency.
   */
  EVENTS_PUMP_GAP_MS: knob(5, 0, 1000),
  /** How long sequenced events stay resumable (whole seconds). */
  OUTBOX_RETENTION_MS: knob(3 * DAY_MS, 10_000, 365 * DAY_MS),
  /** Events queued per subscription (not yet rendered: the server's lag); more are read back from the outbox later. */
  SUBSCRIPTION_BUFFER: knob(5000, 1000, 1_000_000),
  /** Bytes a subscriber's socket may hold untaken by the kernel before its next frames wait (the backlog it is blamed for). */
  SUBSCRIPTION_SOCKET_HIGH_WATER_BYTES: knob(256 * 1024, 16 * 1024, 64 * 1024 * 1024),
  /** A subscriber whose oldest unsent frame waited this long (its socket not read) is cut off with 4290. */
  SUBSCRIPTION_STALL_MS: knob(15_000, 100, 600_000),
  /** Subscription renders (executions of a selection for one event) running at once, process-wide. */
  SUBSCRIPTION_RENDERS_IN_FLIGHT: knob(64, 1, 10_000),
  /** Synchronous rendering time per event-loop turn, process-wide; past it, renders wait for the next turn. */
  SUBSCRIPTION_RENDER_SLICE_MS: knob(20, 1, 1000),
  /** Open subscriptions per graphql-ws connection, and per API key on one process (more: SUBSCRIPTION_LIMIT). */
  SUBSCRIPTIONS_PER_SOCKET_MAX: knob(100, 1, 100_000),
  SUBSCRIPTIONS_PER_KEY_MAX: knob(10_000, 1, 10_000_000),
  /** Held subscription frames are written (all sockets together) at most once per this interval; 0: every event at once. */
  SUBSCRIPTION_FLUSH_MS: knob(25, 0, 1000),
  /** Webhook delivery: timeout (DNS, connect, TLS and answer together), attempts, backoff base, worker poll. */
  WEBHOOK_TIMEOUT_MS: knob(5_000, 100, 120_000),
  WEBHOOK_MAX_ATTEMPTS: knob(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: knob(1_000, 10, 3_600_000),
  WEBHOOK_POLL_MS: knob(1_000, 10, 60_000),
  /** Operation names (besides trusted documents') with their own `operation` metric label; later ones are "other". */
  METRICS_OPERATION_NAMES_MAX: knob(50, 0, 1000),
} as const;

export type TuningName = keyof typeof TUNING_KNOBS;
export type Tuning = { readonly [K in TuningName]: number };

/** Feature switches with no operator variable (tests turn them through the same hook). */
export const TUNING_SWITCHES = {
  /** Serve the live stock board on /board. */
  BOARD: true as boolean,
  /** Schema introspection and field suggestions; null: on unless NODE_ENV=production. */
  INTROSPECTION: null as boolean | null,
};
export type SwitchName = keyof typeof TUNING_SWITCHES;
export type Switches = { -readonly [K in SwitchName]: (typeof TUNING_SWITCHES)[K] };

/** Durations that are stored or compared in whole seconds downstream. */
const WHOLE_SECONDS: ReadonlySet<TuningName> = new Set(['IDEMPOTENCY_TTL_MS', 'OUTBOX_RETENTION_MS']);

export const TUNING_VARIABLE = 'INVENTORY_TUNING';

function parseJson(raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(TUNING_VARIABLE, 'must be a JSON object, e.g. {"SWEEP_INTERVAL_MS":200}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(TUNING_VARIABLE, 'must be a JSON object, e.g. {"SWEEP_INTERVAL_MS":200}');
  }
  return parsed as Record<string, unknown>;
}

function knobValue(name: TuningName, v: unknown): number {
  const { min, max } = TUNING_KNOBS[name];
  const label = `${TUNING_VARIABLE}.${name}`;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(label, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ConfigError(label, `must be between ${min} and ${max}, got ${v}`);
  if (WHOLE_SECONDS.has(name) && v % 1000 !== 0) throw new ConfigError(label, `must be whole seconds (a multiple of 1000), got ${v}`);
  return v;
}

function switchValue(name: SwitchName, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${TUNING_VARIABLE}.${name}`, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** The constants with the hook's overrides applied (raw: the INVENTORY_TUNING value, or undefined). */
export function parseTuning(raw: string | undefined): { tuning: Tuning; switches: Switches } {
  const tuning = Object.fromEntries(Object.entries(TUNING_KNOBS).map(([k, v]) => [k, v.value])) as Record<TuningName, number>;
  const switches: Switches = { ...TUNING_SWITCHES };
  if (raw === undefined || raw.trim() === '') return { tuning, switches };
  for (const [name, v] of Object.entries(parseJson(raw))) {
    if (name in TUNING_KNOBS) tuning[name as TuningName] = knobValue(name as TuningName, v);
    else if (name in TUNING_SWITCHES) switches[name as SwitchName] = switchValue(name as SwitchName, v);
    else throw new ConfigError(`${TUNING_VARIABLE}.${name}`, `is not a tuning constant (see src/config/tuning.ts)`);
  }
  if (tuning.RESERVATION_TTL_DEFAULT_SECONDS > tuning.RESERVATION_TTL_MAX_SECONDS) {
    throw new ConfigError(
      `${TUNING_VARIABLE}.RESERVATION_TTL_DEFAULT_SECONDS`,
      `must not exceed RESERVATION_TTL_MAX_SECONDS (${tuning.RESERVATION_TTL_MAX_SECONDS})`,
    );
  }
  return { tuning, switches };
}

/** Builds an INVENTORY_TUNING value (for tests and the benchmark). */
export function tuningEnv(overrides: Partial<Record<TuningName, number>> & Partial<Switches>): string {
  return JSON.stringify(overrides);
}
