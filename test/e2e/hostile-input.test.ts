/**
 * More than 2,000 malformed or hostile requests against the real entry point (a separate process),
 * and the same operations as 1,000+ graphql-ws messages:
 * every one gets a well-formed GraphQL or HTTP error (or a normal answer), never a 5xx, never a
 * stack trace or SQL; the process stays up and its memory does not climb.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { withMigratedDatabase } from '../helpers/pglite-template';
import { printedDevKey, spawnGateway, type Spawned } from '../helpers/process';
import { WsSession } from '../helpers/transports';
import { rng } from '../helpers/rng';

jest.setTimeout(300_000);

let gw: Spawned;
let url: string;
let key: string;
let dataDir: string;
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase({ migrated: true });
  dataDir = await withMigratedDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'gw-hostile-')));
  gw = spawnGateway({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: tdb.url,
    DATA_DIR: dataDir,
    SEED_DEMO: 'always',
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
  });
  url = await gw.ready(120_000);
  key = printedDevKey(gw);
});
afterAll(async () => {
  gw?.killGroup('SIGKILL');
  await tdb?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Req {
  label: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cases(): Req[] {
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const json = (query: string, variables?: unknown, extra: Record<string, unknown> = {}): Req => ({
    label: query.slice(0, 40),
    body: JSON.stringify({ query, variables, ...extra }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  });
  const out: Req[] = [];
  const SET = `mutation($i: InventorySetInput!) { inventorySet(input: $i) { inventoryLevel { onHand } userErrors { code message } } }`;
  const ADJ = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { inventoryLevel { onHand } userErrors { code message } } }`;
  const RES = `mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } userErrors { code message } } }`;
  const LEVELS = `query($first: Int, $after: String, $f: InventoryLevelFilter) { inventoryLevels(first: $first, after: $after, filter: $f) { nodes { onHand } } }`;
  const numbers: unknown[] = [
    2 ** 31,
    2 ** 31 - 1,
    -(2 ** 31) - 1,
    2 ** 53,
    2 ** 53 + 2,
    -1,
    0,
    1.5,
    -0.5,
    1e308,
    'NaN',
    'Infinity',
    '12',
    null,
    true,
    [],
    {},
    '0x10',
  ];
  const strings: unknown[] = [
    'x'.repeat(100_000),
    'a\u0000b',
    '\u0000',
    "'; DROP TABLE inventory_levels; --",
    '" OR 1=1 --',
    '\ud800',
    '🙂'.repeat(300),
    '%_\\',
    '',
    ' ',
    '\n\t',
    12,
    null,
    { $gt: '' },
  ];
  const badIds = [
    'nope',
    '',
    Buffer.from("InventoryLevel:' OR 1=1 --").toString('base64url'),
    Buffer.from('InventoryLevel:00000000-0000-0000-0000-000000000000').toString('base64'),
    Buffer.from('Product:00000000-0000-0000-0000-000000000000').toString('base64url'),
    'x'.repeat(5000),
    '\u0000',
  ];
  const badCursors = [
    'garbage',
    Buffer.from('{"c":"InventoryLevel","s":"SKU","v":{"$ne":1},"i":"x"}').toString('base64url'),
    Buffer.from('{"c":"InventoryLevel","s":"SKU","v":"a","i":"not-a-uuid"}').toString('base64url'),
    Buffer.from('{"c":"InventoryLevel","s":"SKU","v":"\'; SELECT pg_sleep(10); --","i":"00000000-0000-0000-0000-000000000000"}').toString(
      'base64url',
    ),
    Buffer.from('[1,2,3]').toString('base64url'),
    'x'.repeat(2000),
  ];

  // Quantities and numbers of every kind into every stock mutation.
  for (const n of numbers) {
    out.push(json(SET, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', quantity: n } }));
    out.push(json(SET, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', quantity: 5, compareQuantity: n } }));
    out.push(json(ADJ, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', delta: n, reason: 'CORRECTION' } }));
    out.push(json(RES, { i: { lines: [{ sku: 'SKU-001', quantity: n }], ttlSeconds: n } }));
    out.push(json(LEVELS, { first: n }));
    out.push(
      json(
        `mutation { inventorySet(input: { sku: "SKU-001", warehouseCode: "BER-1", quantity: ${JSON.stringify(n)} }) { userErrors { code } } }`,
      ),
    );
  }
  // Strings everywhere text is accepted.
  for (const s of strings) {
    out.push(json(SET, { i: { sku: s, warehouseCode: 'BER-1', quantity: 1 } }));
    out.push(json(SET, { i: { sku: 'SKU-001', warehouseCode: s, quantity: 1, note: s } }));
    out.push(json(ADJ, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', delta: 1, reason: 'CORRECTION', note: s, idempotencyKey: s } }));
    out.push(json(RES, { i: { lines: [{ sku: 'SKU-001', quantity: 1 }], reference: s } }));
    out.push(
      json(`mutation($i: ProductCreateInput!) { productCreate(input: $i) { userErrors { code } } }`, {
        i: { name: s, sku: s, externalId: s },
      }),
    );
    out.push(json(`query($s: String) { products(first: 5, filter: { search: $s }) { nodes { name } } }`, { s }));
    out.push(json(`query($s: String!) { variantByLabel(externalId: "PRB", label: $s) { userErrors { code } } }`, { s }));
  }
  // Unknown enum values, wrong shapes.
  for (const reason of ['NOPE', 'received', '', 1, null, ['SALE']])
    out.push(json(ADJ, { i: { sku: 'SKU-001', warehouseCode: 'BER-1', delta: 1, reason } }));
  for (const st of ['NOPE', 'in_stock', 3]) out.push(json(LEVELS, { f: { statuses: [st] } }));
  out.push(json(SET, 'not an object'));
  out.push(json(SET, [1, 2]));
  out.push(json(SET, { i: null }));
  out.push(json(SET, { i: { quantity: 1 } }));
  // Forged ids and cursors.
  for (const id of badIds) {
    out.push(json(`query($id: ID!) { node(id: $id) { id } inventoryLevel(id: $id) { onHand } }`, { id }));
    out.push(json(SET, { i: { inventoryLevelId: id, quantity: 1 } }));
    out.push(json(LEVELS, { f: { warehouseIds: [id] } }));
    out.push(json(`mutation($id: ID!) { reservationCommit(input: { reservationId: $id }) { userErrors { code } } }`, { id }));
  }
  for (const c of badCursors) {
    out.push(json(LEVELS, { first: 2, after: c }));
    out.push(json(`query($c: String) { products(last: 2, before: $c) { nodes { name } } }`, { c }));
  }
  // Structural abuse: depth, aliases, directives, tokens, fragments, batching.
  let deep = 'id';
  for (let i = 0; i < 40; i++)
    deep = `variant { product { ${i % 2 ? 'variants(first: 1) { nodes { ' : ''}name ${i % 2 ? '} }' : ''} } sku }`;
  out.push(
    json(
      `{ variant(sku: "SKU-001") { product { variants(first: 2) { nodes { product { variants(first: 2) { nodes { product { variants(first: 2) { nodes { product { name } } } } } } } } } } } }`,
    ),
  );
  out.push(json(`{ ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(' ')} }`));
  out.push(json(`{ ${Array.from({ length: 50 }, (_, i) => `a${i}: variant(sku: "SKU-001") { sku }`).join(' ')} }`));
  out.push(json(`{ __typename ${'@skip(if: false) '.repeat(200)} }`));
  out.push(json(`{ ${'__typename '.repeat(20_000)} }`));
  out.push(json(`query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`));
  out.push(
    json(
      `{ inventoryLevels(first: 250) { nodes { variant { product { variants(first: 250) { nodes { inventoryLevels(first: 250) { nodes { onHand } } } } } } } } }`,
    ),
  );
  out.push(json(`{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }`));
  out.push({
    label: 'batch',
    body: JSON.stringify(Array.from({ length: 100 }, () => ({ query: '{ __typename }' }))),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  });
  void deep;
  // Transport-level garbage.
  const transport: Req[] = [
    { label: 'bad json', body: '{"query": ', headers: { 'content-type': 'application/json' } },
    { label: 'json null', body: 'null', headers: { 'content-type': 'application/json' } },
    { label: 'json number', body: '42', headers: { 'content-type': 'application/json' } },
    { label: 'json string', body: '"{ __typename }"', headers: { 'content-type': 'application/json' } },
    { label: 'query not string', body: '{"query": {"a": 1}}', headers: { 'content-type': 'application/json' } },
    { label: 'variables string', body: '{"query": "{ __typename }", "variables": "x"}', headers: { 'content-type': 'application/json' } },
    { label: 'text/plain', body: '{ __typename }', headers: { 'content-type': 'text/plain' } },
    { label: 'form', body: 'query=%7B__typename%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    { label: 'xml', body: '<query/>', headers: { 'content-type': 'application/xml' } },
    { label: 'no content type', body: '{"query":"{ __typename }"}', headers: {} },
    { label: 'empty', body: '', headers: { 'content-type': 'application/json' } },
    {
      label: 'huge body',
      body: JSON.stringify({ query: '{ __typename }', variables: { x: 'y'.repeat(2_000_000) } }),
      headers: { 'content-type': 'application/json' },
    },
    {
      label: 'GET mutation',
      method: 'GET',
      path:
        '/graphql?query=' +
        encodeURIComponent(
          'mutation { inventorySet(input: {sku: "SKU-001", warehouseCode: "BER-1", quantity: 1}) { userErrors { code } } }',
        ),
      headers: { authorization: `Bearer ${key}` },
    },
    { label: 'GET no query', method: 'GET', path: '/graphql' },
    {
      label: 'GET bad variables',
      method: 'GET',
      path: '/graphql?query=%7B__typename%7D&variables=%7B',
      headers: { 'apollo-require-preflight': '1' },
    },
    { label: 'PUT', method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } },
    { label: 'DELETE', method: 'DELETE' },
    { label: 'unknown path', method: 'GET', path: '/../../etc/passwd' },
    {
      label: 'bad auth',
      body: '{"query":"{ __typename }"}',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + 'z'.repeat(10_000) },
    },
    {
      label: 'basic auth',
      body: '{"query":"{ inventoryLevels(first:1){ nodes { id } } }"}',
      headers: { 'content-type': 'application/json', authorization: 'Basic YTpi' },
    },
    {
      label: 'invalid utf8',
      body: Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xfe, 0x7d]).toString('latin1'),
      headers: { 'content-type': 'application/json' },
    },
  ];
  out.push(...transport);

  // Fill up to > 2,000 with random recombinations of the above.
  const base = [...out];
  while (out.length < 2100) {
    const b = pick(base);
    const kind = r();
    if (kind < 0.15 && b.body) out.push({ ...b, label: b.label + ' (truncated)', body: b.body.slice(0, Math.floor(r() * b.body.length)) });
    else if (kind < 0.25 && b.body) {
      const i = Math.floor(r() * b.body.length);
      out.push({
        ...b,
        label: b.label + ' (byte flip)',
        body: b.body.slice(0, i) + String.fromCharCode(Math.floor(r() * 128)) + b.body.slice(i + 1),
      });
    } else out.push(b);
  }
  return out;
}

test('2,000+ hostile requests: no 5xx, no leaks, the process survives and its memory stays flat', async () => {
  const all = cases();
  expect(all.length).toBeGreaterThanOrEqual(2000);
  const failures: string[] = [];
  const leak =
    /(\bat [\w.<>]+ \(|node_modules|\/work\/|stack|SELECT |INSERT |UPDATE |DELETE FROM|syntax error at or near|duplicate key|violates|relation "|postgres|prisma)/i;
  let rssAtStart = 0;
  const BATCH = 20;
  for (let i = 0; i < all.length; i += BATCH) {
    if (i >= 300 && rssAtStart === 0) rssAtStart = rssKb(gw.child.pid!);
    await Promise.all(
      all.slice(i, i + BATCH).map(async (c, j) => {
        let status: number;
        let text: string;
        try {
          const res = await fetch(url.replace('/graphql', c.path ?? '/graphql'), {
            method: c.method ?? 'POST',
            headers: c.headers,
            body: c.method === 'GET' || c.method === 'DELETE' ? undefined : c.body,
          });
          status = res.status;
          text = await res.text();
        } catch (e) {
          failures.push(`#${i + j} ${c.label}: request failed ${(e as Error).message}`);
          return;
        }
        if (status >= 500) failures.push(`#${i + j} ${c.label}: HTTP ${status} ${text.slice(0, 200)}`);
        if (status !== 204) {
          let body: any;
          try {
            body = JSON.parse(text);
          } catch {
            failures.push(`#${i + j} ${c.label}: not JSON (${status}): ${text.slice(0, 100)}`);
            return;
          }
          const list = Array.isArray(body) ? body : [body];
          for (const b of list) {
            const wellFormed =
              (b && typeof b === 'object' && ('data' in b || Array.isArray(b.errors))) || (b && typeof b.status === 'string');
            if (!wellFormed) failures.push(`#${i + j} ${c.label}: malformed body ${text.slice(0, 100)}`);
            for (const e of b?.errors ?? []) {
              if (typeof e.message !== 'string' || !e.extensions?.code)
                failures.push(`#${i + j} ${c.label}: error without code ${JSON.stringify(e).slice(0, 200)}`);
              if (e.extensions?.code === 'INTERNAL_SERVER_ERROR') failures.push(`#${i + j} ${c.label}: INTERNAL_SERVER_ERROR`);
            }
          }
          const errorsText = JSON.stringify(list.map((b: any) => b?.errors ?? []));
          if (leak.test(errorsText)) failures.push(`#${i + j} ${c.label}: leaks internals: ${errorsText.slice(0, 300)}`);
        }
      }),
    );
    expect(gw.child.exitCode).toBeNull();
  }
  expect(failures.slice(0, 20)).toEqual([]);

  const health = await fetch(url.replace('/graphql', '/healthz'));
  expect(health.status).toBe(200);
  const rssAtEnd = rssKb(gw.child.pid!);
  // Memory: allow warm-up noise, not growth proportional to the requests.
  expect(rssAtEnd - rssAtStart).toBeLessThan(120 * 1024);
  // The store is still consistent and usable.
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ inventorySummary { total } }' }),
  });
  expect(((await r.json()) as any).data.inventorySummary.total).toBeGreaterThan(0);
});

test('the same hostile operations over graphql-ws (1,000+ messages): the same codes, no leaks, no crash', async () => {
  // Every JSON case that parses to an operation, sent as a graphql-ws subscribe message.
  const ops: { label: string; query: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> }[] = [];
  for (const c of cases()) {
    let b: any;
    try {
      b = JSON.parse(c.body ?? '');
    } catch {
      continue;
    }
    for (const x of Array.isArray(b) ? b : [b]) {
      if (!x || typeof x !== 'object') continue;
      const variables = x.variables && typeof x.variables === 'object' && !Array.isArray(x.variables) ? x.variables : {};
      const ext = x.extensions && typeof x.extensions === 'object' ? x.extensions : undefined;
      ops.push({ label: c.label, query: typeof x.query === 'string' ? x.query : '', variables, extensions: ext });
    }
  }
  expect(ops.length).toBeGreaterThanOrEqual(1000);
  const leak =
    /(\bat [\w.<>]+ \(|node_modules|\/work\/|stack|SELECT |INSERT |UPDATE |DELETE FROM|syntax error at or near|duplicate key|violates|relation "|postgres|prisma)/i;
  const failures: string[] = [];
  const CONNS = 4;
  const sessions = Array.from({ length: CONNS }, () => new WsSession(url, key));
  await Promise.all(sessions.map((s) => s.ready()));
  let sent = 0;
  for (let i = 0; i < ops.length; i += CONNS * 5) {
    await Promise.all(
      ops.slice(i, i + CONNS * 5).map(async (op, j) => {
        let session = sessions[j % CONNS];
        if (session.closeCode !== null) {
          // A protocol-level refusal closes a socket (as graphql-ws must); carry on with a new one.
          sessions[j % CONNS] = session = new WsSession(url, key);
          await session.ready();
        }
        const a = await session.request(op.query, op.variables, op.extensions);
        sent++;
        const text = JSON.stringify(a);
        // A socket is closed only for what the protocol says: a malformed message (4400), or a
        // message over the 1 MiB limit (1009, the WebSocket counterpart of HTTP 413), which also
        // ends the other operations in flight on that socket.
        if (a.closeCode != null && a.closeCode !== 4400 && a.closeCode !== 1009)
          failures.push(`#${i + j} ${op.label}: closed ${a.closeCode}`);
        for (const e of a.errors ?? []) {
          if (!e.extensions?.code) failures.push(`#${i + j} ${op.label}: error without code ${JSON.stringify(e).slice(0, 200)}`);
          if (e.extensions?.code === 'INTERNAL_SERVER_ERROR') failures.push(`#${i + j} ${op.label}: INTERNAL_SERVER_ERROR`);
        }
        if (leak.test(JSON.stringify(a.errors ?? []))) failures.push(`#${i + j} ${op.label}: leaks internals: ${text.slice(0, 300)}`);
      }),
    );
    expect(gw.child.exitCode).toBeNull();
  }
  await Promise.all(sessions.map((s) => s.close()));
  expect(sent).toBeGreaterThanOrEqual(1000);
  expect(failures.slice(0, 20)).toEqual([]);
  expect((await fetch(url.replace('/graphql', '/healthz'))).status).toBe(200);
});
