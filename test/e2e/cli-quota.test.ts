/** `key:create --quota` and `key:quota` as real processes; the gateway then enforces the quota. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { startGateway, type Gateway } from '../../src/server';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { withMigratedDatabase } from '../helpers/pglite-template';
import { runCli } from '../helpers/process';
import { overHttp } from '../helpers/transports';

jest.setTimeout(120_000);

let tdb: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase({ migrated: true });
  dataDir = await withMigratedDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'gw-quota-')));
});
afterAll(async () => {
  await tdb.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli('keys.js', args, { dataDir, url: tdb.url });

// Embedded PGlite: one process owns the data directory, so the CLI runs before the gateway starts.
test('quotas are set at creation, changed and removed by key, full key or prefix, and refused when malformed', async () => {
  const created = await cli(['create', '--store', 'q', '--create-store', '--scopes', 'inventory:read', '--quota', '10/day']);
  expect(created.code).toBe(0);
  const key = created.out.trim();
  const bad = await cli(['quota', key, '10/week']);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/must look like 100000\/day/);
  expect((await cli(['quota', 'sk_nope', '5/day'])).err).toMatch(/no active key matches/);
  const monthly = await cli(['quota', key, '12/month']);
  expect(monthly.code).toBe(0);
  expect(monthly.out).toMatch(/12 points per month/);

  let gw: Gateway | null = null;
  try {
    gw = await startGateway(
      loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: usingPostgres ? 'memory://' : dataDir,
        SEED_DEMO: 'never',
        LOG_LEVEL: 'error',
        ...(tdb.url ? { DATABASE_URL: tdb.url } : {}),
      }),
      createLogger('error'),
    );
    const r = await overHttp(gw.url, key, `{ currentApiKey { quota { limit period } } }`);
    expect(r.data.currentApiKey.quota).toEqual({ limit: 12, period: 'MONTH' });
  } finally {
    await gw?.stop();
  }
  const none = await cli(['quota', key.slice(0, 10), 'none']);
  expect(none.code).toBe(0);
  expect(none.out).toMatch(/Quota removed from 1 key/);
});
