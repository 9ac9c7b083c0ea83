/**
 * A fresh clone does what the README's first lines promise: `git clone` of the committed HEAD
 * into a temporary directory, `npm install && npm start` (embedded database, demo data), then
 * `npm run key:create` while the gateway runs, then the README's curl with the new key.
 *
 * `npm install` is abridged to keep this fast and offline: the clone's node_modules is a symlink
 * to this checkout's (same package-lock.json), and the install's own step, its postinstall
 * (`prisma generate` into src/generated), runs as `npm run generate`. Everything else is real:
 * `npm start` builds the clone from scratch (no dist/) and starts it on ./data in the clone.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, spawnGateway, type Spawned } from '../helpers/process';

jest.setTimeout(300_000);

const haveGit = fs.existsSync(path.join(ROOT, '.git'));
if (!haveGit) process.stderr.write(`\n!!! SKIPPED: test/e2e/fresh-clone.test.ts — ${ROOT} is not a git checkout\n\n`);

function sh(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: fullEnv });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
}

let work: string | null = null;
let gw: Spawned | null = null;
afterAll(() => {
  gw?.killGroup('SIGKILL');
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

(haveGit ? test : test.skip)(
  'git clone, npm install && npm start, key:create while it runs, then the README curl with that key',
  async () => {
    const t0 = Date.now();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'fresh-clone-'));
    const clone = path.join(work, 'inventory-gateway');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', ROOT, clone]);
    execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: clone });
    expect(fs.existsSync(path.join(clone, 'dist'))).toBe(false);
    expect(fs.existsSync(path.join(clone, 'data'))).toBe(false);

    // npm install (abridged, see above).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    const generated = await sh('npm', ['run', '--silent', 'generate'], clone, { DATABASE_URL: undefined });
    expect([generated.err, generated.code]).toEqual([expect.any(String), 0]);

    // npm start: builds, then serves on the embedded database (PORT=0: a free port instead of 4000).
    gw = spawnGateway(
      { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: undefined, DATA_DIR: undefined, LOG_LEVEL: 'info', NODE_ENV: undefined },
      ['npm', 'start', '--silent'],
      { cwd: clone },
    );
    const url = await gw.ready(240_000);
    const startedIn = Date.now() - t0;
    const port = new URL(url).port;
    expect(gw.stdout()).toMatch(/Development API key \(admin scope, store "demo"\): sk_\S+\n\s+Saved to .*\/data\/dev-api-key\.txt/);
    expect(fs.existsSync(path.join(clone, 'data', 'dev-api-key.txt'))).toBe(true);

    // key:create while the gateway runs (the build is fresh: no second build).
    const created = await sh(
      'npm',
      ['run', '--silent', 'key:create', '--', '--store', 'demo', '--scopes', 'inventory:read,catalog:write', '--name', 'fresh'],
      clone,
      { DATABASE_URL: undefined, DATA_DIR: undefined },
    );
    expect([created.err, created.code]).toEqual([expect.stringMatching(/^Created sk key .* for store "demo"/), 0]);
    const key = created.out.trim();
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{32}$/);
    expect(created.ms).toBeLessThan(15_000);

    // The README's curl, as written there, with that key (and the port this gateway got).
    const readme = fs.readFileSync(path.join(clone, 'README.md'), 'utf8');
    const block = /```sh\nKEY=\$\(cat data\/dev-api-key\.txt\)\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const curl = block![1]
      .replace(/\\\n\s*/g, '')
      .trim()
      .replace('localhost:4000', `localhost:${port}`);
    expect(curl).toMatch(/^curl -s localhost:\d+\/graphql /);
    const r = await sh('sh', ['-c', curl], clone, { KEY: key });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as { data?: unknown; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ variant: { sku: 'SKU-001', product: { name: 'Blue Widget 500ml' } } });

    // Nothing the run wrote is left for git to pick up.
    expect(execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: clone }).toString()).toBe('');
    gw.child.kill('SIGTERM');
    process.stderr.write(
      `fresh clone: clone + generate + build + start ${(startedIn / 1000).toFixed(1)} s, all ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  },
);
