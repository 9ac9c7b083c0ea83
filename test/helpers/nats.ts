/**
 * A test's own nats-server with JetStream (on its own port and store directory, so a test can kill
 * and restart it while the shared one on 4222 stays up). Tests that need it skip with a message when
 * no nats-server binary is installed (.ci/run installs and starts one).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './observability';

/** The nats-server binary, or null (with the reason logged once by `requireNatsServer`). */
export const NATS_SERVER: string | null = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
})();

export interface NatsServer {
  url: string;
  port: number;
  /** The server's process id (while it runs). */
  readonly pid: number;
  /** SIGKILLs the server (its store directory stays). */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export async function startNatsServer(): Promise<NatsServer> {
  if (!NATS_SERVER) throw new Error('nats-server is not installed');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nats-test-'));
  let child: ChildProcess | null = null;
  let log = '';
  const launch = async () => {
    child = spawn(NATS_SERVER!, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c) => (log += c));
    child.stderr!.on('data', (c) => (log += c));
    const t0 = Date.now();
    while (!(await accepting(port))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited ${child.exitCode}: ${log}`);
      if (Date.now() - t0 > 15_000) throw new Error(`nats-server not accepting on ${port} after 15 s: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return (child as ChildProcess | null)?.pid ?? 0;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
