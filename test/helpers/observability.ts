/**
 * Real components for the observability tests: a gateway process with its metrics port, a local
 * webhook receiver, a real Prometheus (Debian's package) scraping the gateway, and a loopback
 * OTLP/HTTP receiver collecting the gateway's spans (JSON).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './db';
import { printedDevKey, spawnGateway, type Spawned } from './process';
import { tuningEnv } from '../../src/config/tuning';
import { m as metrics } from '../../src/observability/metrics';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** Whether `p` settles within `ms` (the timer is cleared either way). */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout;
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]).finally(() =>
    clearTimeout(t),
  );
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

/** Polls `fn` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ObservedGateway {
  gw: Spawned;
  url: string;
  key: string;
  metricsPort: number;
  dataDir: string;
  db: TestDatabase;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** A gateway process on a fresh database with demo data (its admin key), metrics on a free port. */
export async function startObservedGateway(env: Record<string, string | undefined> = {}): Promise<ObservedGateway> {
  const db = await createTestDatabase({ migrated: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-obs-'));
  const metricsPort = await freePort();
  const gw = spawnGateway({
    PORT: '0',
    HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    SEED_DEMO: 'always',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    INVENTORY_TUNING: tuningEnv({ SWEEP_INTERVAL_MS: 200, WEBHOOK_POLL_MS: 200, WEBHOOK_RETRY_BASE_MS: 100 }),
    // Webhooks to 127.0.0.1 (the test's receiver), once the SSRF guard exists.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    ...env,
  });
  let url: string;
  try {
    url = await gw.ready(120_000);
  } catch (e) {
    gw.killGroup('SIGKILL');
    await db.drop();
    throw e;
  }
  // Saved to DATA_DIR only for an embedded database; always printed.
  const key = printedDevKey(gw);
  return {
    gw,
    url,
    key,
    metricsPort,
    dataDir,
    db,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    async stop() {
      gw.killGroup('SIGTERM');
      if (!(await within(gw.exited, 15_000))) {
        gw.killGroup('SIGKILL');
        await gw.exited;
      }
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Receiver {
  url: string;
  requests: { headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** A local webhook receiver answering 200. */
export async function webhookReceiver(): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`,
    requests,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/**
 * The TCP addresses a process listens on (Linux: its socket inodes matched against /proc/net/tcp
 * and tcp6 rows in LISTEN state), as "ip:port" (IPv4 dotted, IPv6 as 32 hex digits).
 */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const out: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
      const [hexIp, hexPort] = f[1].split(':');
      const ip = hexIp.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hexIp.slice(i * 2, i * 2 + 2), 16)).join('.') : hexIp;
      out.push(`${ip}:${parseInt(hexPort, 16)}`);
    }
  }
  return out;
}

export interface Prometheus {
  url: string;
  dir: string;
  pid: number;
  /** Instant query: the samples of the result vector. */
  query(promql: string): Promise<PromSample[]>;
  /** Waits until `promql` gives exactly one sample equal to `expected` (scrapes run every second). */
  expectValue(promql: string, expected: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/**
 * A real Prometheus in a temporary directory (its configuration, TSDB and working directory),
 * listening on 127.0.0.1 only, scraping `target` (host:port) every second. Killed by stop().
 */
export async function startPrometheus(target: string): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: inventory-gateway\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // Never left behind, even if the test process dies before stop().
  const killOnExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    if (!(await within(exited, 10_000))) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      await exited;
    }
    process.removeListener('exit', killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${out}`);
        const r = await fetch(`${url}/-/ready`).catch(() => null);
        return r?.ok ? true : undefined;
      },
      60_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const query = async (promql: string): Promise<PromSample[]> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as {
      status: string;
      error?: string;
      data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
    if (body.data.resultType !== 'vector') throw new Error(`PromQL ${promql}: not a vector`);
    return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
  };
  return {
    url,
    dir,
    pid: child.pid!,
    query,
    async expectValue(promql, expected, timeoutMs = 30_000) {
      let last: PromSample[] = [];
      try {
        await until(
          `${promql} == ${expected}`,
          async () => {
            last = await query(promql);
            return last.length === 1 && last[0].value === expected ? true : undefined;
          },
          timeoutMs,
          250,
        );
      } catch {
        throw new Error(`${promql}: expected ${expected}, Prometheus has ${JSON.stringify(last)}`);
      }
    },
    stop,
    log: () => out,
  };
}

/** One span as the OTLP/HTTP JSON body carries it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  service: string;
}

export interface OtlpReceiver {
  endpoint: string;
  spans: OtlpSpan[];
  /** Every request body received, as sent (for checks on what is exported at all). */
  bodies: string[];
  close(): Promise<void>;
}

const attrValue = (v: Record<string, unknown>): unknown => {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(attrValue);
  return v;
};
const attrs = (list: { key: string; value: Record<string, unknown> }[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, attrValue(a.value)]));

/** A loopback OTLP/HTTP receiver (JSON bodies on /v1/traces). */
export async function otlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !/json/.test(req.headers['content-type'] ?? '')) {
        res.writeHead(415).end();
        return;
      }
      bodies.push(body);
      const parsed = JSON.parse(body) as {
        resourceSpans?: { resource?: { attributes?: [] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
      };
      for (const rs of parsed.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              parentSpanId: s.parentSpanId ? String(s.parentSpanId) : undefined,
              name: String(s.name),
              kind: Number(s.kind),
              attributes: attrs(s.attributes as { key: string; value: Record<string, unknown> }[]),
              service,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    spans,
    bodies,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * This process's inventory_batched_requests_total for a group-committed statement (the reservation
 * or the adjustment batch): requests it served, and those it left to the general path (in-process
 * gateways).
 */
export async function batchOutcomes(batch: 'reserve' | 'adjust'): Promise<{ served: number; generalPath: number }> {
  const v = (await metrics.batched.get()).values.filter((x) => x.labels.batch === batch);
  const of = (o: string) => v.filter((x) => x.labels.outcome === o).reduce((a, x) => a + x.value, 0);
  return { served: of('served'), generalPath: of('general_path') };
}
