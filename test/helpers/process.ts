/** Spawning the real entry point (node dist/src/main.js, what `npm start` runs after building). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (this file also runs compiled, from dist/test/helpers). */
export const ROOT = ((dir: string): string => {
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})(__dirname);
export const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
/** The node flags of `npm start` (package.json "config".nodeOptions). */
export const NODE_FLAGS: string[] = String(
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { config?: { nodeOptions?: string } }).config?.nodeOptions ?? '',
)
  .split(/\s+/)
  .filter(Boolean);

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Sends a signal to the whole process group (no-op once it is gone). */
  killGroup: (signal?: NodeJS.Signals) => void;
  /** Resolves with the URL once the process logs that it is ready. */
  ready: (timeoutMs?: number) => Promise<string>;
}

export function spawnGateway(
  env: Record<string, string | undefined>,
  cmd: string[] = ['node', ...NODE_FLAGS, MAIN],
  opts: { cwd?: string } = {},
): Spawned {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  // Its own process group, so `npm start` and the node process under it can be killed together.
  const child = spawn(cmd[0], cmd.slice(1), { cwd: opts.cwd ?? ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    killGroup: (signal = 'SIGKILL') => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    },
    ready: (timeoutMs = 60_000) =>
      new Promise<string>((resolve, reject) => {
        const t0 = Date.now();
        const tick = () => {
          const m = /"msg":"listening","url":"(http:\/\/localhost:\d+\/graphql)"/.exec(out);
          if (m && /"msg":"ready"/.test(out)) return resolve(m[1].replace('localhost', '127.0.0.1'));
          if (child.exitCode !== null) return reject(new Error(`exited ${child.exitCode}: ${err}${out}`));
          if (Date.now() - t0 > timeoutMs) return reject(new Error(`not ready in ${timeoutMs} ms: ${err}${out}`));
          setTimeout(tick, 100);
        };
        tick();
      }),
  };
}

/** Runs a compiled CLI (dist/src/cli/<script>) the way its npm script does, on the given database. */
export function runCli(
  script: string,
  args: string[],
  db: { dataDir: string; url?: string },
): Promise<{ code: number | null; out: string; err: string }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), DATA_DIR: db.dataDir, LOG_LEVEL: 'warn' };
  if (db.url) env.DATABASE_URL = db.url;
  else delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn('node', [path.join(ROOT, 'dist', 'src', 'cli', script), ...args], { cwd: ROOT, env });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (err += c));
    child.on('error', reject);
    // 'close', not 'exit': the output streams are complete only then.
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * The development key a gateway printed when it loaded the demo data. (Only an embedded database
 * on disk keeps it in DATA_DIR/dev-api-key.txt; on PostgreSQL it is only printed.)
 */
export function printedDevKey(s: Spawned): string {
  const m = /Development API key \(admin scope, store "demo"\): (sk_[A-Za-z0-9_-]+)/.exec(s.stdout());
  if (!m) throw new Error(`no development key printed: ${s.stdout().slice(0, 2000)}`);
  return m[1];
}
