/**
 * Security over HTTP: scope boundaries, publishable vs secret keys, store isolation, query cost and
 * throttling, CORS, trusted documents and production mode.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { statementScope } from '../../src/db/client';
import { createApiKey, revokeApiKey } from '../../src/modules/auth/keys.service';
import { createTestStore, createWarehouse, LEVEL_FIELDS, stockedSku } from '../helpers/factories';
import { makeClient, ok, post } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { codeOf, transportClient } from '../helpers/transports';

jest.setTimeout(90_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

const SET = `mutation($i: InventorySetInput!) { inventorySet(input: $i) { inventoryLevel { onHand } userErrors { code field message } } }`;
const RESERVE = `mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } userErrors { code } } }`;
const PRODUCT = `mutation { productCreate(input: { name: "x", sku: "${crypto.randomUUID()}" }) { product { id } userErrors { code } } }`;
const LEVELS = `{ inventoryLevels(first: 1) { nodes { onHand } } }`;

function expectDenied(r: { status: number; body: any }, code: 'FORBIDDEN' | 'UNAUTHENTICATED', message: RegExp) {
  expect(r.body.errors?.[0]?.extensions?.code).toBe(code);
  expect(r.body.errors![0].message).toMatch(message);
  expect(r.body.data?.inventorySet ?? r.body.data?.inventoryReserve ?? r.body.data?.productCreate ?? null).toBeNull();
}

describe('keys and scopes', () => {
  test('each scope opens exactly its operations; FORBIDDEN names the missing scope', async () => {
    const s = await stockedSku(t.gql, 10);
    const input = { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 11 };
    const reserveInput = { lines: [{ sku: s.sku, quantity: 1 }] };
    const as = async (scopes: string[]) => makeClient(t.url, await t.store.keyWith(scopes));

    const reader = await as(['inventory:read']);
    expect((await reader(LEVELS)).body.errors).toBeUndefined();
    expectDenied(await reader(SET, { i: input }), 'FORBIDDEN', /requires the "inventory:write" scope/);
    expectDenied(await reader(RESERVE, { i: reserveInput }), 'FORBIDDEN', /requires the "inventory:reserve" scope/);
    expectDenied(await reader(PRODUCT), 'FORBIDDEN', /requires the "catalog:write" scope/);

    const writer = await as(['inventory:write']);
    expect((await ok(writer(SET, { i: input }))).inventorySet.inventoryLevel).toEqual({ onHand: 11 });
    expectDenied(await writer(LEVELS), 'FORBIDDEN', /inventory:read/);
    expectDenied(await writer(RESERVE, { i: reserveInput }), 'FORBIDDEN', /inventory:reserve/);

    const checkout = await as(['inventory:reserve']);
    const r = await ok(checkout(RESERVE, { i: reserveInput }));
    expect(r.inventoryReserve.reservation).not.toBeNull();
    expect(
      (await ok(checkout(`query($id: ID!) { reservation(id: $id) { id } }`, { id: r.inventoryReserve.reservation.id }))).reservation,
    ).not.toBeNull();
    expectDenied(await checkout(SET, { i: input }), 'FORBIDDEN', /inventory:write/);

    const catalog = await as(['catalog:write']);
    expect((await ok(catalog(PRODUCT))).productCreate.userErrors).toEqual([]);
    expectDenied(await catalog(SET, { i: input }), 'FORBIDDEN', /inventory:write/);

    const forbidden = await reader(SET, { i: input });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'inventory:write' });
  });

  test('missing, malformed, unknown and revoked keys are UNAUTHENTICATED (401)', async () => {
    const none = await post(t.url, LEVELS);
    expect(none.status).toBe(401);
    expect(none.body.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
    for (const key of ['nonsense', 'sk_' + 'x'.repeat(32), 'pk_' + 'y'.repeat(32)]) {
      const r = await post(t.url, LEVELS, {}, key);
      expect(r.status).toBe(401);
      expect(r.body.errors![0]).toMatchObject({ message: 'The API key is invalid or revoked', extensions: { code: 'UNAUTHENTICATED' } });
    }
    const k = await createApiKey(t.gateway.app.db.prisma, { storeId: t.store.storeId, kind: 'sk', scopes: ['inventory:read'] });
    expect((await post(t.url, LEVELS, {}, k.key)).status).toBe(200);
    await revokeApiKey(t.gateway.app.db.prisma, k.id);
    // The authenticator may cache a key briefly; revocation must win within its TTL.
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) {
      status = (await post(t.url, LEVELS, {}, k.key)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);
  });

  test('publishable keys read public stock only, and never write', async () => {
    const s = await stockedSku(t.gql, 7);
    const pk = makeClient(t.url, await t.store.publishableKey());
    const pub = await ok(
      pk(
        `query($s: String) { variant(sku: $s) { sku totalAvailable status hasStock inventoryLevels { nodes { available status warehouse { code } } } product { name hasStock } } }`,
        {
          s: s.sku,
        },
      ),
    );
    expect(pub.variant).toMatchObject({ sku: s.sku, totalAvailable: 7, status: 'IN_STOCK', hasStock: true });
    expect(pub.variant.inventoryLevels.nodes).toEqual([{ available: 7, status: 'IN_STOCK', warehouse: { code: s.warehouseCode } }]);
    const denied = [
      [`query($s: String) { variant(sku: $s) { totalOnHand } }`, /cannot read Variant.totalOnHand/],
      [`query($s: String) { variant(sku: $s) { inventoryLevels { nodes { onHand } } } }`, /cannot read InventoryLevel.onHand/],
      [`query($s: String) { variant(sku: $s) { inventoryLevels { nodes { warehouse { address } } } } }`, /cannot read Warehouse.address/],
      [`{ inventoryLevels(first: 1) { nodes { available } } }`, /cannot read Query.inventoryLevels/],
      [`{ stockMovements(first: 1) { nodes { id } } }`, /cannot read Query.stockMovements/],
      [`{ products(first: 1) { nodes { ... on Product { totalReserved } } } }`, /cannot read Product.totalReserved/],
      [SET, /read-only/],
    ] as const;
    for (const [q, msg] of denied) {
      const r = await pk(q, { s: s.sku, i: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 1 } });
      expect(r.status).toBe(403);
      expect(r.body.errors![0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
      expect(r.body.errors![0].message).toMatch(msg);
      expect(r.body.data).toBeUndefined();
    }
  });
});

describe('store isolation', () => {
  test('another store’s ids and skus behave exactly like missing ones, in queries and mutations', async () => {
    const s = await stockedSku(t.gql, 5);
    const res = await ok(t.gql(RESERVE, { i: { lines: [{ sku: s.sku, quantity: 1 }] } }));
    const other = await createTestStore(t.gateway.app);
    const them = makeClient(t.url, other.adminKey);
    const missingLevel = Buffer.from(`InventoryLevel:${crypto.randomUUID()}`).toString('base64url');
    const missingRes = Buffer.from(`Reservation:${crypto.randomUUID()}`).toString('base64url');

    const q = `query($id: ID!, $s: String) { node(id: $id) { id } inventoryLevel(id: $id) { onHand } variant(sku: $s) { id } }`;
    expect(await ok(them(q, { id: s.level.id, s: s.sku }))).toEqual({ node: null, inventoryLevel: null, variant: null });

    const setForeign = await ok(them(SET, { i: { inventoryLevelId: s.level.id, quantity: 99 } }));
    const setMissing = await ok(them(SET, { i: { inventoryLevelId: missingLevel, quantity: 99 } }));
    expect(setForeign).toEqual(setMissing);
    expect(setForeign.inventorySet.userErrors[0].code).toBe('INVENTORY_NOT_FOUND');

    const bySku = await ok(them(SET, { i: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 99 } }));
    expect(bySku.inventorySet.userErrors.map((e: any) => e.code).sort()).toEqual(['VARIANT_NOT_FOUND', 'WAREHOUSE_NOT_FOUND']);

    const REL = `mutation($id: ID!) { reservationRelease(input: { reservationId: $id }) { reservation { id } userErrors { code message } } }`;
    expect(await ok(them(REL, { id: res.inventoryReserve.reservation.id }))).toEqual(await ok(them(REL, { id: missingRes })));

    const mv = await ok(
      them(`query($ids: [ID!]) { stockMovements(first: 5, filter: { inventoryLevelIds: $ids }) { totalCount } }`, { ids: [s.level.id] }),
    );
    expect(mv.stockMovements.totalCount).toBe(0);
    // Nothing of ours changed.
    expect(
      (await ok(t.gql(`query($id: ID!) { inventoryLevel(id: $id) { ${LEVEL_FIELDS} } }`, { id: s.level.id }))).inventoryLevel,
    ).toMatchObject({ onHand: 5, reserved: 1 });
  });
});

describe('query cost and throttling', () => {
  let strict: TestServer;
  beforeAll(async () => {
    // A slow refill (20 points/s): the second heavy query must find the bucket still short even when
    // a loaded machine answers the first one seconds later.
    strict = await startTestServer({ MAX_QUERY_COST: '600', RATE_LIMIT_BUCKET_SIZE: '1000', RATE_LIMIT_RESTORE_RATE: '20' });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  test('responses report requested and actual cost and the bucket, as Shopify does', async () => {
    await stockedSku(strict.gql, 3);
    const r = await strict.gql(`{ inventoryLevels(first: 10) { nodes { onHand variant { sku } } } }`);
    expect(r.body.errors).toBeUndefined();
    const cost = r.body.extensions?.cost;
    // requested: 2 + 10 × (nodes 1 + variant 1); actual: 2 + 1 × 2 (one level exists)
    expect(cost).toEqual({
      requestedQueryCost: 22,
      actualQueryCost: 4,
      throttleStatus: { maximumAvailable: 1000, currentlyAvailable: expect.any(Number), restoreRate: 20 },
    });
    // The admin key also paid for the setup mutations above.
    expect(cost.throttleStatus.currentlyAvailable).toBeGreaterThan(900);
    expect(cost.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(1000);
  });

  test('a query above MAX_QUERY_COST is refused before execution with its computed cost', async () => {
    const r = await strict.gql(`{ products(first: 250) { nodes { variants(first: 10) { nodes { sku } } } } }`);
    expect(r.status).toBe(400);
    expect(r.body.errors![0]).toMatchObject({
      message: 'Query cost 3252 exceeds the maximum of 600; ask for smaller pages (first/last)',
      extensions: { code: 'MAX_COST_EXCEEDED', cost: { requestedQueryCost: 3252, maximumCost: 600 } },
    });
    expect(r.body.data).toBeUndefined();
  });

  test('an empty bucket gives THROTTLED (429, Retry-After); other keys are unaffected; it refills', async () => {
    for (let i = 0; i < 20; i++) await createWarehouse(strict.gql);
    const key = await strict.store.keyWith(['inventory:read']);
    const gql = makeClient(strict.url, key);
    // 25 aliases × (2 + 20 warehouses) = 550 points, all of them actually used (no refund).
    const heavy = `{ ${Array.from({ length: 25 }, (_, i) => `a${i}: warehouses(first: 20) { nodes { id } }`).join(' ')} }`;
    const first = await gql(heavy);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.extensions!.cost).toMatchObject({ requestedQueryCost: 550, actualQueryCost: 550 });
    const second = await gql(heavy);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(second.body.data).toBeUndefined();
    expect(second.body.errors![0].extensions).toMatchObject({
      code: 'THROTTLED',
      retryAfterMs: expect.any(Number),
      cost: { requestedQueryCost: 550, throttleStatus: { maximumAvailable: 1000, restoreRate: 20 } },
    });
    expect((second.body.errors![0].extensions!.cost as any).throttleStatus.currentlyAvailable).toBeLessThan(550);
    // Another key of the same store has its own bucket.
    const otherKey = makeClient(strict.url, await strict.store.keyWith(['inventory:read']));
    expect((await otherKey(heavy)).body.errors).toBeUndefined();
    // And the bucket refills at restoreRate.
    await new Promise((r) => setTimeout(r, (second.body.errors![0].extensions!.retryAfterMs as number) + 300));
    expect((await gql(heavy)).body.errors).toBeUndefined();
  });
});

describe('browsers, trusted documents and production mode', () => {
  let prod: TestServer;
  let dir: string;
  const trustedQuery = `query StockBadge($sku: String!) { variant(sku: $sku) { sku hasStock totalAvailable } }`;
  const hash = crypto.createHash('sha256').update(trustedQuery).digest('hex');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trusted-'));
    fs.writeFileSync(path.join(dir, 'trusted.json'), JSON.stringify({ [hash]: trustedQuery }));
    prod = await startTestServer({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://shop.example.com',
      TRUSTED_DOCUMENTS: path.join(dir, 'trusted.json'),
      PUBLISHABLE_TRUSTED_ONLY: 'true',
    });
  });
  afterAll(async () => {
    await prod?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('CORS: allowed origins get headers and a preflight answer; others get none', async () => {
    const pre = await fetch(prod.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const evil = await fetch(prod.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('publishable keys may only run trusted documents, by text or by hash; secret keys run anything', async () => {
    const s = await stockedSku(prod.gql, 4);
    const pk = await prod.store.publishableKey();
    const byText = await post(prod.url, trustedQuery, { sku: s.sku }, pk);
    expect(byText.body).toMatchObject({ data: { variant: { sku: s.sku, hasStock: true, totalAvailable: 4 } } });
    const byHash = await fetch(prod.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pk}` },
      body: JSON.stringify({ variables: { sku: s.sku }, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(((await byHash.json()) as any).data.variant.sku).toBe(s.sku);
    const adhoc = await post(prod.url, `query($sku: String!) { variant(sku: $sku) { sku hasStock } }`, { sku: s.sku }, pk);
    expect(adhoc.status).toBe(403);
    expect(adhoc.body.errors![0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: expect.stringMatching(/trusted documents/) });
    expect(
      (await prod.gql(`query($sku: String!) { variant(sku: $sku) { sku totalOnHand } }`, { sku: s.sku })).body.data.variant.totalOnHand,
    ).toBe(4);
  });

  test('over graphql-ws too: a trusted document runs in full or by hash, an ad-hoc one is refused', async () => {
    const s = await stockedSku(prod.gql, 2);
    const ws = transportClient('ws', prod.url, await prod.store.publishableKey());
    try {
      expect((await ws.send(trustedQuery, { sku: s.sku })).data).toEqual({ variant: { sku: s.sku, hasStock: true, totalAvailable: 2 } });
      expect((await ws.send('', { sku: s.sku }, { persistedQuery: { version: 1, sha256Hash: hash } })).data.variant.sku).toBe(s.sku);
      const adhoc = await ws.send(`query($sku: String!) { variant(sku: $sku) { sku hasStock } }`, { sku: s.sku });
      expect(codeOf(adhoc)).toBe('FORBIDDEN');
      expect(adhoc.errors![0].message).toMatch(/trusted documents/);
    } finally {
      await ws.close();
    }
  });

  test('production mode: no statement scope (no async hooks for every promise), no x-sql-statements header', async () => {
    const run = jest.spyOn(statementScope, 'run');
    try {
      const r = await prod.gql(`{ inventoryLevels(first: 1) { nodes { id } } }`);
      expect(r.body.errors).toBeUndefined();
      expect(r.headers.get('x-sql-statements')).toBeNull();
      expect(run).not.toHaveBeenCalled();
      // The development server of this file counts in its scope and reports the count.
      const d = await t.gql(`{ inventoryLevels(first: 1) { nodes { id } } }`);
      expect(Number(d.headers.get('x-sql-statements'))).toBeGreaterThan(0);
      expect(run).toHaveBeenCalledTimes(1);
    } finally {
      run.mockRestore();
    }
  });

  test('production mode: no introspection, no field suggestions', async () => {
    const intro = await prod.gql(`{ __schema { types { name } } }`);
    expect(intro.body.errors![0].message).toMatch(/introspection/i);
    const typo = await prod.gql(`{ invetoryLevels(first: 1) { nodes { id } } }`);
    expect(typo.body.errors![0].message).not.toMatch(/Did you mean/);
    const dev = await t.gql(`{ invetoryLevels(first: 1) { nodes { id } } }`);
    expect(dev.body.errors![0].message).toMatch(/Did you mean "inventoryLevels"/);
  });
});
