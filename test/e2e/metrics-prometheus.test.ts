/**
 * /metrics against a real Prometheus (Debian's package): a gateway process with METRICS_PORT, a
 * Prometheus in a temporary directory scraping it every second on 127.0.0.1, known traffic over
 * HTTP and graphql-ws (adjusts, a refused reservation, reservations committed, expired and left
 * active, a throttled and an over-quota query, webhook deliveries to a local receiver), then
 * PromQL through Prometheus's HTTP API: every counter and histogram count matches the traffic
 * exactly. Skipped (loudly) only when Prometheus is not installed (.ci/run installs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ok, post } from '../helpers/gql';
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import {
  listeningAddresses,
  PROMETHEUS,
  startObservedGateway,
  startPrometheus,
  until,
  webhookReceiver,
  type ObservedGateway,
  type Prometheus,
  type Receiver,
} from '../helpers/observability';
import { ROOT } from '../helpers/process';
import { wsUrl } from '../helpers/ws';

jest.setTimeout(240_000);

const installed = fs.existsSync(PROMETHEUS);
if (!installed) {
  console.warn(`!! ${PROMETHEUS} is missing (apt-get install -y prometheus): the Prometheus test is SKIPPED`);
}
const maybe = installed ? test : test.skip;

/** The value of one series in the exposition text (0 when absent). */
function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

let g: ObservedGateway | null = null;
let prom: Prometheus | null = null;
let hook: Receiver | null = null;

afterAll(async () => {
  await prom?.stop();
  await g?.stop();
  await hook?.close();
});

maybe(
  'Prometheus scrapes the gateway; operations, errors, stock, reservations, throttling, events, webhooks, pools and process metrics match the traffic',
  async () => {
    // A bucket exactly as large as the largest query allowed (a smaller one is refused at start), refilling
    // slowly: the traffic before ObsBig (about 300 points) leaves less than ObsBig's 2,004.
    g = await startObservedGateway({
      RATE_LIMIT_BUCKET_SIZE: '2100',
      MAX_QUERY_COST: '2100',
      RATE_LIMIT_RESTORE_RATE: '1',
      DATABASE_POOL_SIZE: '7',
    });
    hook = await webhookReceiver();
    prom = await startPrometheus(`127.0.0.1:${g.metricsPort}`);
    // Prometheus listens on 127.0.0.1 only, and keeps everything in its temporary directory.
    const listening = listeningAddresses(prom.pid);
    expect(listening.length).toBeGreaterThan(0);
    for (const a of listening) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(fs.readdirSync(prom.dir).sort()).toEqual(['data', 'prometheus.yml']);
    const gql = (q: string, v?: Record<string, unknown>) => post(g!.url, q, v, g!.key);

    // Setup (anonymous operations): a warehouse, two products with 1,000 units each (the second only
    // for a reservation that expires: no other write on its level may expire it lazily first), a
    // webhook subscription.
    const wh = await createWarehouse(gql);
    const sku = (await createProduct(gql)).skus[0];
    const expiringSku = (await createProduct(gql)).skus[0];
    await setStock(gql, sku, wh.code, 1000);
    await setStock(gql, expiringSku, wh.code, 1000);
    // The stocking events are sequenced before the webhook subscription exists (else they could be
    // delivered to it too): the backlog gauge, read fresh (it is cached for a second), is 0.
    const stocked = Date.now();
    await until('the stocking events to be sequenced', async () =>
      Date.now() - stocked > 1100 && sampleOf(await g!.metrics(), 'inventory_outbox_backlog') === 0 ? true : undefined,
    );
    const created = await ok(
      gql(`mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { userErrors { code message } } }`, {
        i: { url: hook.url, topics: ['INVENTORY_UPDATED'] },
      }),
    );
    expect(created.webhookSubscriptionCreate.userErrors).toEqual([]);

    // A subscriber, so that events reach the delivered stage.
    const events: unknown[] = [];
    const ws = createClient({
      url: wsUrl(g.url),
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${g.key}` },
      retryAttempts: 0,
    });
    const stopSub = ws.subscribe(
      { query: 'subscription ObsWatch { inventoryChanged { cursor } }' },
      { next: (e) => void events.push(e), error: () => undefined, complete: () => undefined },
    );

    // Prometheus has scraped the gateway before the traffic (its first scrape comes a few seconds after it starts).
    await prom.expectValue('up{job="inventory-gateway"}', 1, 60_000);

    // Baseline once the setup's events are sequenced and nothing moves any more.
    const base = await until('a settled baseline', async () => {
      const a = await g!.metrics();
      if (sampleOf(a, 'inventory_outbox_backlog') !== 0 || sampleOf(a, 'inventory_subscribers') !== 1) return undefined;
      await new Promise((r) => setTimeout(r, 700));
      const b = await g!.metrics();
      const key = (t: string) =>
        `${sampleOf(t, 'inventory_event_lag_seconds_count', { stage: 'sequenced' })}/${sampleOf(t, 'inventory_stock_changes_total', { reason: 'RECEIVED' })}`;
      return key(a) === key(b) ? b : undefined;
    });
    const baseSequenced = sampleOf(base, 'inventory_event_lag_seconds_count', { stage: 'sequenced' });
    const baseDelivered = sampleOf(base, 'inventory_event_lag_seconds_count', { stage: 'delivered' });

    // --- The traffic ---------------------------------------------------------------------------
    const ADJUST = `mutation ObsAdjust($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`;
    for (let i = 0; i < 3; i++)
      expect(
        (await ok(gql(ADJUST, { i: { sku, warehouseCode: wh.code, delta: 1, reason: 'CORRECTION' } }))).inventoryAdjust.userErrors,
      ).toEqual([]);
    const RESERVE = `mutation ObsReserve($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } userErrors { code } } }`;
    const refused = await ok(gql(RESERVE, { i: { lines: [{ sku, warehouseCode: wh.code, quantity: 100_000 }] } }));
    expect(refused.inventoryReserve.userErrors.map((e: { code: string }) => e.code)).toEqual(['INSUFFICIENT_STOCK']);
    const toCommit = (await ok(gql(RESERVE, { i: { lines: [{ sku, warehouseCode: wh.code, quantity: 2 }], ttlSeconds: 600 } })))
      .inventoryReserve.reservation.id;
    const toExpire = await ok(gql(RESERVE, { i: { lines: [{ sku: expiringSku, warehouseCode: wh.code, quantity: 3 }], ttlSeconds: 1 } }));
    expect(toExpire.inventoryReserve.userErrors).toEqual([]);
    const kept = await ok(gql(RESERVE, { i: { lines: [{ sku, warehouseCode: wh.code, quantity: 1 }], ttlSeconds: 600 } }));
    expect(kept.inventoryReserve.userErrors).toEqual([]);
    const committed = await ok(
      gql(`mutation ObsCommit($i: ReservationSettleInput!) { reservationCommit(input: $i) { userErrors { code } } }`, {
        i: { reservationId: toCommit },
      }),
    );
    expect(committed.reservationCommit.userErrors).toEqual([]);
    // An idempotent replay.
    const keyed = { i: { sku, warehouseCode: wh.code, delta: 1, reason: 'CORRECTION', idempotencyKey: 'obs-replay' } };
    const REPLAY = `mutation ObsReplay($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { idempotentReplay userErrors { code } } }`;
    expect((await ok(gql(REPLAY, keyed))).inventoryAdjust.idempotentReplay).toBe(false);
    expect((await ok(gql(REPLAY, keyed))).inventoryAdjust.idempotentReplay).toBe(true);
    // Throttled: 2,004 points requested from a bucket of 2,100 that the traffic above drew down.
    const BIG = `query ObsBig { inventoryLevels(first: 250) { nodes { variant { product { name } } warehouse { code } } } a: inventoryLevels(first: 250) { nodes { variant { product { name } } warehouse { code } } } }`;
    const throttled = await post(g.url, BIG, {}, g.key);
    expect(throttled.status).toBe(429);
    expect(throttled.body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    // Over quota: more than MAX_QUERY_COST.
    const HUGE = `query ObsHuge { ${[1, 2, 3, 4, 5].map((i) => `a${i}: inventoryLevels(first: 250) { nodes { variant { product { name } } warehouse { code } } }`).join(' ')} }`;
    const over = await post(g.url, HUGE, {}, g.key);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('MAX_COST_EXCEEDED');
    // An unknown key: refused before its operation is known.
    const unknownKey = await post(
      g.url,
      'query ObsNoKey { inventoryLevels(first: 1) { totalCount } }',
      {},
      'sk_unknownunknownunknownunknown',
    );
    expect(unknownKey.status).toBe(401);
    // A query over graphql-ws.
    const wsResult = await new Promise<unknown>((resolve, reject) => {
      let got: unknown;
      ws.subscribe(
        { query: `query ObsWsQuery { inventoryLevels(first: 1) { totalCount } }` },
        { next: (r) => (got = r), error: reject, complete: () => resolve(got) },
      );
    });
    expect((wsResult as { errors?: unknown }).errors).toBeUndefined();

    // 3 adjusts + 1 keyed adjust + 3 reservations + 1 commit + 1 expiry: 9 INVENTORY_UPDATED events,
    // each delivered to the subscriber and as a webhook.
    const EVENTS = 9;
    await until('9 webhook deliveries', async () => (hook!.requests.length >= EVENTS ? true : undefined), 60_000);
    await until('9 subscription events', async () => (events.length >= EVENTS ? true : undefined), 30_000);

    // --- PromQL ----------------------------------------------------------------------------------
    const p = prom;
    const ops = (name: string, extra = '') => `sum(inventory_graphql_operations_total{operation="${name}"${extra}})`;
    await p.expectValue(ops('ObsAdjust', ',type="mutation",transport="http",outcome="ok"'), 3, 60_000);
    await p.expectValue(`sum(inventory_graphql_operation_duration_seconds_count{operation="ObsAdjust"})`, 3);
    await p.expectValue(`sum(inventory_graphql_operation_duration_seconds_bucket{operation="ObsAdjust",le="+Inf"})`, 3);
    await p.expectValue(`count(inventory_graphql_operation_duration_seconds_bucket{operation="ObsAdjust"})`, 14);
    await p.expectValue(ops('ObsReserve', ',outcome="ok"'), 4);
    await p.expectValue(ops('ObsCommit', ',outcome="ok"'), 1);
    await p.expectValue(ops('ObsReplay', ',outcome="ok"'), 2);
    await p.expectValue(ops('ObsBig', ',type="query",outcome="refused"'), 1);
    await p.expectValue(ops('ObsHuge', ',outcome="refused"'), 1);
    await p.expectValue(ops('ObsWsQuery', ',type="query",transport="ws",outcome="ok"'), 1);
    await p.expectValue(ops('ObsWatch', ',type="subscription",transport="ws",outcome="ok"'), 1);
    await p.expectValue(`sum(inventory_graphql_operation_duration_seconds_count{operation="ObsBig"}) or vector(0)`, 0);

    await p.expectValue(`sum(inventory_graphql_user_errors_total{code="INSUFFICIENT_STOCK"})`, 1);
    await p.expectValue(`sum(inventory_graphql_user_errors_total)`, 1);
    await p.expectValue(`sum(inventory_graphql_errors_total{code="THROTTLED"})`, 1);
    await p.expectValue(`sum(inventory_graphql_errors_total{code="MAX_COST_EXCEEDED"})`, 1);
    await p.expectValue(`sum(inventory_graphql_errors_total{code="UNAUTHENTICATED"})`, 1);
    await p.expectValue(ops('unknown', ',type="unknown",transport="http",outcome="refused"'), 1);
    await p.expectValue(`sum(inventory_throttled_requests_total{transport="http"})`, 1);
    await p.expectValue(`sum(inventory_over_quota_requests_total{transport="http",reason="max_cost"})`, 1);
    await p.expectValue(`sum(inventory_idempotent_replays_total{mutation="inventoryAdjust"})`, 1);

    await p.expectValue(
      `sum(inventory_stock_changes_total{reason="CORRECTION"})`,
      4 + sampleOf(base, 'inventory_stock_changes_total', { reason: 'CORRECTION' }),
    );
    await p.expectValue(
      `sum(inventory_stock_changes_total{reason="RESERVATION"})`,
      3 + sampleOf(base, 'inventory_stock_changes_total', { reason: 'RESERVATION' }),
    );
    await p.expectValue(
      `sum(inventory_stock_changes_total{reason="COMMIT"})`,
      1 + sampleOf(base, 'inventory_stock_changes_total', { reason: 'COMMIT' }),
    );
    await p.expectValue(
      `sum(inventory_stock_changes_total{reason="EXPIRY"})`,
      1 + sampleOf(base, 'inventory_stock_changes_total', { reason: 'EXPIRY' }),
    );
    await p.expectValue(`sum(inventory_reservation_expired_units_total)`, 3);
    await p.expectValue(`sum(inventory_reservations_total{event="created"})`, 3);
    await p.expectValue(`sum(inventory_reservations_total{event="committed"})`, 1);
    await p.expectValue(`max(inventory_reservations_active)`, 1);

    await p.expectValue(`sum(inventory_event_lag_seconds_count{stage="sequenced"})`, baseSequenced + EVENTS);
    await p.expectValue(`sum(inventory_event_lag_seconds_count{stage="delivered"})`, baseDelivered + EVENTS);
    await p.expectValue(`sum(inventory_event_lag_seconds_bucket{stage="sequenced",le="+Inf"})`, baseSequenced + EVENTS);
    await p.expectValue(`max(inventory_outbox_backlog)`, 0);
    await p.expectValue(`max(inventory_subscribers)`, 1);
    await p.expectValue(`max(inventory_ws_connections)`, 1);

    await p.expectValue(`sum(inventory_webhook_deliveries_total{result="delivered"})`, EVENTS);
    await p.expectValue(`sum(inventory_webhook_deliveries_total{result!="delivered"}) or vector(0)`, 0);
    await p.expectValue(`sum(inventory_webhook_delivery_attempts_count)`, EVENTS);
    await p.expectValue(`sum(inventory_webhook_delivery_attempts_sum)`, EVENTS);
    await p.expectValue(`sum(inventory_webhook_delivery_lag_seconds_count)`, EVENTS);
    await p.expectValue(`max(inventory_webhook_deliveries_pending)`, 0);

    await p.expectValue(`max(inventory_db_pool_size{pool="main"})`, g.db.url ? 7 : 1);
    await p.expectValue(`count(inventory_db_pool_connections{pool="main"})`, 4);
    expect((await p.query(`sum(inventory_db_pool_wait_seconds_count{pool="main"})`))[0].value).toBeGreaterThan(10);
    await p.expectValue(`sum(inventory_db_transaction_retries_total) or vector(0)`, 0);

    // Default process metrics.
    expect((await p.query('process_resident_memory_bytes'))[0].value).toBeGreaterThan(10e6);
    expect((await p.query('nodejs_heap_size_used_bytes'))[0].value).toBeGreaterThan(1e6);
    expect(await p.query('nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect((await p.query('sum(nodejs_gc_duration_seconds_count)'))[0].value).toBeGreaterThan(0);
    await p.expectValue('up{job="inventory-gateway"}', 1);

    // The same counters, read straight from the endpoint, agree (Prometheus added nothing).
    const text = await g.metrics();
    expect(sampleOf(text, 'inventory_graphql_operations_total', { operation: 'ObsAdjust', outcome: 'ok' })).toBe(3);
    // Not a store-scoped value in sight: no SKU, warehouse code, key or its prefix, no ids.
    for (const secret of [sku, wh.code, g.key, g.key.slice(0, 10), toCommit, hook.url]) expect(text).not.toContain(secret);

    // The log: exactly one info line per request, with its request id, operation, key prefix (never
    // the key), status, duration and cost; one line per graphql-ws operation.
    const tagged = await fetch(g.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}`, 'x-request-id': 'obs-log-check-1' },
      body: JSON.stringify({ query: 'query ObsLogged { inventoryLevels(first: 1) { totalCount } }' }),
    });
    expect(tagged.headers.get('x-request-id')).toBe('obs-log-check-1');
    const lines = () =>
      g!.gw
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = await until('the request log line', async () => {
      const found = lines().filter((l) => l.requestId === 'obs-log-check-1');
      return found.length ? found : undefined;
    });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      path: '/graphql',
      operation: 'ObsLogged',
      type: 'query',
      keyPrefix: g.key.slice(0, 10),
      status: 200,
    });
    expect(typeof mine[0].ms).toBe('number');
    expect(mine[0].cost).toBeGreaterThan(0);
    const requestLines = lines().filter((l) => l.msg === 'request');
    expect(requestLines.filter((l) => l.operation === 'ObsAdjust').map((l) => l.status)).toEqual([200, 200, 200]);
    expect(requestLines.filter((l) => l.operation === 'ObsBig').map((l) => l.status)).toEqual([429]);
    expect(lines().filter((l) => l.msg === 'operation' && l.operation === 'ObsWsQuery')).toMatchObject([
      { transport: 'ws', outcome: 'ok', keyPrefix: g.key.slice(0, 10) },
    ]);
    for (const l of [...lines(), ...g.gw.stderr().split('\n')]) expect(JSON.stringify(l)).not.toContain(g.key);

    // Every query of the Grafana dashboard is valid PromQL on this Prometheus, and the panels of
    // the traffic above have data.
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy', 'observability', 'grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    // Rates need two samples of each series in their window.
    await until('4 scrapes within a minute', async () => ((await p.query('count_over_time(up[1m])'))[0]?.value >= 4 ? true : undefined));
    const withData: string[] = [];
    for (const panel of dashboard.panels) {
      for (const t of panel.targets ?? []) {
        const expr = t.expr.replace(/\$job|\$instance/g, '.*').replace(/\$__rate_interval/g, '1m');
        const res = await p.query(expr);
        if (res.length > 0) withData.push(panel.title);
      }
    }
    for (const title of [
      'Operations by outcome',
      'Latency (queries and mutations)',
      'Stock changes by reason',
      'Event lag p99 by stage',
      'Deliveries by result',
      'Pool connections',
      'Memory',
    ]) {
      expect(withData).toContain(title);
    }

    stopSub();
    await ws.dispose();
  },
);
