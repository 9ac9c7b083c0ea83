/** The operator commands (`npm run migrate`, `seed`, `key:*`) as real processes against a real database. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { runCli } from '../helpers/process';

jest.setTimeout(360_000);

let tdb: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
});
afterAll(async () => {
  await tdb.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** key:list's table: a header row, then one row per key (columns separated by two or more spaces). */
const listed = (out: string) =>
  out
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));

/** Runs a compiled CLI the way its npm script does (the build is done by `pretest`). */
const cli = (script: string, args: string[]) => runCli(script, args, { dataDir, url: tdb.url });

test('migrate, seed (once), and the key commands work end to end', async () => {
  const m = await cli('migrate.js', []);
  expect(m.err).toBe('');
  expect(m.code).toBe(0);
  expect(m.out).toMatch(/20261125000000_init/);
  expect((await cli('migrate.js', [])).out).toMatch(/up to date/i);

  const s = await cli('seed.js', []);
  expect(s.code).toBe(0);
  const devKey = /(sk_[A-Za-z0-9_-]+)/.exec(s.out)?.[1];
  expect(devKey).toBeDefined();
  const again = await cli('seed.js', []);
  expect(again.code).toBe(0);
  expect(again.out).toMatch(/already/i);

  // The secret goes alone to stdout (for scripts); the explanation to stderr.
  const created = await cli('keys.js', ['create', '--store', 'demo', '--publishable', '--name', 'storefront']);
  expect(created.code).toBe(0);
  expect(created.out).toMatch(/^pk_[A-Za-z0-9_-]+\n$/);
  expect(created.err).toMatch(/Created pk key .* for store "demo" with scopes \[storefront:read\]/);
  const pk = created.out.trim();

  const pkScoped = await cli('keys.js', ['create', '--store', 'demo', '--kind', 'pk', '--scopes', 'admin']);
  expect(pkScoped.code).toBe(1);
  expect(pkScoped.err).toMatch(/publishable \(pk\) keys have a fixed scope/);

  const sk = await cli('keys.js', ['create', '--store', 'demo', '--scopes', 'inventory:read,inventory:reserve', '--name', 'checkout']);
  expect(sk.code).toBe(0);
  expect(sk.err).toMatch(/with scopes \[inventory:read, inventory:reserve\]/);

  const list = await cli('keys.js', ['list', '--store', 'demo']);
  expect(list.code).toBe(0);
  const table = listed(list.out);
  expect(table[0]).toEqual(['ID', 'PREFIX', 'KIND', 'STORE', 'SCOPES', 'STATUS', 'NAME']);
  expect(table).toContainEqual([
    expect.stringMatching(/^[0-9a-f-]{36}$/),
    `${pk.slice(0, 10)}…`,
    'pk',
    'demo',
    'storefront:read',
    'active',
    'storefront',
  ]);
  expect(table).toContainEqual([
    expect.any(String),
    `${sk.out.trim().slice(0, 10)}…`,
    'sk',
    'demo',
    'inventory:read,inventory:reserve',
    'active',
    'checkout',
  ]);
  expect(list.out).not.toContain(pk); // only prefixes are listed, never secrets

  // revoke takes the prefix exactly as list prints it (with its "…")…
  const printed = table.find((r) => r[6] === 'storefront')![1];
  const revoked = await cli('keys.js', ['revoke', printed]);
  expect(revoked.out).toBe('Revoked 1 key(s).\n');
  expect(listed((await cli('keys.js', ['list', '--store', 'demo'])).out).find((r) => r[6] === 'storefront')![5]).toMatch(/^revoked \S+$/);
  const none = await cli('keys.js', ['revoke', printed]);
  expect(none.code).toBe(1);
  expect(none.err).toMatch(/no active key matches/);
  // …or the whole key, or the id (an unknown one is refused).
  expect((await cli('keys.js', ['revoke', sk.out.trim()])).out).toBe('Revoked 1 key(s).\n');
  const third = (await cli('keys.js', ['create', '--store', 'demo', '--scopes', 'inventory:read', '--name', 'by-id'])).out.trim();
  const id = listed((await cli('keys.js', ['list'])).out).find((r) => r[6] === 'by-id')![0];
  expect((await cli('keys.js', ['revoke', id])).out).toBe('Revoked 1 key(s).\n');
  expect((await cli('keys.js', ['revoke', third])).code).toBe(1); // already revoked
  expect((await cli('keys.js', ['revoke', 'sk_nothing'])).err).toMatch(/no active key matches "sk_nothing" \(give the ID or the PREFIX/);

  const bad = await cli('keys.js', ['create', '--store', 'nope']);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/store "nope" does not exist/);

  const badScope = await cli('keys.js', ['create', '--store', 'demo', '--scopes', 'everything']);
  expect(badScope.code).toBe(1);
  expect(badScope.err).toMatch(/everything/);
});
