/**
 * Prometheus metrics (prom-client), one registry per process, served by src/observability/server.ts
 * on METRICS_PORT. docs/OPERATIONS.md lists every series, what it means and which alert uses it.
 *
 * No label ever carries store data: no store id, SKU, key, cursor or id. Labels are bounded by
 * the code (reasons, codes, transports, outcomes, pools) or by configuration (operation names,
 * see OperationNames). Counters are incremented whether or not METRICS_PORT is set (a Map lookup
 * and an add); the gauges that read the database run only when scraped.
 */
import { parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import client from 'prom-client';
import type pg from 'pg';

export const register = new client.Registry();

const buckets = {
  /** GraphQL operations: 1 ms … 10 s. */
  operation: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** Event pipeline and webhook lag: 5 ms … 5 min. */
  lag: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  /** Waiting for a pooled connection: 0.1 ms … 10 s. */
  wait: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
};

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
  new client.Counter<L>({ name, help, labelNames, registers: [register] });
const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], b: number[]) =>
  new client.Histogram<L>({ name, help, labelNames, buckets: b, registers: [register] });

export type Transport = 'http' | 'ws';
/** ok: executed without errors; error: executed with errors in the result; refused: stopped before execution (validation, authorization, cost, throttling, bad input). */
export type Outcome = 'ok' | 'error' | 'refused';

export const m = {
  operations: counter(
    'inventory_graphql_operations_total',
    'GraphQL operations by operation name, type, transport and outcome (ok, error, refused).',
    ['operation', 'type', 'transport', 'outcome'] as const,
  ),
  operationDuration: histogram(
    'inventory_graphql_operation_duration_seconds',
    'Time from receiving a GraphQL operation to its result (subscriptions: to the start of the stream), by operation name, type and transport.',
    ['operation', 'type', 'transport'] as const,
    buckets.operation,
  ),
  graphqlErrors: counter('inventory_graphql_errors_total', 'GraphQL errors sent to clients, by extensions.code (after masking).', [
    'code',
  ] as const),
  userErrors: counter('inventory_graphql_user_errors_total', 'Business failures returned in userErrors, by code.', ['code'] as const),
  throttled: counter(
    'inventory_throttled_requests_total',
    "Operations refused because the key's cost bucket was empty (THROTTLED, HTTP 429).",
    ['transport'] as const,
  ),
  overQuota: counter(
    'inventory_over_quota_requests_total',
    'Operations refused over a quota: reason="quota" (the key\'s usage quota per day or month is spent, QUOTA_EXCEEDED, HTTP 402) or reason="max_cost" (requested cost over MAX_QUERY_COST, MAX_COST_EXCEEDED).',
    ['transport', 'reason'] as const,
  ),
  replays: counter(
    'inventory_idempotent_replays_total',
    'Mutations answered from a stored result of the same idempotency key, by mutation.',
    ['mutation'] as const,
  ),
  stockChanges: counter(
    'inventory_stock_changes_total',
    'Committed stock changes of one inventory level, by reason (an expiry of due reservation lines on a level counts once as EXPIRY).',
    ['reason'] as const,
  ),
  reservations: counter(
    'inventory_reservations_total',
    'Reservation mutations that succeeded, by event (created, committed, released, extended).',
    ['event'] as const,
  ),
  expiredUnits: counter(
    'inventory_reservation_expired_units_total',
    'Reserved units returned to stock by expiry (the sweeper and lazy expiry).',
    [] as const,
  ),
  eventLag: histogram(
    'inventory_event_lag_seconds',
    'Outbox event pipeline lag from the commit of a change: stage="sequenced" when this process\'s hub read it numbered, stage="delivered" when its frames were written to this process\'s subscribers.',
    ['stage'] as const,
    buckets.lag,
  ),
  webhookDeliveries: counter(
    'inventory_webhook_deliveries_total',
    'Webhook delivery attempts by result: delivered (2xx), retrying (will be tried again) or failed (gave up after WEBHOOK_MAX_ATTEMPTS).',
    ['result'] as const,
  ),
  webhookAttempts: histogram(
    'inventory_webhook_delivery_attempts',
    'Attempts a webhook delivery took, observed when it succeeded or finally failed.',
    [] as const,
    [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50, 100],
  ),
  webhookLag: histogram(
    'inventory_webhook_delivery_lag_seconds',
    'From the commit of the change to the successful delivery of its webhook.',
    [] as const,
    buckets.lag,
  ),
  poolWait: histogram(
    'inventory_db_pool_wait_seconds',
    'Time spent waiting for a pooled database connection, by pool.',
    ['pool'] as const,
    buckets.wait,
  ),
  subscriptionCutOffs: counter(
    'inventory_subscription_cutoffs_total',
    'Subscribers cut off with close 4290, by reason: stall (its socket not read for SUBSCRIPTION_STALL_MS) or memory (SUBSCRIPTION_MEMORY_MB reached, largest backlog first).',
    ['reason'] as const,
  ),
  backlogEvents: counter(
    'inventory_subscription_backlog_events_total',
    'Events read for subscribers outside the live feed (a resume with after, or reading back after the server fell behind), by source: jetstream (a resume replayed from the stream, NATS_URL) or event_log (PostgreSQL).',
    ['source'] as const,
  ),
  batched: counter(
    'inventory_batched_requests_total',
    'Requests offered to a group-committed writer statement, by batch (reserve, adjust) and outcome: served (answered by the shared statement) or general_path (left to their own transaction: not granted in the batch, the batch refused, or a case it does not serve).',
    ['batch', 'outcome'] as const,
  ),
  txRetries: counter(
    'inventory_db_transaction_retries_total',
    'Transactions retried after a serialization failure or deadlock, by reason.',
    ['reason'] as const,
  ),
};

/** What the gauges read at scrape time (set once the gateway is up). */
export interface GaugeSources {
  pools: Record<string, pg.Pool>;
  /** Sizes (max) of the pools. */
  poolMax: Record<string, number>;
  subscribers(): number;
  sockets(): number;
  /** Bytes of subscription memory in use (queued events, held and unsent frames). */
  subscriptionMemory(): number;
  /** One statement answering the database-wide gauges (cached for a second). */
  database(): Promise<{ active: number; backlog: number; oldest: number; pending: number }>;
}

let sources: GaugeSources | null = null;
export function setGaugeSources(s: GaugeSources | null): void {
  sources = s;
}

const gauge = <L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect: (g: client.Gauge<L>) => void | Promise<void>,
) =>
  new client.Gauge<L>({
    name,
    help,
    labelNames,
    registers: [register],
    collect() {
      return collect(this);
    },
  });

gauge(
  'inventory_db_pool_connections',
  'Database connections of this process by pool and state (total, idle, in_use) and requests waiting for one (waiting).',
  ['pool', 'state'] as const,
  (g) => {
    g.reset();
    for (const [name, p] of Object.entries(sources?.pools ?? {})) {
      g.set({ pool: name, state: 'total' }, p.totalCount);
      g.set({ pool: name, state: 'idle' }, p.idleCount);
      g.set({ pool: name, state: 'in_use' }, p.totalCount - p.idleCount);
      g.set({ pool: name, state: 'waiting' }, p.waitingCount);
    }
  },
);
gauge('inventory_db_pool_size', 'Configured size (max connections) of each database pool of this process.', ['pool'] as const, (g) => {
  g.reset();
  for (const [name, n] of Object.entries(sources?.poolMax ?? {})) g.set({ pool: name }, n);
});
gauge('inventory_subscribers', 'GraphQL subscriptions (event listeners) served by this process.', [] as const, (g) =>
  g.set(sources?.subscribers() ?? 0),
);
gauge(
  'inventory_subscription_memory_bytes',
  'Subscription memory in use on this process: queued events, and frames not yet taken by the kernel (capped by SUBSCRIPTION_MEMORY_MB).',
  [] as const,
  (g) => g.set(sources?.subscriptionMemory() ?? 0),
);
gauge('inventory_ws_connections', 'Open graphql-ws sockets on this process.', [] as const, (g) => g.set(sources?.sockets() ?? 0));

let dbCache: { at: number; value: Promise<{ active: number; backlog: number; oldest: number; pending: number } | null> } | null = null;
function databaseGauges() {
  const now = Date.now();
  if (!dbCache || now - dbCache.at > 1000) {
    const src = sources;
    dbCache = { at: now, value: src ? src.database().catch(() => null) : Promise.resolve(null) };
  }
  return dbCache.value;
}
const dbGauge = (name: string, help: string, pick: (v: { active: number; backlog: number; oldest: number; pending: number }) => number) =>
  gauge(name, help, [] as const, async (g) => {
    const v = await databaseGauges();
    if (v) g.set(pick(v));
  });
dbGauge(
  'inventory_reservations_active',
  'Active (unexpired, unsettled) reservations in the database (all stores; the same on every instance).',
  (v) => v.active,
);
dbGauge(
  'inventory_outbox_backlog',
  'Committed outbox events not yet sequenced (all instances; the same on every instance).',
  (v) => v.backlog,
);
dbGauge(
  'inventory_outbox_oldest_pending_age_seconds',
  'Age of the oldest committed but unsequenced outbox event (0 when none).',
  (v) => v.oldest,
);
dbGauge(
  'inventory_webhook_deliveries_pending',
  'Webhook deliveries waiting for a (first or further) attempt (all instances).',
  (v) => v.pending,
);

/** The SQL of the database-wide gauges. */
export const DATABASE_GAUGES_SQL = `SELECT
  (SELECT count(*) FROM reservations WHERE status = 'ACTIVE' AND expires_at > now())::int AS active,
  (SELECT count(*) FROM outbox_events)::int AS backlog,
  coalesce(extract(epoch FROM now() - (SELECT min(created_at) FROM outbox_events)), 0)::float8 AS oldest,
  (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING')::int AS pending`;

let defaultsOn = false;
/** Default process metrics (event-loop lag, heap, GC, CPU, file descriptors), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  client.collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 10 });
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/**
 * The `operation` label: the names of trusted documents (TRUSTED_DOCUMENTS), plus the first
 * `max` other distinct names this process sees (METRICS_OPERATION_NAMES_MAX); every other name is
 * "other", an operation without a name "anonymous". Client-chosen text reaches the label only
 * within that bound; set the maximum to 0 to label trusted names only.
 */
export class OperationNames {
  /** Name → the label, a copy of its own: a name parsed from a document is a slice that would keep the whole document alive. */
  private readonly known = new Map<string, string>();
  private seen = 0;
  constructor(
    trustedDocuments: Iterable<string>,
    private readonly max: number,
  ) {
    for (const doc of trustedDocuments) {
      let d: DocumentNode;
      try {
        d = parse(doc, { noLocation: true });
      } catch {
        continue;
      }
      for (const def of d.definitions)
        if (def.kind === 'OperationDefinition' && def.name && NAME.test(def.name.value))
          this.known.set(def.name.value, own(def.name.value));
    }
  }
  label(op: OperationDefinitionNode | null | undefined): string {
    const name = op?.name?.value;
    if (!name) return op ? 'anonymous' : 'unknown';
    const label = this.known.get(name);
    if (label) return label;
    if (this.seen < this.max && NAME.test(name)) {
      this.seen++;
      const copy = own(name);
      this.known.set(copy, copy);
      return copy;
    }
    return 'other';
  }
}

/** A flat copy of a (short) string. */
const own = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** Counts the userErrors and idempotent replays of a mutation's result payload (before field selection). */
export function observeMutationPayload(field: string, payload: unknown): void {
  if (!payload || typeof payload !== 'object') return;
  const p = payload as { userErrors?: { code?: unknown }[]; idempotentReplay?: unknown; replayed?: unknown; reservation?: unknown };
  const errors = Array.isArray(p.userErrors) ? p.userErrors : [];
  for (const e of errors) m.userErrors.inc({ code: typeof e?.code === 'string' ? e.code : 'UNKNOWN' });
  const replay = p.idempotentReplay === true || p.replayed === true;
  if (replay) m.replays.inc({ mutation: field });
  if (errors.length === 0 && !replay && p.reservation) {
    const event = RESERVATION_EVENTS[field];
    if (event) m.reservations.inc({ event });
  }
}
const RESERVATION_EVENTS: Record<string, string> = {
  inventoryReserve: 'created',
  reservationCommit: 'committed',
  reservationRelease: 'released',
  reservationExtend: 'extended',
};

/**
 * A committed writer statement: `changes` ledger movements of `reason` (true = 1), and reserved
 * units it expired on the way (lazy expiry, or the sweeper's EXPIRY touch).
 */
export function observeStockChange(reason: string, changes: boolean | number, expiredUnits: number): void {
  const n = changes === true ? 1 : changes === false ? 0 : changes;
  if (n > 0 && !(reason === 'EXPIRY' && expiredUnits > 0)) m.stockChanges.inc({ reason }, n);
  if (expiredUnits > 0) {
    m.stockChanges.inc({ reason: 'EXPIRY' });
    m.expiredUnits.inc(expiredUnits);
  }
}

/** A webhook attempt's outcome (after it was recorded): its count, and attempts and lag when it is final. */
export function observeWebhook(result: 'delivered' | 'retrying' | 'failed', d: { attempts: number; payload: unknown }): void {
  m.webhookDeliveries.inc({ result });
  if (result === 'retrying') return;
  m.webhookAttempts.observe(d.attempts);
  const occurredAt = (d.payload as { occurredAt?: unknown } | null)?.occurredAt;
  if (result === 'delivered' && typeof occurredAt === 'string') {
    const t = Date.parse(occurredAt);
    if (Number.isFinite(t)) m.webhookLag.observe(secondsSince(t));
  }
}

/** Seconds since `t` (a Date or epoch ms), for lag histograms; never negative. */
export function secondsSince(t: Date | number, now = Date.now()): number {
  return Math.max(0, (now - (typeof t === 'number' ? t : t.getTime())) / 1000);
}

export async function metricsText(): Promise<string> {
  return register.metrics();
}
