/**
 * `npm run bench -- --otel` — the cost of tracing: the same read and adjust workload against two
 * gateways on one database in the same run, one without tracing (the SDK not loaded) and one with
 * OpenTelemetry on (OTEL_EXPORTER_OTLP_ENDPOINT, every request sampled: parentbased_always_on,
 * default batching), exporting to a local OTLP/HTTP sink in this process that reads and counts
 * what it receives. Windows alternate between the two gateways, run after run, so both see the
 * same machine. Writes its section into bench/RESULTS.md between `otel` markers inside the kept
 * notes (a full `npm run bench` keeps it; this run changes nothing else in the file).
 *
 *   npm run bench -- --otel [--runs N] [--duration S] [--warmup S] [--levels N] [--quick] [--out FILE]
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBenchDatabase, DEFAULT_ADMIN_URL, ROOT, seed, serverVersion, skuOf } from './lib/db';
import { httpLoad, type LoadResult } from './lib/load';
import { startGateway, type Server } from './lib/proc';
import { cpuSeconds, median, sleep } from './lib/util';
import { READ_BODY } from './scenarios/read';
import { parseArgs } from './run';

const ADJUST = `mutation Adjust($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { inventoryLevel { onHand available } userErrors { code } } }`;

/** A local OTLP/HTTP endpoint: reads each export and counts its spans. */
async function otlpSink(): Promise<{ endpoint: string; spans: () => number; close(): Promise<void> }> {
  let spans = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      spans += (body.match(/"spanId"/g) ?? []).length;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    spans: () => spans,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Side {
  ops: number[];
  p50: number[];
  p99: number[];
  /** Gateway CPU milliseconds per request (user + system): robust on a busy machine, where throughput is not. */
  cpuMs: number[];
}

const OTEL_START = '<!-- otel:start (written by `npm run bench -- --otel`) -->';
const OTEL_END = '<!-- otel:end -->';
const NOTES_END = '<!-- notes:end -->';

export async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  const started = new Date();
  const log = (line: string) =>
    process.stdout.write(`[bench otel ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const adminUrl = process.env.DATABASE_URL || DEFAULT_ADMIN_URL;
  const pgVersion = await serverVersion(adminUrl);
  const db = await createBenchDatabase(adminUrl);
  const servers: Server[] = [];
  const sink = await otlpSink();
  const out = opts.out;
  try {
    const levels = Math.min(opts.levels, opts.quick ? 600 : 2000);
    log(`database ${db.name}: seeding ${levels} levels`);
    const data = await seed(db.url, levels);
    const plain = await startGateway({ databaseUrl: db.url, poolSize: opts.poolSize ?? undefined });
    servers.push(plain);
    const traced = await startGateway({
      databaseUrl: db.url,
      poolSize: opts.poolSize ?? undefined,
      extraEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_SERVICE_NAME: 'inventory-gateway-bench' },
    });
    servers.push(traced);
    const headers = { authorization: `Bearer ${data.key}` };
    let n = 0;
    // Adjusts spread over the levels, +1 then −1, so stock stays where it was.
    const adjustBody = () => {
      n++;
      return JSON.stringify({
        query: ADJUST,
        variables: { i: { sku: skuOf(n % levels), warehouseCode: data.warehouseCode, delta: (n >> 1) % 2 ? -1 : 1, reason: 'CORRECTION' } },
      });
    };
    const workloads: { name: string; body: string | (() => string); connections: number }[] = [
      { name: 'read inventoryLevels(first: 50) nested', body: READ_BODY, connections: 16 },
      { name: 'inventoryAdjust (spread levels)', body: adjustBody, connections: 16 },
    ];
    const results: { name: string; connections: number; off: Side; on: Side }[] = [];
    for (const w of workloads) {
      const off: Side = { ops: [], p50: [], p99: [], cpuMs: [] };
      const on: Side = { ops: [], p50: [], p99: [], cpuMs: [] };
      for (const gw of [plain, traced])
        await httpLoad({ url: gw.url, connections: w.connections, durationS: opts.warmupS, headers, body: w.body });
      for (let run = 0; run < opts.runs; run++) {
        // Alternate which gateway goes first.
        const order: [Server, Side][] =
          run % 2
            ? [
                [traced, on],
                [plain, off],
              ]
            : [
                [plain, off],
                [traced, on],
              ];
        for (const [gw, side] of order) {
          const cpu0 = cpuSeconds(gw.pid);
          const r: LoadResult = await httpLoad({
            url: gw.url,
            connections: w.connections,
            durationS: opts.durationS,
            headers,
            body: w.body,
          });
          if (r.failed > 0) throw new Error(`${w.name}: ${r.failed} failed requests (${r.sampleFailure})`);
          side.cpuMs.push(((cpuSeconds(gw.pid) - cpu0) * 1000) / Math.max(1, r.ok));
          side.ops.push(r.ops);
          side.p50.push(r.p50);
          side.p99.push(r.p99);
        }
        log(
          `${w.name} run ${run + 1}: off ${off.ops[run].toFixed(0)} req/s ${off.cpuMs[run].toFixed(2)} CPU ms/req, on ${on.ops[run].toFixed(0)} req/s ${on.cpuMs[run].toFixed(2)} CPU ms/req`,
        );
      }
      results.push({ name: w.name, connections: w.connections, off, on });
    }
    await sleep(1500); // the traced gateway's last batch
    const spans = sink.spans();
    const finished = new Date();

    const pct = (on: number, off: number) => `${((on / off - 1) * 100).toFixed(1)} %`;
    const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: x < 10 ? 2 : 0 });
    const L: string[] = [];
    L.push(OTEL_START);
    L.push('');
    L.push('### Tracing overhead');
    L.push('');
    L.push(
      `\`npm run bench -- --otel${argv.length ? ` ${argv.join(' ')}` : ''}\` on ${started.toISOString()} (took ${Math.round((finished.getTime() - started.getTime()) / 1000)} s): ` +
        `two gateways on one database (${levels.toLocaleString('en-US')} levels), one without tracing (SDK not loaded) and one with ` +
        '`OTEL_EXPORTER_OTLP_ENDPOINT` set (every request sampled, default batching, OTLP/HTTP JSON to a local sink that reads every export); ' +
        `${opts.runs} alternating windows of ${opts.durationS} s per workload after ${opts.warmupS} s of warm-up each, medians. ` +
        `${os.cpus().length} cores (${os.loadavg()[0].toFixed(2)} load at the end), ${pgVersion}.`,
    );
    L.push('');
    L.push(
      '| workload | clients | gateway CPU ms/req off | on | CPU change | throughput off | on | change | p50 off / on ms | p99 off / on ms |',
    );
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const [a, b] = [median(r.off.ops), median(r.on.ops)];
      const [ca, cb] = [median(r.off.cpuMs), median(r.on.cpuMs)];
      L.push(
        `| ${r.name} | ${r.connections} | ${ca.toFixed(2)} | ${cb.toFixed(2)} | ${pct(cb, ca)} | ${fmt(a)} req/s | ${fmt(b)} req/s | ${pct(b, a)} | ` +
          `${fmt(median(r.off.p50))} / ${fmt(median(r.on.p50))} | ${fmt(median(r.off.p99))} / ${fmt(median(r.on.p99))} |`,
      );
    }
    L.push('');
    L.push(
      `Runs (off / on): ${results.map((r) => `${r.name}: ${r.off.ops.map(fmt).join(', ')} / ${r.on.ops.map(fmt).join(', ')} req/s, ${r.off.cpuMs.map((x) => x.toFixed(2)).join(', ')} / ${r.on.cpuMs.map((x) => x.toFixed(2)).join(', ')} CPU ms/req`).join('; ')}. ` +
        `The sink received ${spans.toLocaleString('en-US')} spans. With tracing off the gateway does not load the SDK: its only cost is a null check where spans would start.`,
    );
    L.push('');
    L.push(OTEL_END);
    const section = L.join('\n');
    process.stdout.write(`\n${section}\n\n`);

    let doc = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '# Benchmark results\n';
    const a = doc.indexOf(OTEL_START);
    const b = doc.indexOf(OTEL_END);
    if (a >= 0 && b > a) doc = doc.slice(0, a) + section + doc.slice(b + OTEL_END.length);
    else if (doc.includes(NOTES_END)) doc = doc.replace(NOTES_END, `${section}\n\n${NOTES_END}`);
    else doc = `${doc.trimEnd()}\n\n${section}\n`;
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, doc);
    log(`wrote ${path.relative(ROOT, out)}`);
    return 0;
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    await sink.close();
    await db.drop().catch(() => undefined);
  }
}
