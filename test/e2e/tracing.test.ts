/**
 * OpenTelemetry traces from a real gateway process to a loopback OTLP/HTTP receiver (JSON), turned
 * on by the standard OTEL_* variables:
 *  - one inventoryAdjust sent with a W3C traceparent gives one connected span tree in that trace:
 *    HTTP server span → GraphQL execute → service → SQL statement(s), and the outbox wake-up with the
 *    pump's statements; the webhook delivery it causes carries a traceparent of the same trace;
 *  - a graphql-ws message is a span with the operation under it;
 *  - log lines of traced requests carry trace_id;
 *  - nothing sensitive (API key or its prefix, SKU, warehouse code, cursor, ids, webhook secret)
 *    appears in any exported span attribute or metric label.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ok, post } from '../helpers/gql';
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import {
  otlpReceiver,
  startObservedGateway,
  until,
  webhookReceiver,
  type ObservedGateway,
  type OtlpReceiver,
  type OtlpSpan,
  type Receiver,
} from '../helpers/observability';
import { ROOT } from '../helpers/process';
import { wsUrl } from '../helpers/ws';

jest.setTimeout(240_000);

let g: ObservedGateway;
let otlp: OtlpReceiver;
let hook: Receiver;
let sku: string;
let warehouseCode: string;
let webhookSecret: string;

const SERVER = 2;
const CLIENT = 3;

beforeAll(async () => {
  otlp = await otlpReceiver();
  hook = await webhookReceiver();
  g = await startObservedGateway({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
    OTEL_SERVICE_NAME: 'inventory-gateway-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  const gql = (q: string, v?: Record<string, unknown>) => post(g.url, q, v, g.key);
  const wh = await createWarehouse(gql);
  warehouseCode = wh.code;
  sku = (await createProduct(gql)).skus[0];
  await setStock(gql, sku, warehouseCode, 500);
  const created = await ok(
    gql(`mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { secret userErrors { code message } } }`, {
      i: { url: hook.url, topics: ['INVENTORY_UPDATED'] },
    }),
  );
  webhookSecret = created.webhookSubscriptionCreate.secret;
});

afterAll(async () => {
  await g?.stop();
  await otlp?.close();
  await hook?.close();
});

const hex = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7 + 3) % 16).toString(16)).join('');

/** The spans of one trace once `pred` holds for them. */
function traceSpans(traceId: string, pred: (spans: OtlpSpan[]) => boolean, what: string): Promise<OtlpSpan[]> {
  return until(
    what,
    async () => {
      const spans = otlp.spans.filter((s) => s.traceId === traceId);
      return pred(spans) ? spans : undefined;
    },
    30_000,
  );
}

function isDescendant(spans: OtlpSpan[], child: OtlpSpan, ancestor: OtlpSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let s: OtlpSpan | undefined = child; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) {
    if (s.parentSpanId === ancestor.spanId) return true;
  }
  return false;
}

test('one inventoryAdjust with an incoming traceparent: a connected span tree (HTTP, operation, service, SQL, outbox wake-up), and its webhook delivery carries the same trace', async () => {
  const traceId = hex(32);
  const parentId = hex(16).split('').reverse().join('');
  const before = hook.requests.length;
  const r = await fetch(g.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${g.key}`, traceparent: `00-${traceId}-${parentId}-01` },
    body: JSON.stringify({
      query: `mutation TracedAdjust($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } inventoryLevel { onHand } } }`,
      variables: { i: { sku, warehouseCode, delta: 2, reason: 'CORRECTION' } },
    }),
  });
  const body = (await r.json()) as { data: { inventoryAdjust: { userErrors: unknown[] } } };
  expect(body.data.inventoryAdjust.userErrors).toEqual([]);

  // The webhook of that change carries a traceparent of the same trace.
  // (The stocking event of the set-up may be delivered too: it can be sequenced after the subscription exists.)
  const delivery = await until(
    'the webhook delivery',
    async () =>
      hook.requests.slice(before).find((q) => {
        const d = JSON.parse(q.body).data as { reason?: string; before?: { onHand: number }; after?: { onHand: number } };
        return d.reason === 'CORRECTION' && d.after!.onHand - d.before!.onHand === 2;
      }),
    30_000,
  );
  const tp = String(delivery.headers.traceparent ?? '');
  expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  expect(tp.split('-')[1]).toBe(traceId);

  const spans = await traceSpans(
    traceId,
    (s) => s.some((x) => x.name === 'webhook delivery') && s.some((x) => x.name === 'outbox wake-up') && s.some((x) => x.kind === SERVER),
    'the spans of the trace',
  );
  const http = spans.find((s) => s.kind === SERVER && s.parentSpanId === parentId);
  expect(http).toBeDefined();
  expect(spans.every((s) => s.service === 'inventory-gateway-test')).toBe(true);
  // Connected: every span's parent is in the trace, or is the caller's span.
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) expect(s.parentSpanId === parentId || ids.has(s.parentSpanId ?? '')).toBe(true);

  const execute = spans.find(
    (s) => s.name.startsWith('mutation') || s.name === 'graphql.execute' || s.attributes['graphql.operation.type'] === 'mutation',
  );
  expect(execute).toBeDefined();
  expect(isDescendant(spans, execute!, http!)).toBe(true);
  expect(execute!.attributes['graphql.operation.name']).toBe('TracedAdjust');
  const service = spans.find((s) => s.name === 'service inventoryAdjust')!;
  expect(service).toBeDefined();
  expect(isDescendant(spans, service, execute!)).toBe(true);
  const sql = spans.filter((s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql');
  // One statement: the group-committed adjustment (src/modules/inventory/adjust-batch.ts), which
  // the request that starts a batch sends under its own span (a transaction would be BEGIN … COMMIT).
  expect(sql.filter((s) => isDescendant(spans, s, service)).length).toBeGreaterThanOrEqual(1);
  const wake = spans.filter((s) => s.name === 'outbox wake-up');
  expect(wake.some((w) => isDescendant(spans, w, service))).toBe(true);
  // The pump that sequenced the change ran under a wake-up span of this trace (unless it joined a running one).
  const pumped = wake.find((w) => w.attributes['inventory.outbox.coalesced'] === false);
  if (pumped) expect(sql.some((s) => isDescendant(spans, s, pumped))).toBe(true);
  const hookSpan = spans.find((s) => s.name === 'webhook delivery')!;
  expect(hookSpan.kind).toBe(CLIENT);
  expect(hookSpan.spanId).toBe(tp.split('-')[2]);

  // The request's log line carries the trace id.
  await until('the request log line with trace_id', async () =>
    g.gw
      .stdout()
      .split('\n')
      .some((l) => l.includes('"msg":"request"') && l.includes(`"trace_id":"${traceId}"`) && l.includes('"operation":"TracedAdjust"'))
      ? true
      : undefined,
  );
});

test('a graphql-ws message is a span with the operation under it', async () => {
  const ws = createClient({
    url: wsUrl(g.url),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${g.key}` },
    retryAttempts: 0,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.subscribe(
        { query: 'query TracedWs { inventoryLevels(first: 1) { totalCount } }' },
        { next: () => undefined, error: reject, complete: resolve },
      );
    });
  } finally {
    await ws.dispose();
  }
  const message = await until('the graphql-ws message span', async () => {
    const m = otlp.spans.find(
      (s) =>
        s.name === 'graphql-ws message' &&
        otlp.spans.some((x) => x.traceId === s.traceId && x.attributes['graphql.operation.name'] === 'TracedWs'),
    );
    return m;
  });
  const spans = otlp.spans.filter((s) => s.traceId === message.traceId);
  const op = spans.find((s) => s.attributes['graphql.operation.name'] === 'TracedWs')!;
  expect(isDescendant(spans, op, message)).toBe(true);
  expect(spans.some((s) => s.name === 'service inventoryLevels' && isDescendant(spans, s, op))).toBe(true);
});

test('no API key, key prefix, SKU, warehouse code, cursor, id or secret in any span attribute or metric label', async () => {
  const gql = (q: string, v?: Record<string, unknown>) => post(g.url, q, v, g.key);
  // Values inline in documents, in variables, in a GET URL, a cursor and an id round trip.
  await ok(
    gql(
      `mutation SensAdjust { inventoryAdjust(input: { sku: "${sku}", warehouseCode: "${warehouseCode}", delta: 1, reason: CORRECTION }) { userErrors { code } } }`,
    ),
  );
  const page = await ok(
    gql(`query SensPage($s: String!) { variant(sku: $s) { id sku } inventoryLevels(first: 1) { pageInfo { endCursor } nodes { id } } }`, {
      s: sku,
    }),
  );
  const cursor: string = page.inventoryLevels.pageInfo.endCursor;
  const ids: string[] = [page.variant.id, page.inventoryLevels.nodes[0].id];
  await ok(gql(`query SensAfter($c: String!) { inventoryLevels(first: 1, after: $c) { nodes { id } } }`, { c: cursor }));
  const q = encodeURIComponent(`query SensGet { variant(sku: "${sku}") { sku } }`);
  const get = await fetch(`${g.url}?query=${q}&variables=${encodeURIComponent(JSON.stringify({ c: cursor }))}`, {
    headers: { authorization: `Bearer ${g.key}`, 'apollo-require-preflight': 'true' },
  });
  expect(get.status).toBe(200);
  const reserve = await ok(
    gql(`mutation SensReserve($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } userErrors { code } } }`, {
      i: { lines: [{ sku, warehouseCode, quantity: 1 }], reference: 'cart-secret-ref' },
    }),
  );
  ids.push(reserve.inventoryReserve.reservation.id);

  await until('the spans of SensGet', async () =>
    otlp.spans.some((s) => s.attributes['graphql.operation.name'] === 'SensGet') &&
    otlp.spans.some((s) => s.attributes['graphql.operation.name'] === 'SensReserve')
      ? true
      : undefined,
  );
  const sensitive = [g.key, g.key.slice(0, 10), sku, warehouseCode, cursor, webhookSecret, 'cart-secret-ref', ...ids];
  const exported = otlp.spans.map((s) => JSON.stringify(s.attributes)).join('\n');
  const metrics = await g.metrics();
  for (const v of sensitive) {
    expect(exported).not.toContain(v);
    expect(metrics).not.toContain(v);
  }
  // The GET's URL is recorded with its parameters redacted.
  const getSpan = otlp.spans.find((s) => s.kind === SERVER && JSON.stringify(s.attributes).includes('REDACTED'));
  expect(getSpan).toBeDefined();
});

test('with tracing off the OpenTelemetry SDK and instrumentations are not even loaded', async () => {
  // The entry point's first import, then the whole server; count the SDK modules in require's cache.
  const script = `require('./dist/src/observability/preload'); require('./dist/src/server');
    const sdk = Object.keys(require.cache).filter((k) => /node_modules[\\/]@opentelemetry[\\/](sdk-|instrumentation|exporter-|resources|otlp-)/.test(k));
    process.stdout.write(String(sdk.length));`;
  const count = async (env: Record<string, string | undefined>) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: ROOT, env: { ...clean, ...env } });
    return Number(stdout);
  };
  expect(await count({})).toBe(0);
  expect(await count({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toBe(0);
  expect(await count({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toBeGreaterThan(5);
});
