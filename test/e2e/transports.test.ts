/**
 * The one enforcement point: every rule holds the same over HTTP and over graphql-ws. Each case
 * runs once per transport with the same expectations: scopes on nested paths, publishable-key
 * field, sort and filter rules, cost and static limits, the bucket, error masking, client
 * mistakes, connection_init, production policy and revocation across two instances.
 */
import { createApiKey, revokeApiKey } from '../../src/modules/auth/keys.service';
import { usingPostgres } from '../helpers/db';
import { createTestStore, stockedSku } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { getSchema } from '../../src/server/schema';
import { startPeerGateway, startTestServer, type TestServer } from '../helpers/server';
import { codeOf, overHttp, TRANSPORTS, transportClient, WsSession, type Transport } from '../helpers/transports';

jest.setTimeout(120_000);

let t: TestServer;
let prod: TestServer;
let s: Awaited<ReturnType<typeof stockedSku>>;
let reservationId: string;
beforeAll(async () => {
  t = await startTestServer({ MAX_QUERY_COST: '2000' });
  prod = await startTestServer({ NODE_ENV: 'production' });
  s = await stockedSku(t.gql, 20);
  const r = await ok(
    t.gql(`mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } } }`, {
      i: { lines: [{ sku: s.sku, quantity: 1 }] },
    }),
  );
  reservationId = r.inventoryReserve.reservation.id;
});
afterAll(async () => {
  await t?.stop();
  await prod?.stop();
});

async function withClient<T>(
  transport: Transport,
  server: TestServer,
  key: string | null,
  fn: (send: ReturnType<typeof transportClient>['send']) => Promise<T>,
): Promise<T> {
  const c = transportClient(transport, server.url, key);
  try {
    return await fn(c.send);
  } finally {
    await c.close();
  }
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  test('scopes hold on nested paths: a reserve key and a write key cannot read levels through other objects', async () => {
    const reserveKey = await t.store.keyWith(['inventory:reserve']);
    await withClient(transport, t, reserveKey, async (send) => {
      expect((await send(`query($id: ID!) { reservation(id: $id) { id status } }`, { id: reservationId })).data.reservation.id).toBe(
        reservationId,
      );
      const deep = await send(
        `query($id: ID!) { reservation(id: $id) { lines { inventoryLevel { warehouse { inventoryLevels(first: 250) { nodes { onHand } } } } } } }`,
        { id: reservationId },
      );
      expect(codeOf(deep)).toBe('FORBIDDEN');
      expect(deep.errors![0].message).toMatch(/inventory:read/);
      expect(deep.data ?? null).toBeNull();
    });
    const writeKey = await t.store.keyWith(['inventory:write']);
    await withClient(transport, t, writeKey, async (send) => {
      const ADJ = (sel: string) =>
        `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { inventoryLevel { ${sel} } userErrors { code } } }`;
      const i = { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'OTHER' };
      const own = await send(ADJ('onHand available'), { i });
      expect(own.errors).toBeUndefined();
      expect(own.data.inventoryAdjust.inventoryLevel.onHand).toBeGreaterThan(20);
      const further = await send(ADJ('warehouse { inventoryLevels(first: 250) { nodes { onHand } } }'), { i });
      expect(codeOf(further)).toBe('FORBIDDEN');
    });
  });

  test('publishable keys: public fields only, on every path, and no sorting or filtering by private fields', async () => {
    const pk = await t.store.publishableKey();
    await withClient(transport, t, pk, async (send) => {
      const pub = await send(
        `query($s: String) { variant(sku: $s) { sku totalAvailable inventoryLevels { nodes { available warehouse { code } } } } }`,
        { s: s.sku },
      );
      expect(pub.errors).toBeUndefined();
      expect(pub.data.variant.totalAvailable).toBeGreaterThanOrEqual(19);
      for (const [q, re] of [
        [
          `query($s: String) { variant(sku: $s) { inventoryLevels { nodes { onHand reserved incoming safetyStock } } } }`,
          /InventoryLevel.onHand/,
        ],
        [`query($s: String) { variant(sku: $s) { inventoryLevels { nodes { warehouse { address } } } } }`, /Warehouse.address/],
        [`{ products(first: 5, sortKey: TOTAL_ON_HAND) { edges { cursor } } }`, /sort by TOTAL_ON_HAND/],
        [`query($s: String) { variant(sku: $s) { inventoryLevels(sortKey: ON_HAND) { edges { cursor } } } }`, /sort by ON_HAND/],
        [
          `{ products(first: 5, filter: { updatedSince: "2020-01-01T00:00:00Z" }) { nodes { name } } }`,
          /filter by ProductFilter.updatedSince/,
        ],
        [`{ inventoryLevels(first: 5) { nodes { available } } }`, /Query.inventoryLevels/],
      ] as const) {
        const r = await send(q, { s: s.sku });
        expect(codeOf(r)).toBe('FORBIDDEN');
        expect(r.errors![0].message).toMatch(re);
        expect(r.data ?? null).toBeNull();
      }
      // node(id) answers public fields of public types, and null for types a storefront may not see.
      const node = await send(`query($id: ID!) { node(id: $id) { id ... on Variant { sku } } }`, {
        id: pub.data.variant.id ?? (await ok(t.gql(`query($s: String) { variant(sku: $s) { id } }`, { s: s.sku }))).variant.id,
      });
      expect(node.errors).toBeUndefined();
      expect(node.data.node.sku).toBe(s.sku);
      expect((await send(`query($id: ID!) { node(id: $id) { id } }`, { id: reservationId })).data.node).toBeNull();
    });
  });

  test('cost, depth, alias and directive limits, and the bucket', async () => {
    const key = await t.store.keyWith(['inventory:read']);
    await withClient(transport, t, key, async (send) => {
      const costly = await send(`{ products(first: 250) { nodes { variants(first: 250) { nodes { sku } } } } }`);
      expect(codeOf(costly)).toBe('MAX_COST_EXCEEDED');
      expect(costly.errors![0].extensions!.cost.requestedQueryCost).toBeGreaterThan(2000);
      let deep = 'name';
      for (let i = 0; i < 8; i++) deep = `product { variants(first: 1) { nodes { ${deep} } } }`;
      expect(codeOf(await send(`{ variant(sku: "x") { ${deep} } }`))).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(codeOf(await send(`{ ${Array.from({ length: 40 }, (_, i) => `a${i}: variant(sku: "x") { sku }`).join(' ')} }`))).toBe(
        'GRAPHQL_VALIDATION_FAILED',
      );
      expect(codeOf(await send(`{ __typename ${'@include(if: true) '.repeat(30)} }`))).toBe('GRAPHQL_VALIDATION_FAILED');
      // Every operation is charged to the key's bucket and reports it.
      const a = await send(`{ warehouses(first: 5) { nodes { id } } }`);
      const b = await send(`{ warehouses(first: 5) { nodes { id } } }`);
      expect(a.extensions!.cost).toMatchObject({ requestedQueryCost: 7, throttleStatus: { maximumAvailable: 100000000 } });
      expect(b.extensions!.cost.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(100000000);
      const row = await t.gateway.app.db.pool.query(
        `SELECT count(*)::int AS n FROM rate_limit_buckets b JOIN api_keys k ON k.id::text = b.key_id WHERE k.key_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
        [key],
      );
      expect(row.rows[0].n).toBe(1);
    });
  });

  test('client mistakes are client errors with precise codes; internals never leak', async () => {
    const key = t.store.adminKey;
    await withClient(transport, t, key, async (send) => {
      const nul = await send(`mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`, {
        i: { sku: 'a\u0000b', warehouseCode: 'x', delta: 1, reason: 'OTHER' },
      });
      expect(codeOf(nul)).toBe('BAD_USER_INPUT');
      const nested = `{ variant(sku: "x") { sku } } query Q($a: [[[[[[[[Int]]]]]]]] = ${'['.repeat(1600)}${']'.repeat(1600)}) { __typename }`;
      const deep = await send(nested);
      expect(codeOf(deep)).toBe('BAD_USER_INPUT');
      expect(deep.errors![0].message).toMatch(/nests deeper/);
      const v2 = await send(`{ __typename }`, {}, { persistedQuery: { version: 2, sha256Hash: 'x' } });
      expect(codeOf(v2)).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      const mismatch = await send(`{ __typename }`, {}, { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } });
      expect(codeOf(mismatch)).toBe('BAD_REQUEST');
      // Hash alone: no query over HTTP; an empty one over graphql-ws (its protocol requires a string).
      const unknown = await send(
        transport === 'ws' ? '' : (undefined as unknown as string),
        {},
        { persistedQuery: { version: 1, sha256Hash: 'e'.repeat(64) } },
      );
      expect(codeOf(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');
      for (const a of [nul, deep, v2, mismatch, unknown]) expect(JSON.stringify(a)).not.toMatch(/stack|SELECT|at \w+ \(|node_modules/);
    });
    if (transport === 'http') {
      const sub = await overHttp(t.url, key, `subscription { inventoryChanged { cursor } }`);
      expect(sub.status).toBe(400);
      expect(codeOf(sub)).toBe('BAD_REQUEST');
    }
  });

  test('production: no introspection, no field or enum suggestions, and a key is required', async () => {
    const key = prod.store.adminKey;
    await withClient(transport, prod, key, async (send) => {
      const intro = await send(`{ __schema { types { name } } }`);
      expect(codeOf(intro)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(intro.errors![0].message).toMatch(/introspection/i);
      const typo = await send(`{ invetoryLevels(first: 1) { nodes { id } } }`);
      expect(typo.errors![0].message).not.toMatch(/Did you mean/);
      const enumTypo = await send(`{ products(first: 1, sortKey: NAM) { nodes { id } } }`);
      expect(codeOf(enumTypo)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(enumTypo.errors![0].message).not.toMatch(/Did you mean/);
    });
    const anon = await withClient(transport, prod, null, (send) => send(`{ variant(sku: "x") { sku } }`));
    expect(codeOf(anon)).toBe(transport === 'ws' ? 'close:4401' : 'UNAUTHENTICATED');
    const bogus = await withClient(transport, prod, 'sk_' + 'z'.repeat(32), (send) => send(`{ __typename }`));
    expect(codeOf(bogus)).toBe(transport === 'ws' ? 'close:4403' : 'UNAUTHENTICATED');
  });
});

describe('the scope matrix, every root field × every kind of key, over both transports', () => {
  // Roles of each root field, from the schema's own declarations (type-graphql's @Authorized).
  const { getMetadataStorage } = require('type-graphql') as typeof import('type-graphql');
  const { SCOPES, hasScope } = require('../../src/graphql/scopes') as typeof import('../../src/graphql/scopes');

  test.each(TRANSPORTS)('over %s: FORBIDDEN exactly when no scope of the key opens the field', async (transport) => {
    const s = await getSchema();
    const md = getMetadataStorage();
    const roots: { op: 'query' | 'mutation'; field: import('graphql').GraphQLField<unknown, unknown>; roles: string[] }[] = [];
    for (const [op, type, list] of [
      ['query', s.getQueryType()!, md.queries],
      ['mutation', s.getMutationType()!, md.mutations],
    ] as const) {
      for (const r of list) {
        const roles = md.authorizedFields.find((a) => a.target === r.target && a.fieldName === r.methodName)?.roles as string[];
        roots.push({ op, field: type.getFields()[r.schemaName], roles });
      }
    }
    expect(roots.length).toBeGreaterThan(30);
    const profiles: { name: string; key: string; auth: { kind: 'pk' | 'sk'; scopes: string[] } }[] = [
      { name: 'pk', key: await t.store.publishableKey(), auth: { kind: 'pk', scopes: [] } },
    ];
    for (const scope of SCOPES) profiles.push({ name: scope, key: await t.store.keyWith([scope]), auth: { kind: 'sk', scopes: [scope] } });
    const failures: string[] = [];
    for (const p of profiles) {
      const c = transportClient(transport, t.url, p.key);
      try {
        for (const { op, field, roles } of roots) {
          const required = field.args.filter((a) => String(a.type).endsWith('!') && a.defaultValue === undefined);
          const vars = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
          const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
          const doc = `${op}${vars ? `(${vars})` : ''} { ${field.name}${args ? `(${args})` : ''} { __typename } }`;
          // No variables are sent: an allowed field fails on them (BAD_USER_INPUT), after authorization.
          const a = await c.send(doc);
          const allowed =
            roles.some((r) => hasScope({ keyId: '', storeId: '', actor: '', ...p.auth }, r)) && !(p.auth.kind === 'pk' && op !== 'query');
          const code = codeOf(a);
          if (allowed && (code === 'FORBIDDEN' || code === 'UNAUTHENTICATED'))
            failures.push(`${p.name} ${field.name}: refused (${code}) but allowed`);
          if (!allowed && code !== 'FORBIDDEN') failures.push(`${p.name} ${field.name}: ${code}, expected FORBIDDEN`);
        }
      } finally {
        await c.close();
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('revocation', () => {
  (usingPostgres ? test : test.skip)('takes effect on every instance within 1 s, and closes the key’s open sockets with 4403', async () => {
    // A second gateway on the same database (PostgreSQL: embedded PGlite has one process).
    const other = await startPeerGateway(t);
    try {
      const store = await createTestStore(t.gateway.app);
      const k = await createApiKey(t.gateway.app.db.prisma, { storeId: store.storeId, kind: 'sk', scopes: ['inventory:read'] });
      const LEVELS = `{ warehouses(first: 1) { nodes { id } } }`;
      expect((await overHttp(other.url, k.key, LEVELS)).status).toBe(200);
      const socket = new WsSession(other.url, k.key);
      await socket.ready();
      expect((await socket.request(`{ __typename }`)).data).toEqual({ __typename: 'Query' });
      const revokedAt = Date.now();
      expect(await revokeApiKey(t.gateway.app.db.prisma, k.id)).toBe(1);
      let httpRefusedAt = 0;
      while (Date.now() - revokedAt < 3000) {
        if ((await overHttp(other.url, k.key, LEVELS)).status === 401) {
          httpRefusedAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(httpRefusedAt).toBeGreaterThan(0);
      expect(httpRefusedAt - revokedAt).toBeLessThan(1000);
      while (socket.closeCode === null && Date.now() - revokedAt < 3000) await new Promise((r) => setTimeout(r, 25));
      expect(socket.closeCode).toBe(4403);
      expect(Date.now() - revokedAt).toBeLessThan(1000);
      await socket.close();
    } finally {
      await other.stop();
    }
  });
});
