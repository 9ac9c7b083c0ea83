/**
 * The real entry point as a separate process: `npm start` on a fresh embedded database, bad
 * configuration, graceful shutdown, the data-dir lock, and two processes migrating one database.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, usingPostgres } from '../helpers/db';
import { ok, post } from '../helpers/gql';
import { spawnGateway, type Spawned } from '../helpers/process';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(180_000);

const tmpDirs: string[] = [];
const running: Spawned[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-proc-'));
  tmpDirs.push(d);
  return d;
}
function start(env: Record<string, string | undefined>, cmd?: string[]): Spawned {
  const s = spawnGateway({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'production', ...env }, cmd);
  running.push(s);
  return s;
}

afterAll(async () => {
  for (const s of running) s.killGroup('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

test('`npm start` with no DATABASE_URL serves { __typename } on embedded PGlite with demo data, and exits 0 on SIGTERM', async () => {
  const dataDir = tmpDir();
  const gw = start({ DATABASE_URL: undefined, DATA_DIR: dataDir }, ['npm', 'start', '--silent']);
  const url = await gw.ready(120_000);

  const r = await post(url, '{ __typename }');
  expect(r.status).toBe(200);
  expect(r.body.data).toEqual({ __typename: 'Query' });
  expect(r.body.errors).toBeUndefined();

  // First start on an empty embedded database loads the demo and leaves a development key.
  const key = fs.readFileSync(path.join(dataDir, 'dev-api-key.txt'), 'utf8').trim();
  expect(key).toMatch(/^sk_/);
  const data = await ok(
    post(
      url,
      '{ fba: warehouse(code: "FBA-EU") { code readOnly type } variant(sku: "PRB-LG-RED") { sku isDefault product { name } } }',
      {},
      key,
    ),
  );
  expect(data.fba).toEqual({ code: 'FBA-EU', readOnly: true, type: 'FBA' });
  expect(data.variant).toEqual({ sku: 'PRB-LG-RED', isDefault: true, product: { name: 'Premium Rose Bouquet' } });
  expect(fs.existsSync(path.join(dataDir, 'gateway.pid'))).toBe(true);

  // Signal the gateway itself (npm passes its exit code through); the pid file names it.
  const pid = Number(fs.readFileSync(path.join(dataDir, 'gateway.pid'), 'utf8'));
  expect(pid).not.toBe(gw.child.pid);
  process.kill(pid, 'SIGTERM');
  expect(await gw.exited).toBe(0);
  expect(gw.stdout()).toMatch(/"msg":"signal received".*"signal":"SIGTERM"/);
  expect(fs.existsSync(path.join(dataDir, 'gateway.pid'))).toBe(false);

  // The data persisted: a second start finds it and does not load the demo again.
  const again = start({ DATABASE_URL: undefined, DATA_DIR: dataDir });
  const url2 = await again.ready();
  const d2 = await ok(post(url2, '{ variant(sku: "SKU-001") { sku } }', {}, key));
  expect(d2.variant).toEqual({ sku: 'SKU-001' });
  expect(again.stdout()).not.toMatch(/demo data loaded/);

  // A second process on the same data directory is refused: an embedded database has one owner.
  const intruder = start({ DATABASE_URL: undefined, DATA_DIR: dataDir });
  expect(await intruder.exited).toBe(1);
  expect(intruder.stderr()).toMatch(/DATA_DIR .* is in use by another gateway process \(pid \d+\)/);

  again.child.kill('SIGINT');
  expect(await again.exited).toBe(0);
});

test.each([
  ['PORT', 'abc', /^Invalid configuration: PORT must be an integer, got "abc"$/m],
  ['PORT', '70000', /^Invalid configuration: PORT must be between 0 and 65535, got 70000$/m],
  ['DATABASE_URL', 'mysql://x', /^Invalid configuration: DATABASE_URL must use the postgresql:\/\/ scheme/m],
  ['DATABASE_URL', 'not a url', /^Invalid configuration: DATABASE_URL is not a valid URL/m],
  ['DATABASE_POOL_SIZE', '0', /^Invalid configuration: DATABASE_POOL_SIZE must be between 1 and 500, got 0$/m],
  ['LOG_LEVEL', 'loud', /^Invalid configuration: LOG_LEVEL must be one of/m],
])('bad config %s=%s: one clear line naming the variable, exit code 1', async (name, value, message) => {
  const gw = start({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', DATA_DIR: tmpDir(), [name]: value });
  expect(await gw.exited).toBe(1);
  expect(gw.stderr().trim().split('\n')).toHaveLength(1);
  expect(gw.stderr()).toMatch(message);
});

test('an unreachable database fails startup with exit code 1 and a clear message, after DATABASE_STARTUP_TIMEOUT_MS', async () => {
  const gw = start({
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nothing',
    INVENTORY_TUNING: tuningEnv({ DATABASE_CONNECT_TIMEOUT_MS: 1000, DATABASE_STARTUP_TIMEOUT_MS: 2000 }),
  });
  expect(await gw.exited).toBe(1);
  expect(gw.stderr()).toMatch(/Startup failed: database unreachable for 2000 ms \(DATABASE_STARTUP_TIMEOUT_MS\): .*ECONNREFUSED/);
});

(usingPostgres ? test : test.skip)('two processes starting at once on one empty database apply each migration exactly once', async () => {
  const db = await createTestDatabase();
  try {
    const env = { DATABASE_URL: db.url, SEED_DEMO: 'never' };
    const a = start(env);
    const b = start(env);
    const [ua, ub] = await Promise.all([a.ready(), b.ready()]);
    expect((await post(ua, '{ __typename }')).status).toBe(200);
    expect((await post(ub, '{ __typename }')).status).toBe(200);

    const local = fs.readdirSync(path.join(__dirname, '..', '..', 'prisma', 'migrations')).filter((n) => /^\d+_/.test(n));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const rows = (await c.query('SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1')).rows;
    await c.end();
    expect(rows).toEqual(local.sort().map((migration_name) => ({ migration_name, n: 1 })));
    // Exactly one of the two applied them; the other found nothing pending.
    const applied = [a, b].map((p) => (p.stdout().match(/"msg":"migration applied"/g) ?? []).length);
    expect(applied.sort()).toEqual([0, local.length]);

    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  } finally {
    await db.drop();
  }
});

(usingPostgres ? test : test.skip)(
  'started while the database is down, the gateway waits with backoff, /readyz says so, and it becomes ready once the database appears',
  async () => {
    const db = await createTestDatabase();
    // A port with nothing behind it yet; later, a TCP proxy to the real server opens on it.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const target = new URL(db.url!);
    const viaProxy = new URL(db.url!);
    viaProxy.port = String(port);
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end);
      upstream.on('error', end);
    });
    try {
      const gw = start({
        DATABASE_URL: viaProxy.toString(),
        SEED_DEMO: 'never',
        INVENTORY_TUNING: tuningEnv({ DATABASE_CONNECT_TIMEOUT_MS: 500, DATABASE_STARTUP_TIMEOUT_MS: 0 }),
      });
      // It says "listening" only once the database is ready; meanwhile each retry names the URL.
      let base = '';
      for (let i = 0; i < 400 && !base; i++) {
        base = /"msg":"database not ready; retrying".*"url":"http:\/\/localhost:(\d+)\/graphql"/.exec(gw.stderr())?.[1] ?? '';
        if (!base) await new Promise((r) => setTimeout(r, 50));
      }
      expect(gw.stdout()).not.toMatch(/"msg":"listening"/);
      const readyz = `http://127.0.0.1:${base}/readyz`;
      // Down: it keeps retrying (several attempts, growing delays) and reports "starting".
      const logs = () => gw.stdout() + gw.stderr();
      for (let i = 0; i < 100 && (logs().match(/database not ready; retrying/g) ?? []).length < 3; i++)
        await new Promise((r) => setTimeout(r, 100));
      const delays = [...logs().matchAll(/"retryInMs":(\d+)/g)].map((m) => Number(m[1]));
      expect(delays.length).toBeGreaterThanOrEqual(3);
      expect(delays[2]).toBeGreaterThan(delays[0]);
      const down = await fetch(readyz);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'starting' });
      expect(gw.child.exitCode).toBeNull();
      // Up: it connects, migrates and serves without being restarted.
      await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
      const url = await gw.ready(60_000);
      expect((await fetch(readyz)).status).toBe(200);
      expect((await post(url, '{ __typename }')).status).toBe(200);
      gw.killGroup('SIGKILL');
    } finally {
      proxy.close();
      await db.drop();
    }
  },
);
