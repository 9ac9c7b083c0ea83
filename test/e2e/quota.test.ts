/**
 * Usage quotas per key (seed 000 answers 402 when a token balance runs out): cost points per UTC
 * day or month, charged on every transport, shared by every instance, reported in
 * extensions.cost.quota and by currentApiKey; over quota → QUOTA_EXCEEDED, HTTP 402, reset time.
 */
import { createApiKey, setApiKeyQuota } from '../../src/modules/auth/keys.service';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { startGateway } from '../../src/server';
import { usingPostgres } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { codeOf, overHttp, TRANSPORTS, transportClient } from '../helpers/transports';

jest.setTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

const WAREHOUSES = `{ warehouses(first: 5) { nodes { id } } }`; // requested 2 + 5 = 7; actual 2 (none exist)

function nextUtcMidnight(): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  test('charges actual cost against the quota, reports it, and refuses with QUOTA_EXCEEDED once it is spent', async () => {
    const k = await createApiKey(t.gateway.app.db.prisma, { storeId: t.store.storeId, kind: 'sk', scopes: ['inventory:read'] });
    expect(await setApiKeyQuota(t.gateway.app.db.prisma, k.id, { points: 20, period: 'DAY' })).toBe(1);
    const c = transportClient(transport, t.url, k.key);
    try {
      const first = await c.send(WAREHOUSES);
      expect(first.errors).toBeUndefined();
      expect(first.extensions!.cost.quota).toEqual({ limit: 20, used: 2, remaining: 18, period: 'DAY', resetsAt: nextUtcMidnight() });
      const me = await c.send(`{ currentApiKey { kind scopes quota { limit used remaining period resetsAt } } }`);
      expect(me.data.currentApiKey).toMatchObject({
        kind: 'sk',
        scopes: ['inventory:read'],
        quota: { limit: 20, period: 'DAY', resetsAt: nextUtcMidnight() },
      });
      // Read after this query was charged its requested cost (2), before the unused part is refunded.
      expect(me.data.currentApiKey.quota.used).toBe(4);
      // Spend the rest: requested 7 must fit in what is left.
      let last = first;
      for (let i = 0; i < 10 && !last.errors; i++) last = await c.send(WAREHOUSES);
      expect(codeOf(last)).toBe('QUOTA_EXCEEDED');
      const q = last.errors![0].extensions!.quota;
      expect(q).toMatchObject({ limit: 20, period: 'DAY', resetsAt: nextUtcMidnight() });
      expect(q.remaining).toBeLessThan(7);
      expect(last.errors![0].message).toMatch(/Quota exceeded: this query costs 7 points/);
      if (transport === 'http') {
        expect(last.status).toBe(402);
      }
      // A cheaper query that fits still runs.
      if (q.remaining >= 1) expect((await c.send(`{ currentApiKey { kind } }`)).errors).toBeUndefined();
    } finally {
      await c.close();
    }
  });
});

test('HTTP 402 carries Retry-After until the reset, and other keys are unaffected', async () => {
  const k = await createApiKey(t.gateway.app.db.prisma, { storeId: t.store.storeId, kind: 'sk', scopes: ['inventory:read'] });
  await setApiKeyQuota(t.gateway.app.db.prisma, k.id, { points: 0, period: 'MONTH' });
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${k.key}` },
    body: JSON.stringify({ query: WAREHOUSES }),
  });
  expect(res.status).toBe(402);
  const retry = Number(res.headers.get('retry-after'));
  expect(retry).toBeGreaterThan(0);
  expect(retry).toBeLessThanOrEqual(31 * 86400);
  expect((await overHttp(t.url, t.store.adminKey, WAREHOUSES)).errors).toBeUndefined();
});

(usingPostgres ? test : test.skip)('usage is shared by every instance', async () => {
  const other = await startGateway(
    loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: 'memory://',
      SEED_DEMO: 'never',
      LOG_LEVEL: 'error',
      DATABASE_URL: t.db.url!,
    }),
    createLogger('error'),
  );
  try {
    const k = await createApiKey(t.gateway.app.db.prisma, { storeId: t.store.storeId, kind: 'sk', scopes: ['inventory:read'] });
    await setApiKeyQuota(t.gateway.app.db.prisma, k.id, { points: 1000, period: 'DAY' });
    for (let i = 0; i < 3; i++) expect((await overHttp(t.url, k.key, WAREHOUSES)).errors).toBeUndefined();
    const seen = await overHttp(other.url, k.key, WAREHOUSES);
    expect(seen.extensions!.cost.quota.used).toBe(8);
  } finally {
    await other.stop();
  }
});

test('over graphql-ws, an operation refused for its variables gives its charge back, as over HTTP', async () => {
  const k = await createApiKey(t.gateway.app.db.prisma, { storeId: t.store.storeId, kind: 'sk', scopes: ['inventory:read'] });
  await setApiKeyQuota(t.gateway.app.db.prisma, k.id, { points: 1000, period: 'DAY' });
  for (const transport of TRANSPORTS) {
    const c = transportClient(transport, t.url, k.key);
    try {
      const bad = await c.send(`query($n: Int) { warehouses(first: $n) { nodes { id } } }`, { n: 'ten' });
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    } finally {
      await c.close();
    }
  }
  const me = await overHttp(t.url, k.key, `{ currentApiKey { quota { used } } }`);
  // Only this query's own charge (2) is counted: the two refused operations gave theirs back.
  expect(me.data.currentApiKey.quota.used).toBe(2);
});
