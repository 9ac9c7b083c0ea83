/**
 * Rate-limit charges through per-process leases (src/modules/auth/bucket-leases.ts), on the real
 * statements and real gateways: most requests of a key run without a bucket statement, and two
 * gateways sharing one key's bucket never grant more than it holds (plus its refill), and both throttle.
 */
import { poolTx } from '../../src/db/tx';
import { sharedBuckets } from '../../src/modules/auth';
import { usingPostgres } from '../helpers/db';
import { createWarehouse } from '../helpers/factories';
import { makeClient, post } from '../helpers/gql';
import { startPeerGateway, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  // Small enough to empty in a few requests: leases of min(5 % of 1000, 0.5 s × 20) = 10 points.
  t = await startTestServer({ MAX_QUERY_COST: '600', RATE_LIMIT_BUCKET_SIZE: '1000', RATE_LIMIT_RESTORE_RATE: '20' });
  for (let i = 0; i < 20; i++) await createWarehouse(t.gql);
});
afterAll(async () => {
  await t?.stop();
});

async function statementsOf(url: string, key: string, query: string): Promise<{ n: number; available: number }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: unknown[]; extensions: { cost: { throttleStatus: { currentlyAvailable: number } } } };
  expect(body.errors).toBeUndefined();
  return { n: Number(res.headers.get('x-sql-statements')), available: body.extensions.cost.throttleStatus.currentlyAvailable };
}

test('a key’s requests run without a bucket statement each', async () => {
  const g = await startTestServer({ RATE_LIMIT_BUCKET_SIZE: '20000', RATE_LIMIT_RESTORE_RATE: '1000' });
  try {
    const key = await g.store.keyWith(['inventory:read']);
    const runs = [];
    for (let i = 0; i < 40; i++) runs.push(await statementsOf(g.url, key, '{ warehouses(first: 5) { nodes { id code } } }'));
    const least = Math.min(...runs.map((r) => r.n));
    // The read itself is one statement; the bucket adds one to the first request (the lease of
    // need + 500 points), and none to the next 39 (7 points each).
    expect(least).toBeGreaterThanOrEqual(1);
    expect(runs.reduce((n, r) => n + r.n, 0) - 40 * least).toBeLessThanOrEqual(2);
    // Every response still reports the key's bucket (charged from the lease; at 1,000 points/s of
    // refill these small charges never show, see the two-gateway test for a bucket that empties).
    for (const r of runs) expect(r.available).toBeLessThanOrEqual(20_000);
  } finally {
    await g.stop();
  }
});

(usingPostgres ? test : test.skip)('two gateways sharing a key never grant more than its bucket holds, and both throttle', async () => {
  const other = await startPeerGateway(t, { MAX_QUERY_COST: '600', RATE_LIMIT_BUCKET_SIZE: '1000', RATE_LIMIT_RESTORE_RATE: '20' });
  try {
    const key = await t.store.keyWith(['inventory:read']);
    // 10 aliases × (2 + 20 warehouses) = 220 points, all of them used (no refund).
    const heavy = `{ ${Array.from({ length: 10 }, (_, i) => `a${i}: warehouses(first: 20) { nodes { id } }`).join(' ')} }`;
    const gateways = [makeClient(t.url, key), makeClient(other.url, key)];
    const started = Date.now();
    let granted = 0;
    const throttled = [0, 0];
    for (let i = 0; i < 40 && (throttled[0] === 0 || throttled[1] === 0); i++) {
      const r = await gateways[i % 2](heavy);
      if (r.status === 429) {
        expect(r.body.errors![0].extensions!.code).toBe('THROTTLED');
        throttled[i % 2]++;
      } else {
        expect(r.body.errors).toBeUndefined();
        expect(r.body.extensions!.cost).toMatchObject({ requestedQueryCost: 220, actualQueryCost: 220 });
        granted++;
      }
    }
    const elapsedS = (Date.now() - started) / 1000;
    // Both gateways throttle the shared key, and together they granted no more than the bucket
    // held plus what it refilled meanwhile (each grant came out of it through a lease).
    expect(throttled[0]).toBeGreaterThan(0);
    expect(throttled[1]).toBeGreaterThan(0);
    expect(granted * 220).toBeLessThanOrEqual(1000 + elapsedS * 20);
    // And the leases did not refuse early: the four requests that fit in 1000 points ran.
    expect(granted).toBeGreaterThanOrEqual(4);
  } finally {
    await other.stop();
  }
});

test('a gateway stopping gives its unused lease back', async () => {
  const g = await startTestServer({ RATE_LIMIT_BUCKET_SIZE: '20000', RATE_LIMIT_RESTORE_RATE: '1000' });
  const key = await g.store.keyWith(['inventory:read']);
  const keyId = (await g.gateway.app.db.pool.query<{ id: string }>(`SELECT id FROM api_keys ORDER BY created_at DESC LIMIT 1`)).rows[0].id;
  const r = await post(g.url, '{ warehouses(first: 5) { nodes { id } } }', {}, key);
  expect(r.body.errors).toBeUndefined();
  const level = async () =>
    Number(
      (await g.gateway.app.db.pool.query<{ available: number }>(`SELECT available FROM rate_limit_buckets WHERE key_id = $1`, [keyId]))
        .rows[0].available,
    );
  // The lease (what the request needed + 500 points) left the shared bucket.
  expect(await level()).toBeLessThanOrEqual(20_000 - 500);
  const held = 20_000 - (await level());
  const { Client } = await import('pg');
  const url = g.db.url;
  await g.gateway.stop();
  if (!url) return void (await g.db.drop()); // embedded: the database went with the gateway
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const after = Number((await c.query(`SELECT available FROM rate_limit_buckets WHERE key_id = $1`, [keyId])).rows[0].available);
    // Everything but the request's actual cost came back.
    expect(after).toBeGreaterThan(20_000 - held);
    expect(after).toBeGreaterThanOrEqual(20_000 - 10);
  } finally {
    await c.end();
    await g.db.drop();
  }
});

test('takes of one bucket racing (a new key, many at once) each see the others: no error, never more than the bucket holds', async () => {
  const buckets = sharedBuckets(() => poolTx(t.gateway.app.db.pool), { size: 1000, restoreRate: 1 });
  const keyId = `race-${Date.now()}`;
  const started = Date.now();
  // 40 takes of 50 points on a bucket of 1,000 that does not exist yet: 20 can be granted (plus the
  // refill of 1 point/s meanwhile), whatever order they commit in.
  const results = await Promise.all(Array.from({ length: 40 }, () => buckets.take(keyId, 50, 50)));
  const seconds = (Date.now() - started) / 1000;
  const taken = results.reduce((n, r) => n + r.taken, 0);
  expect(taken).toBeGreaterThanOrEqual(1000);
  expect(taken).toBeLessThanOrEqual(1000 + Math.ceil(seconds) + 1);
  expect(results.filter((r) => r.taken > 0).length).toBeLessThanOrEqual(21);
  // Each take saw the level the previous one left: the levels seen, from full, go down by what was taken.
  for (const r of results) expect(r.level).toBeGreaterThanOrEqual(r.taken);
  const [row] = (await t.gateway.app.db.pool.query(`SELECT available FROM rate_limit_buckets WHERE key_id = $1`, [keyId])).rows;
  expect(Number(row.available)).toBeGreaterThanOrEqual(0);
  expect(Number(row.available)).toBeLessThan(50 + seconds + 1);
});
