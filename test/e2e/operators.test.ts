/**
 * Operators' paths as real processes: every command-line tool against a running gateway that owns
 * the embedded database (over its admin socket) and without one, one clear line for each startup
 * failure, impossible settings refused at start, where development keys go, and the build check
 * that keeps `npm run <tool>` fast.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, usingPostgres } from '../helpers/db';
import { ok, post } from '../helpers/gql';
import { ROOT, runCli, spawnGateway, type Spawned } from '../helpers/process';

jest.setTimeout(180_000);

const tmpDirs: string[] = [];
const running: Spawned[] = [];
function tmpDir(prefix = 'gw-ops-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
function start(env: Record<string, string | undefined>): Spawned {
  const s = spawnGateway({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  running.push(s);
  return s;
}
afterAll(() => {
  for (const s of running) s.killGroup('SIGKILL');
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A failed start: exit code 1, exactly one line on stderr, and never a claim that it listened. */
async function failsWithOneLine(gw: Spawned): Promise<string> {
  expect(await gw.exited).toBe(1);
  const lines = gw.stderr().trim().split('\n');
  expect([gw.stderr(), lines.length]).toEqual([gw.stderr(), 1]);
  expect(gw.stdout()).not.toMatch(/listening|"level":"error"/);
  expect(gw.stderr()).not.toMatch(/Internal error|\n\s+at /);
  return lines[0];
}

test('every tool works against a running embedded gateway (admin socket, mode 0600), and again once it is stopped', async () => {
  const dataDir = tmpDir();
  const gw = start({ DATABASE_URL: undefined, DATA_DIR: dataDir });
  const url = await gw.ready(120_000);
  const sock = path.join(dataDir, 'admin.sock');
  expect(fs.statSync(sock).isSocket()).toBe(true);
  expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
  const db = { dataDir };

  // key:create, used at once against the gateway.
  const created = await runCli(
    'keys.js',
    ['create', '--store', 'demo', '--scopes', 'inventory:read,inventory:write', '--name', 'while-running'],
    db,
  );
  expect([created.err, created.code]).toEqual([expect.stringMatching(/^Created sk key/), 0]);
  const key = created.out.trim();
  expect(key).toMatch(/^sk_/);
  const d = await ok(post(url, '{ variant(sku: "SKU-001") { sku } }', {}, key));
  expect(d.variant).toEqual({ sku: 'SKU-001' });

  // key:list, then key:revoke with what list printed: the gateway refuses the key from then on.
  const list = await runCli('keys.js', ['list'], db);
  expect(list.code).toBe(0);
  const row = list.out.split('\n').find((l) => l.includes('while-running'))!;
  const prefix = row.split(/ {2,}/)[1];
  expect(prefix).toBe(`${key.slice(0, 10)}…`);

  // import and export go through the gateway's own connection.
  const work = tmpDir('gw-ops-csv-');
  const csv = path.join(work, 'counts.csv');
  fs.writeFileSync(csv, 'sku,warehouse,quantity\nSKU-001,BER-1,340\nTHIEB-N,BER-1,7\n');
  const imported = await runCli('import.js', [csv, '--json'], db);
  expect([imported.err, imported.code]).toEqual(['', 0]);
  expect(JSON.parse(imported.out)).toMatchObject({ rows: 2, applied: 2, failed: 0 });
  const lvl = await ok(
    post(url, '{ variant(sku: "SKU-001") { inventoryLevels(first: 10) { nodes { onHand warehouse { code } } } } }', {}, key),
  );
  expect(lvl.variant.inventoryLevels.nodes).toContainEqual({ onHand: 340, warehouse: { code: 'BER-1' } });
  const exported = await runCli('export.js', [], db);
  expect(exported.code).toBe(0);
  expect(exported.out.split('\n')[0]).toBe(
    'sku,externalId,label,product,warehouse,onHand,reserved,incoming,safetyStock,available,status,price,currency,inventoryPolicy,backorderLimit,levelInventoryPolicy,levelBackorderLimit',
  );
  expect(exported.out).toMatch(/^SKU-001,WIDGET-BLUE,500ml,Blue Widget 500ml,BER-1,340,/m);
  const toFile = await runCli('export.js', ['--out', path.join(work, 'out.csv')], db);
  expect(toFile.code).toBe(0);
  expect(fs.readFileSync(path.join(work, 'out.csv'), 'utf8')).toBe(exported.out);

  // seed and migrate answer too.
  expect((await runCli('seed.js', [], db)).out).toMatch(/already exists/);
  expect((await runCli('migrate.js', [], db)).out).toBe('Database is up to date.\n');
  // Errors come back as one line with the command's exit code.
  const bad = await runCli('keys.js', ['create', '--store', 'nope'], db);
  expect([bad.code, bad.err]).toEqual([1, 'store "nope" does not exist (pass --create-store to create it)\n']);

  const revoked = await runCli('keys.js', ['revoke', prefix], db);
  expect(revoked.out).toBe('Revoked 1 key(s).\n');
  const deadline = Date.now() + 10_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    status = (await post(url, '{ variant(sku: "SKU-001") { sku } }', {}, key)).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 100));
  }
  expect(status).toBe(401);

  // A second gateway on the same DATA_DIR: one line naming the owner and what to do.
  const second = start({ DATABASE_URL: undefined, DATA_DIR: dataDir });
  expect(await failsWithOneLine(second)).toMatch(
    /^Startup failed: DATA_DIR .* is in use by another gateway process \(pid \d+\).*stop it first, or give this one another DATA_DIR/,
  );

  // Stopped: the tools open the database themselves.
  gw.child.kill('SIGTERM');
  expect(await gw.exited).toBe(0);
  expect(fs.existsSync(sock)).toBe(false);
  const after = await runCli('keys.js', ['list'], db);
  expect(after.code).toBe(0);
  expect(after.out).toMatch(/while-running/);
  expect(after.out.split('\n').find((l) => l.includes('while-running'))).toMatch(/revoked/);
});

test('startup failures are one line with the cause and the fix, exit code 1, and nothing claims to listen', async () => {
  // A port in use (no graphql-ws noise, no stack).
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const gw = start({ DATABASE_URL: undefined, DATA_DIR: 'memory://', PORT: String(port) });
    expect(await failsWithOneLine(gw)).toBe(
      `Startup failed: port ${port} (HOST 127.0.0.1) is already in use by another process. Stop that process, or start with another PORT (PORT=0 picks a free one).`,
    );
  } finally {
    blocker.close();
  }

  // Impossible settings are refused before anything starts.
  const bucket = start({ DATABASE_URL: undefined, DATA_DIR: 'memory://', RATE_LIMIT_BUCKET_SIZE: '1000', MAX_QUERY_COST: '5000' });
  expect(await failsWithOneLine(bucket)).toMatch(
    /^Invalid configuration: RATE_LIMIT_BUCKET_SIZE \(1000\) is smaller than MAX_QUERY_COST \(5000\).*Raise RATE_LIMIT_BUCKET_SIZE/,
  );

  if (usingPostgres) {
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = '/inv_ops_no_such_database';
    const gw = start({ DATABASE_URL: u.toString() });
    expect(await failsWithOneLine(gw)).toBe(
      'Startup failed: database "inv_ops_no_such_database" does not exist on ' +
        `${u.hostname}:${u.port || 5432}. Create it (createdb inv_ops_no_such_database, or CREATE DATABASE "inv_ops_no_such_database") or point DATABASE_URL at an existing database.`,
    );
  }
});

test('a development key goes only beside the embedded database it belongs to; others are only printed', async () => {
  // A throwaway database: printed, never written to the working directory.
  const inRoot = path.join(ROOT, 'dev-api-key.txt');
  const before = fs.existsSync(inRoot) ? fs.readFileSync(inRoot, 'utf8') : null;
  const mem = await runCli('seed.js', [], { dataDir: 'memory://' });
  expect(mem.code).toBe(0);
  expect(mem.out).toMatch(/Admin API key: sk_\S+\n\(not saved to a file: keep it now\)/);
  expect(fs.existsSync(inRoot) ? fs.readFileSync(inRoot, 'utf8') : null).toBe(before);

  // An embedded database on disk keeps its key in its DATA_DIR…
  const dataDir = tmpDir();
  const lite = await runCli('seed.js', [], { dataDir });
  expect(lite.code).toBe(0);
  const liteKey = /Admin API key: (sk_\S+)/.exec(lite.out)![1];
  expect(fs.readFileSync(path.join(dataDir, 'dev-api-key.txt'), 'utf8')).toBe(`${liteKey}\n`);
  expect(fs.statSync(path.join(dataDir, 'dev-api-key.txt')).mode & 0o777).toBe(0o600);

  // …which seeding a PostgreSQL database with the same DATA_DIR leaves alone.
  if (usingPostgres) {
    const pgdb = await createTestDatabase();
    try {
      const r = await runCli('seed.js', [], { dataDir, url: pgdb.url });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Admin API key: sk_\S+\n\(not saved to a file: keep it now\)/);
      expect(fs.readFileSync(path.join(dataDir, 'dev-api-key.txt'), 'utf8')).toBe(`${liteKey}\n`);
    } finally {
      await pgdb.drop();
    }
  }
  // Whatever is written is ignored by git.
  const written = ['dev-api-key.txt', 'data/dev-api-key.txt', 'data/admin.sock', 'data/gateway.pid', 'dist/.build-stamp.json'];
  expect(
    execFileSync('git', ['check-ignore', ...written], { cwd: ROOT })
      .toString()
      .trim()
      .split('\n'),
  ).toEqual(written);
});

test('`npm run <tool>` does not rebuild when nothing changed: the build check takes well under 2 s', async () => {
  const main = path.join(ROOT, 'dist', 'src', 'main.js');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-stale'], { cwd: ROOT, stdio: 'ignore' });
  const mtime = fs.statSync(main).mtimeMs;
  const t0 = Date.now();
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-stale'], { cwd: ROOT, stdio: 'ignore' });
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(fs.statSync(main).mtimeMs).toBe(mtime); // tsc did not run
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const s of ['start', 'key:create', 'key:list', 'key:revoke', 'import', 'export', 'seed', 'migrate']) {
    const script = s === 'start' ? pkg.scripts.prestart : pkg.scripts[s];
    expect([s, script]).toEqual([s, expect.stringMatching(/^node scripts\/build\.js --if-stale( && |$)/)]);
  }
});
