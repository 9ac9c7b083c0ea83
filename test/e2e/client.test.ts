/**
 * The typed client package (clients/typescript): its generated code is current, it covers every
 * root field, it compiles on its own, and against a real server its methods, errors and
 * resumable subscriptions behave as documented. The partner example runs against the server too.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSchema } from 'graphql';
import WebSocket from 'ws';
import {
  createInventoryClient,
  InventoryGraphQLError,
  InventoryLevelsDocument,
  InventoryTransportError,
  mutations,
  queries,
  subscriptions,
  type InventoryChangedEvent,
  type InventoryClientError,
} from '../../clients/typescript/src';
import { main as partnerSync } from '../../examples/partner-sync';
import { modeIndependent } from '../helpers/mode';
import { uniq } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..', '..');
const GQL_DIR = path.join(ROOT, 'clients', 'typescript', 'src', 'gql');

function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = opts.env ? { ...process.env, ...opts.env } : undefined;
    execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? ROOT, env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const until = async (cond: () => boolean, what: string, timeoutMs = 20_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

// Code generation and compiling: independent of the database mode (see modeIndependent).
modeIndependent.describe('generated code', () => {
  test('is current: `npm run codegen` would not change clients/typescript/src/gql', async () => {
    // Same config as `npm run codegen`, generated in memory in a child process (no files written).
    const script = `
      const { generate, loadCodegenConfig } = require('@graphql-codegen/cli');
      (async () => {
        const { config } = await loadCodegenConfig({ configFilePath: 'codegen.yml' });
        const out = await generate({ ...config, cwd: process.cwd(), silent: true }, false);
        process.stdout.write(JSON.stringify(out.map((o) => ({ filename: o.filename, content: o.content }))));
      })().catch((e) => { console.error(e && e.stack || e); process.exit(1); });`;
    const r = await run(process.execPath, ['-e', script]);
    if (r.code !== 0) throw new Error(`codegen failed: ${r.stderr}`);
    const outputs = JSON.parse(r.stdout) as { filename: string; content: string }[];
    expect(outputs.length).toBeGreaterThan(0);
    const stale: string[] = [];
    for (const o of outputs) {
      const file = path.resolve(ROOT, o.filename);
      const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      if (committed === null) stale.push(`${o.filename} (missing)`);
      else if (committed !== o.content) stale.push(o.filename);
    }
    const produced = new Set(outputs.map((o) => path.resolve(ROOT, o.filename)));
    for (const f of fs.readdirSync(GQL_DIR)) {
      if (!produced.has(path.join(GQL_DIR, f))) stale.push(`${path.relative(ROOT, path.join(GQL_DIR, f))} (no longer generated)`);
    }
    if (stale.length) throw new Error(`The generated client is stale; run \`npm run codegen\`. Stale: ${stale.join(', ')}`);
  });

  test('has an operation and a typed method for every root field of schema.graphql', () => {
    const schema = buildSchema(fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    const fields = (t: { getFields(): Record<string, unknown> } | null | undefined) => Object.keys(t?.getFields() ?? {}).sort();
    expect(Object.keys(queries).sort()).toEqual(fields(schema.getQueryType()));
    expect(Object.keys(mutations).sort()).toEqual(fields(schema.getMutationType()));
    expect(Object.keys(subscriptions).sort()).toEqual(fields(schema.getSubscriptionType()));
    const client = createInventoryClient({ url: 'http://127.0.0.1:1/graphql', apiKey: 'sk_x' });
    for (const name of [...Object.keys(queries), ...Object.keys(mutations)])
      expect(typeof (client as unknown as Record<string, unknown>)[name]).toBe('function');
    for (const name of Object.keys(subscriptions))
      expect(typeof (client.subscribe as unknown as Record<string, unknown>)[name]).toBe('function');
  });

  test('the package (with its type tests) and the example compile on their own', async () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const pkg = await run(process.execPath, [tsc, '-p', 'clients/typescript/test/tsconfig.json']);
    expect(pkg.stdout + pkg.stderr).toBe('');
    expect(pkg.code).toBe(0);
    // Emits dist/examples/partner-sync.js, which the example test below runs as a CLI.
    const ex = await run(process.execPath, [tsc, '-p', 'examples/tsconfig.json']);
    expect(ex.stdout + ex.stderr).toBe('');
    expect(ex.code).toBe(0);
  });
});

describe('against the server', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 200 }) });
  });
  afterAll(async () => {
    await t?.stop();
  });

  test('queries and mutations are typed methods over HTTP; userErrors come back in the payload', async () => {
    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey });
    const code = uniq('WH');
    const created = await client.warehouseCreate({ input: { code, name: 'Main' } });
    expect(created.userErrors).toEqual([]);
    const warehouse = created.warehouse!;
    expect(warehouse).toMatchObject({ code, type: 'OWN', readOnly: false, active: true });
    expect(await client.warehouse({ code })).toEqual(warehouse);

    const [skuA, skuB] = [uniq('SKU-A'), uniq('SKU-B')];
    const product = await client.productCreate({
      input: {
        name: 'Tee',
        externalId: uniq('EXT'),
        variants: [
          { sku: skuA, label: 'S' },
          { sku: skuB, label: 'M' },
        ],
      },
    });
    expect(product.userErrors).toEqual([]);
    expect(product.product!.variants.nodes.map((v) => v.sku).sort()).toEqual([skuA, skuB]);
    const taken = await client.productCreate({ input: { name: 'Again', sku: skuA } });
    expect(taken.product).toBeNull();
    expect(taken.userErrors.map((e) => e.code)).toEqual(['TAKEN']);

    const bulk = await client.inventoryBulkUpdate({
      input: {
        items: [
          { mode: 'SET', sku: skuA, warehouseCode: code, quantity: 5 },
          { mode: 'SET', sku: skuB, warehouseCode: code, quantity: 7 },
        ],
      },
    });
    expect(bulk).toMatchObject({ updatedCount: 2, failedCount: 0, userErrors: [], idempotentReplay: false });

    const levels = await client.inventoryLevels({ filter: { skus: [skuA, skuB] }, sortKey: 'SKU' });
    expect(levels.totalCount).toBe(2);
    expect(levels.edges.map((e) => [e.node.variant.sku, e.node.warehouse.code, e.node.onHand, e.node.available, e.node.status])).toEqual([
      [skuA, code, 5, 5, 'IN_STOCK'],
      [skuB, code, 7, 7, 'IN_STOCK'],
    ]);
    const paged: string[] = [];
    for await (const level of client.paginate('inventoryLevels', { filter: { skus: [skuA, skuB] }, sortKey: 'SKU', first: 1 }))
      paged.push(level.variant.sku);
    expect(paged).toEqual([skuA, skuB]);
    expect(await client.inventorySummary({ filter: { warehouseIds: [warehouse.id] } })).toMatchObject({
      total: 2,
      totals: { onHand: '12' },
      inStock: 2,
    });
    expect(await client.variant({ sku: skuA })).toMatchObject({ sku: skuA, totals: { onHand: '5' }, hasStock: true });
    expect(await client.node({ id: warehouse.id })).toMatchObject({ __typename: 'Warehouse', code });
    const moves = await client.stockMovements({ filter: { skus: [skuA] } });
    expect(moves.edges.map((e) => [e.node.kind, e.node.quantityDelta])).toEqual([['ADJUSTMENT', 5]]);

    // A business failure is data, not an exception.
    const refused = await client.inventoryReserve({ input: { lines: [{ sku: skuA, quantity: 50 }] } });
    expect(refused.reservation).toBeNull();
    expect(refused.userErrors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK' });

    const idempotencyKey = uniq('idem');
    const input = { lines: [{ sku: skuA, warehouseCode: code, quantity: 2 }], reference: 'order-1', idempotencyKey };
    const held = await client.inventoryReserve({ input });
    expect(held.userErrors).toEqual([]);
    expect(held.reservation).toMatchObject({
      status: 'ACTIVE',
      reference: 'order-1',
      lines: [{ quantity: 2, inventoryLevel: { reserved: 2, available: 3 } }],
    });
    const replay = await client.inventoryReserve({ input });
    expect(replay).toMatchObject({ idempotentReplay: true, reservation: { id: held.reservation!.id } });
    const committed = await client.reservationCommit({ input: { reservationId: held.reservation!.id } });
    expect(committed.reservation?.status).toBe('COMMITTED');
    expect((await client.reservation({ id: held.reservation!.id }))?.status).toBe('COMMITTED');

    // request(): any typed document; the result is `data`.
    const data = await client.request(InventoryLevelsDocument, { filter: { skus: [skuA] } });
    expect(data.inventoryLevels.edges[0].node).toMatchObject({ onHand: 3, reserved: 0 });
  });

  test('GraphQL errors and transport failures are thrown as typed errors', async () => {
    const badKey = createInventoryClient({ url: t.url, apiKey: 'sk_not_a_key' });
    const unauth = await badKey.warehouses().catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(InventoryGraphQLError);
    expect(unauth).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });

    const reader = createInventoryClient({ url: t.url, apiKey: await t.store.keyWith(['inventory:read']) });
    await expect(reader.warehouseCreate({ input: { code: uniq('W'), name: 'x' } })).rejects.toMatchObject({
      name: 'InventoryGraphQLError',
      code: 'FORBIDDEN',
    });
    await expect(reader.inventoryLevels({ first: 1000 })).rejects.toBeInstanceOf(InventoryGraphQLError);

    const down = createInventoryClient({ url: 'http://127.0.0.1:1/graphql', apiKey: 'sk_x' });
    await expect(down.warehouses()).rejects.toBeInstanceOf(InventoryTransportError);

    const proxy = createInventoryClient({
      url: t.url,
      apiKey: 'sk_x',
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }),
    });
    await expect(proxy.warehouses()).rejects.toMatchObject({ name: 'InventoryTransportError', status: 502 });
  });

  test('a subscription reconnects by itself and resumes after the last cursor: nothing missed, nothing repeated', async () => {
    const sockets: WebSocket[] = [];
    const sent: { type: string; payload?: { variables?: Record<string, unknown> } }[] = [];
    class Tracked extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
      send(data: unknown, ...rest: unknown[]) {
        try {
          sent.push(JSON.parse(String(data)));
        } catch {
          /* not JSON */
        }
        return (WebSocket.prototype.send as (...a: unknown[]) => void).call(this, data, ...rest);
      }
    }
    // Reconnects wait for the gate: the test makes changes while the client is offline.
    let gate: Promise<void> = Promise.resolve();
    let openGate = () => undefined as void;
    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey, webSocketImpl: Tracked, retryWait: () => gate });
    const code = uniq('WH');
    await client.warehouseCreate({ input: { code, name: 'Sub' } });
    const sku = uniq('SKU');
    await client.productCreate({ input: { name: 'Sub', sku } });
    await client.inventorySet({ input: { sku, warehouseCode: code, quantity: 100, reason: 'RECEIVED' } });
    const adjust = async (delta: number) => {
      const r = await client.inventoryAdjust({ input: { sku, warehouseCode: code, delta, reason: 'SALE' } });
      expect(r.userErrors).toEqual([]);
    };

    const events: InventoryChangedEvent[] = [];
    const errors: InventoryClientError[] = [];
    const stop = client.subscribe.inventoryChanged(
      { filter: { skus: [sku] }, after: '0' },
      { next: (e) => events.push(e), error: (e) => errors.push(e) },
    );
    await until(() => events.length === 1, 'the replayed RECEIVED event');
    await adjust(-1);
    await until(() => events.length === 2, 'a live event');

    gate = new Promise<void>((r) => (openGate = r));
    sockets[0].terminate(); // the connection drops (no close handshake)
    await until(() => sockets[0].readyState === WebSocket.CLOSED, 'the socket to close');
    await adjust(-2); // committed while the client is offline
    await adjust(-3);
    openGate();
    await until(() => events.length === 4, 'the missed events after the reconnect');
    await adjust(-4);
    await until(() => events.length === 5, 'a live event after the reconnect');
    // A sentinel: a duplicate (a replay of the missed events twice) would have come before it.
    await adjust(-5);
    await until(() => events.length === 6, 'the sentinel');

    expect(errors).toEqual([]);
    expect(events.map((e) => [e.reason, e.after.onHand])).toEqual([
      ['RECEIVED', 100],
      ['SALE', 99],
      ['SALE', 97],
      ['SALE', 94],
      ['SALE', 90],
      ['SALE', 85],
    ]);
    const cursors = events.map((e) => BigInt(e.cursor));
    expect(cursors.every((c, i) => i === 0 || c > cursors[i - 1])).toBe(true);
    expect(sockets).toHaveLength(2);
    // The second subscribe asked for exactly what came after the last event received.
    const subscribes = sent.filter((m) => m.type === 'subscribe').map((m) => m.payload?.variables?.after);
    expect(subscribes).toEqual(['0', events[1].cursor]);

    stop();
    await client.dispose();
  });

  test('subscription errors end the subscription: a rejected key is not retried, a bad cursor is a GraphQL error', async () => {
    const sockets: WebSocket[] = [];
    class Tracked extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    }
    const bad = createInventoryClient({ url: t.url, apiKey: 'sk_not_a_key', webSocketImpl: Tracked, retryWait: async () => undefined });
    const errors: InventoryClientError[] = [];
    bad.subscribe.inventoryChanged({}, { next: () => undefined, error: (e) => errors.push(e) });
    await until(() => errors.length === 1, 'the error');
    expect(errors[0]).toBeInstanceOf(InventoryTransportError);
    expect(errors[0]).toMatchObject({ closeCode: 4403 });
    await new Promise((r) => setTimeout(r, 300));
    expect(sockets).toHaveLength(1);
    await bad.dispose();

    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey });
    const got: InventoryClientError[] = [];
    client.subscribe.stockStatusChanged({ after: 'not-a-cursor' }, { next: () => undefined, error: (e) => got.push(e) });
    await until(() => got.length === 1, 'the error');
    expect(got[0]).toBeInstanceOf(InventoryGraphQLError);
    expect(got[0]).toMatchObject({ code: 'BAD_USER_INPUT' });
    await client.dispose();
  });

  test('the partner example syncs, reserves and follows the subscription; a second run resumes from its cursor', async () => {
    const lines: string[] = [];
    const skus = [uniq('PS-A'), uniq('PS-B')];
    const warehouseCode = uniq('PW');
    const first = await partnerSync({ url: t.url, apiKey: t.store.adminKey, skus, warehouseCode, log: (l) => lines.push(l) });
    expect(first.bulk).toEqual({ updatedCount: 2, failedCount: 0 });
    expect(first.reservation).toMatchObject({ status: 'ACTIVE', reserved: 2 });
    const summary = (e: InventoryChangedEvent) => [e.variant.sku, e.reason, e.after.onHand, e.after.reserved];
    // Bulk items are applied in level order, so the two SETs may come in either order.
    expect(first.events.slice(0, 2).map(summary).sort()).toEqual([
      [skus[0], 'CYCLE_COUNT', 10, 0],
      [skus[1], 'CYCLE_COUNT', 20, 0],
    ]);
    expect(first.events.slice(2).map(summary)).toEqual([[skus[0], 'RESERVATION', 10, 2]]);
    expect(first.lastCursor).toBe(first.events[2].cursor);
    const out = lines.join('\n');
    expect(out).toContain(`created warehouse ${warehouseCode}`);
    expect(out).toContain(`created product ${skus[1]}`);
    expect(out).toContain('bulk sync: 2 updated, 0 failed');
    expect(out).toMatch(/^reservation \S+ ACTIVE: 2 × /m);
    expect(out.match(/^event \d+ /gm)).toHaveLength(3);
    expect(out).toContain(`resume with --after ${first.lastCursor}`);

    // Its effects, read back through the client.
    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey });
    const levels = await client.inventoryLevels({ filter: { skus }, sortKey: 'SKU' });
    expect(levels.edges.map((e) => [e.node.variant.sku, e.node.onHand, e.node.reserved])).toEqual([
      [skus[0], 10, 2],
      [skus[1], 20, 0],
    ]);

    // Resuming from the stored cursor: only the new run's events, none of the first run's.
    const again: string[] = [];
    const second = await partnerSync({
      url: t.url,
      apiKey: t.store.adminKey,
      skus,
      warehouseCode,
      quantities: [11, 21],
      after: first.lastCursor!,
      log: (l) => again.push(l),
    });
    expect(again.join('\n')).not.toContain('created');
    expect(second.events.map((e) => e.reason).sort()).toEqual(['CYCLE_COUNT', 'CYCLE_COUNT', 'RESERVATION']);
    expect(second.events.every((e) => BigInt(e.cursor) > BigInt(first.lastCursor!))).toBe(true);

    // The compiled example runs as a command: compiled by the test above, or here when that one did
    // not run (skipped as mode-independent, or run alone).
    const script = path.join(ROOT, 'dist', 'examples', 'partner-sync.js');
    if (!fs.existsSync(script)) {
      const ex = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'examples/tsconfig.json']);
      expect(ex.stdout + ex.stderr).toBe('');
    }
    const cli = await run(
      process.execPath,
      [script, '--url', t.url, '--key', t.store.adminKey, '--warehouse', uniq('PW'), '--sku', `${uniq('PC')},${uniq('PC')}`],
      { timeoutMs: 60_000 },
    );
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('bulk sync: 2 updated, 0 failed');
    expect(cli.stdout.match(/^event \d+ /gm)).toHaveLength(3);
  });

  test('the partner example finishes promptly when nothing changes, and releases its reservation when it fails', async () => {
    const skus = [uniq('PN-A'), uniq('PN-B')];
    const warehouseCode = uniq('PN');
    const opts = { url: t.url, apiKey: t.store.adminKey, skus, warehouseCode, log: () => undefined };
    const first = await partnerSync(opts);
    expect(first.events).toHaveLength(3);

    // Same quantities again: only the reservation's event is awaited, not 30 s for events that never come.
    let started = Date.now();
    const again = await partnerSync({ ...opts, after: first.lastCursor!, timeoutMs: 60_000 });
    expect(again.bulk).toEqual({ updatedCount: 2, failedCount: 0 });
    expect(again.events.map((e) => e.reason)).toEqual(['RESERVATION']);
    expect(Date.now() - started).toBeLessThan(15_000);
    // Nothing changes at all (same quantities, the reservation refused): it returns at once.
    started = Date.now();
    const idle = await partnerSync({ ...opts, after: again.lastCursor!, reserveQuantity: 1_000_000, timeoutMs: 60_000 });
    expect(idle.reservation).toBeNull();
    expect(idle.reservationErrors[0]).toMatch(/^INSUFFICIENT_STOCK/);
    expect(idle.events).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);

    // A run that fails after reserving (here: the events it waits for do not come in time) releases it.
    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey });
    const reservedBefore = (await client.inventoryLevels({ filter: { skus: [skus[0]] } })).edges[0].node.reserved;
    const lines: string[] = [];
    await expect(partnerSync({ ...opts, after: idle.lastCursor!, events: 50, timeoutMs: 500, log: (l) => lines.push(l) })).rejects.toThrow(
      /no event within 500 ms/,
    );
    const released = /^released reservation (\S+) \(the run failed\)$/m.exec(lines.join('\n'));
    expect(released).not.toBeNull();
    expect((await client.reservation({ id: released![1] }))?.status).toBe('RELEASED');
    expect((await client.inventoryLevels({ filter: { skus: [skus[0]] } })).edges[0].node.reserved).toBe(reservedBefore);
    await client.dispose();
  });

  // Packaging: independent of the database mode (the program's requests are the ones tested above).
  modeIndependent.test(
    'the package installs outside the repo from its npm pack tarball (ESM and CommonJS projects), from a copy of its folder and from git; a typed program compiles and runs against it',
    async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'client-pack-'));
      try {
        // `npm pack` builds dist/ first (prepare); the tarball carries it.
        const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], {
          cwd: path.join(ROOT, 'clients', 'typescript'),
          timeoutMs: 180_000,
        });
        expect([packed.stderr, packed.code]).toEqual([expect.any(String), 0]);
        const tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
        const files = (await run('tar', ['tzf', tarball])).stdout.split('\n');
        expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/package.json']));

        const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
        const program = `import { createInventoryClient, InventoryGraphQLError, type VariantQuery } from '@inventory/client';
declare const process: { env: Record<string, string | undefined> };
const client = createInventoryClient({ url: process.env.GATEWAY_URL!, apiKey: process.env.GATEWAY_KEY! });
async function run() {
  const v: VariantQuery['variant'] = await client.variant({ sku: process.env.SKU! });
  // @ts-expect-error: the sku variable is a string
  if (Math.random() > 2) await client.variant({ sku: 42 });
  let denied = '';
  try {
    await createInventoryClient({ url: process.env.GATEWAY_URL!, apiKey: 'sk_wrong' }).variant({ sku: 'x' });
  } catch (e) {
    if (e instanceof InventoryGraphQLError) denied = e.code ?? '';
  }
  const name: string | undefined = v?.product.name;
  console.log(JSON.stringify({ sku: v?.sku, name, denied }));
}
run().then(() => client.dispose());
`;
        const sku = uniq('PACK');
        const made = await createInventoryClient({ url: t.url, apiKey: t.store.adminKey }).productCreate({
          input: { name: 'Packed product', sku },
        });
        expect(made.userErrors).toEqual([]);
        // A copy of the folder outside the repo (no dist/, no node_modules), and a git repository of it.
        const copy = path.join(work, 'client-folder');
        const src = path.join(ROOT, 'clients', 'typescript');
        fs.cpSync(src, copy, { recursive: true, filter: (f) => !/[\\/](dist|node_modules)$/.test(f) });
        const repo = path.join(work, 'client-git');
        fs.cpSync(copy, repo, { recursive: true });
        for (const args of [
          ['init', '-q'],
          ['add', '.'],
          ['-c', 'user.email=test@example.com', '-c', 'user.name=test', 'commit', '-qm', 'client'],
        ]) {
          expect((await run('git', args, { cwd: repo })).code).toBe(0);
        }
        const installs = [
          { name: 'esm-tarball', esm: true, from: tarball },
          { name: 'cjs-tarball', esm: false, from: tarball },
          { name: 'cjs-folder', esm: false, from: copy }, // npm links it and runs its prepare (which installs its build tools)
          { name: 'esm-git', esm: true, from: `git+file://${repo}` }, // npm installs its devDependencies and runs prepare
        ];
        for (const { name, esm, from } of installs) {
          const dir = path.join(work, name);
          fs.mkdirSync(dir);
          fs.writeFileSync(
            path.join(dir, 'package.json'),
            JSON.stringify({ name: `scratch-${name}`, private: true, ...(esm ? { type: 'module' } : {}) }),
          );
          fs.writeFileSync(
            path.join(dir, 'tsconfig.json'),
            JSON.stringify({
              compilerOptions: {
                target: 'ES2022',
                module: 'node16',
                moduleResolution: 'node16',
                lib: ['ES2023', 'DOM'],
                types: [],
                strict: true,
                outDir: 'out',
              },
              include: ['main.ts'],
            }),
          );
          fs.writeFileSync(path.join(dir, 'main.ts'), program);
          const inst = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', from], { cwd: dir, timeoutMs: 240_000 });
          expect([name, inst.stderr.split('\n').filter((l) => /ERR/.test(l)), inst.code]).toEqual([name, [], 0]);
        }
        // The four programs compiled by one tsc (build mode, one project each: their errors name their
        // files): it reads the standard library's declarations once instead of four times.
        const built = await run(process.execPath, [tsc, '-b', ...installs.map(({ name }) => path.join(work, name))]);
        expect([built.stdout + built.stderr, built.code]).toEqual(['', 0]);
        for (const { name, esm } of installs) {
          const dir = path.join(work, name);
          const out = fs.readFileSync(path.join(dir, 'out', 'main.js'), 'utf8');
          expect(out).toMatch(esm ? /^import .* from '@inventory\/client'/m : /require\("@inventory\/client"\)/);
          const ran = await run(process.execPath, [path.join(dir, 'out', 'main.js')], {
            cwd: dir,
            env: { GATEWAY_URL: t.url, GATEWAY_KEY: t.store.adminKey, SKU: sku },
          });
          expect([name, ran.stderr, ran.code]).toEqual([name, '', 0]);
          expect(JSON.parse(ran.stdout)).toEqual({ sku, name: 'Packed product', denied: 'UNAUTHENTICATED' });
        }
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
    420_000,
  );
});
