/**
 * Unauthenticated callers cannot make the process grow: 500 distinct documents of ~900 KB each,
 * sent without a key and with a persisted-query hash (which would register them), leave the
 * gateway alive with RSS under 250 MB (it runs with npm start's 192 MB heap limit; on embedded
 * PGlite, whose database shares the process, the requests add under 100 MB to the idle process).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { withMigratedDatabase } from '../helpers/pglite-template';
import { spawnGateway, type Spawned } from '../helpers/process';

jest.setTimeout(300_000);

let gw: Spawned;
let url: string;
let dataDir: string;
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase({ migrated: true });
  dataDir = await withMigratedDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'gw-mem-')));
  gw = spawnGateway({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: tdb.url,
    DATA_DIR: dataDir,
    SEED_DEMO: 'never',
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
  });
  url = await gw.ready(120_000);
});
afterAll(async () => {
  gw?.killGroup('SIGKILL');
  await tdb?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

test('500 distinct large documents without a key: the process stays alive and under 250 MB', async () => {
  const filler = crypto.randomBytes(450 * 1024).toString('hex'); // ~900 KB of comment text
  const idle = rssMb(gw.child.pid!);
  let peak = 0;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 500; i += 5) {
    await Promise.all(
      Array.from({ length: 5 }, async (_, j) => {
        const query = `{ __typename } # ${i + j} ${filler}`;
        const sha256Hash = crypto.createHash('sha256').update(query).digest('hex');
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
        });
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }),
    );
    expect(gw.child.exitCode).toBeNull();
    peak = Math.max(peak, rssMb(gw.child.pid!));
  }
  expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  if (usingPostgres) expect(peak).toBeLessThan(250);
  // Embedded PGlite runs its database (a WebAssembly PostgreSQL) inside the same process, and its
  // memory is not the requests': there the requests may add at most 100 MB to the idle process.
  else expect(peak - idle).toBeLessThan(100);
  // Nothing was registered: the hash alone is not found.
  const query = `{ __typename } # 0 ${filler}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      extensions: { persistedQuery: { version: 1, sha256Hash: crypto.createHash('sha256').update(query).digest('hex') } },
    }),
  });
  expect(((await res.json()) as any).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  expect((await fetch(url.replace('/graphql', '/healthz'))).status).toBe(200);
});
