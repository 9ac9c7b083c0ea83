/**
 * Servers under test run as real child processes (so RSS and CPU are theirs alone): the gateway
 * is `node dist/src/main.js`, the baseline is `node dist/bench/bare-server.js`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { NODE_FLAGS } from '../../test/helpers/process';
import { ROOT } from './db';
import { sleep } from './util';

export interface Server {
  pid: number;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out().slice(-2000)}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`server not ready after ${timeoutMs} ms:\n${out().slice(-2000)}`);
    await sleep(100);
  }
}

export async function startNode(
  script: string,
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; readyPath: string; timeoutMs?: number },
): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(base + opts.readyPath, child, () => out, opts.timeoutMs ?? 60_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    pid: child.pid!,
    url: `${base}/graphql`,
    port,
    child,
    output: () => out,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export interface GatewayOptions {
  databaseUrl: string;
  /** The entry point (default: this checkout's dist/src/main.js). */
  main?: string;
  poolSize?: number;
  nodeArgs?: string[];
  extraEnv?: Record<string, string>;
}

/**
 * The gateway as `npm start` runs it (same node flags: package.json "config".nodeOptions, via
 * test/helpers/process.ts; `nodeArgs` come after them, so they can
 * override one), with the rate limiter's bucket made effectively unlimited.
 */
export function startGateway(o: GatewayOptions): Promise<Server> {
  return startNode(
    o.main ?? path.join(ROOT, 'dist', 'src', 'main.js'),
    {
      DATABASE_URL: o.databaseUrl,
      NODE_ENV: 'development',
      SEED_DEMO: 'never',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_BUCKET_SIZE: '1000000000',
      RATE_LIMIT_RESTORE_RATE: '1000000000',
      ...(o.poolSize ? { DATABASE_POOL_SIZE: String(o.poolSize) } : {}),
      ...o.extraEnv,
    },
    { nodeArgs: [...NODE_FLAGS, ...(o.nodeArgs ?? [])], readyPath: '/readyz' },
  );
}

export function startBareServer(databaseUrl: string, poolSize: number): Promise<Server> {
  return startNode(
    path.join(ROOT, 'dist', 'bench', 'bare-server.js'),
    { DATABASE_URL: databaseUrl, BARE_POOL_SIZE: String(poolSize) },
    { readyPath: '/healthz' },
  );
}
