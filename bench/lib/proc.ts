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
  /** The ports given to it, by environment variable (PORT and those named in `portEnv`). */
  ports: Record<string, number>;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** `n` distinct ports that are free now: all held open together, then released. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
      ports.push((s.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** The server exited because a port it was given was taken meanwhile (by another process). */
class PortTakenError extends Error {}

async function waitHttp(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      const message = `server exited with ${child.exitCode}:\n${out().slice(-2000)}`;
      throw /already in use|EADDRINUSE/.test(out()) ? new PortTakenError(message) : new Error(message);
    }
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

/**
 * Starts `script` with free ports in PORT and in each variable of `portEnv` (distinct ones). A port
 * is only known free when it is picked: another process (a test running beside, a client's
 * ephemeral port) may take it before the server binds it. The server then exits saying so, and
 * it is started again on other ports, up to 3 times.
 */
export async function startNode(
  script: string,
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; readyPath: string; timeoutMs?: number; portEnv?: string[] },
): Promise<Server> {
  const names = ['PORT', ...(opts.portEnv ?? [])];
  for (let attempt = 1; ; attempt++) {
    const picked = await freePorts(names.length);
    const ports = Object.fromEntries(names.map((n, i) => [n, picked[i]]));
    try {
      return await startOnce(script, env, opts, ports);
    } catch (e) {
      if (!(e instanceof PortTakenError) || attempt === 3) throw e;
    }
  }
}

async function startOnce(
  script: string,
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; readyPath: string; timeoutMs?: number },
  ports: Record<string, number>,
): Promise<Server> {
  const port = ports.PORT;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), HOST: '127.0.0.1' },
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
    ports,
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
  /** Also serve Prometheus metrics, on a free port (`ports.METRICS_PORT` of the result). */
  metrics?: boolean;
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
    { nodeArgs: [...NODE_FLAGS, ...(o.nodeArgs ?? [])], readyPath: '/readyz', portEnv: o.metrics ? ['METRICS_PORT'] : [] },
  );
}

export function startBareServer(databaseUrl: string, poolSize: number): Promise<Server> {
  return startNode(
    path.join(ROOT, 'dist', 'bench', 'bare-server.js'),
    { DATABASE_URL: databaseUrl, BARE_POOL_SIZE: String(poolSize) },
    { readyPath: '/healthz' },
  );
}
