/**
 * `npm run bench:vendure` — the gateway beside a real peer, Vendure 3's Admin API, on this machine in
 * one run: the same stock adjustment, the same 50-item stock read and the same "sell 1 of 50 to
 * 400 concurrent buyers" trial, with ops/s, latency, CPU per operation and RSS of each server.
 * Writes bench/PEER-VENDURE.md. Not part of `npm test`; Vendure is never a dependency of this
 * package: it is installed at run time into a scratch directory (default <tmpdir>/inventory-peer-vendure,
 * reused when it already holds the pinned version).
 *
 * Options: --duration S (5)  --windows N (3)  --warmup S (2)  --concurrency 1,16  --products N (1000)
 *          --sell-clients N (400)  --sell-stock N (50)  --sell-trials N (3)  --vendure-version V (3.7.3)
 *          --vendure-dir DIR  --out FILE (bench/PEER-VENDURE.md)  --keep-db
 * Smoke: npm run bench:vendure -- --duration 1 --windows 1 --warmup 0 --products 50 --sell-trials 1 --out dist/bench/PEER-VENDURE.smoke.md
 *
 * DATABASE_URL names the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/postgres); two fresh
 * databases are created on it (inv_bench_<ts> for the gateway, inv_peer_vendure_<ts> for Vendure) and dropped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchDatabase, DEFAULT_ADMIN_URL, ROOT, seed, serverVersion, skuOf, type BenchDatabase, type Dataset } from '../lib/db';
import { startGateway, startNode, type Server } from '../lib/proc';
import { rssMb, sleep } from '../lib/util';
import { adjustBody } from '../scenarios/adjust';
import { reserveBody } from '../scenarios/reserve';
import { ensureVendure } from './install';
import { measurePair, sellTrial, type Figure, type SellTrial, type Target } from './measure';
import { OUR_READ_BODY, report, type PeerResults } from './vendure-report';
import { VENDURE_READ_BODY, VendureAdmin, vendureAdjustBody, vendureSellOne } from './vendure-client';

const { values: a } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    windows: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,16' },
    products: { type: 'string', default: '1000' },
    'sell-clients': { type: 'string', default: '400' },
    'sell-stock': { type: 'string', default: '50' },
    'sell-trials': { type: 'string', default: '3' },
    'vendure-version': { type: 'string', default: '3.7.3' },
    'vendure-dir': { type: 'string', default: path.join(os.tmpdir(), 'inventory-peer-vendure') },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'PEER-VENDURE.md') },
    'keep-db': { type: 'boolean', default: false },
  },
});
const opts = {
  durationS: Number(a.duration),
  windows: Number(a.windows),
  warmupS: Number(a.warmup),
  concurrency: a.concurrency!.split(',').map(Number),
  products: Number(a.products),
  sellClients: Number(a['sell-clients']),
  sellStock: Number(a['sell-stock']),
  sellTrials: Number(a['sell-trials']),
  vendureVersion: a['vendure-version']!,
  vendureDir: path.resolve(a['vendure-dir']!),
  out: path.resolve(a.out!),
  keepDb: a['keep-db']!,
};
const SELL_SKU = 'HOT-1';
const VENDURE_PASSWORD = 'bench-superadmin';
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

const servers: Server[] = [];
const dbs: BenchDatabase[] = [];
async function cleanup(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop(5_000).catch(() => undefined)));
  if (!opts.keepDb) for (const d of dbs) await d.drop().catch(() => undefined);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`interrupted (${sig}): stopping servers, dropping ${dbs.map((d) => d.name).join(', ') || 'nothing'}`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ data?: Record<string, unknown>; errors?: unknown }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
}

/** Both answer the read with the same 50 SKUs (checked before measuring). */
async function checkReads(gw: Target, vd: Target): Promise<string[]> {
  const g = await post(gw.server.url, gw.headers(), OUR_READ_BODY);
  const v = await post(vd.server.url, vd.headers(), VENDURE_READ_BODY);
  if (g.errors || v.errors) throw new Error(`read failed: ${JSON.stringify(g.errors ?? v.errors).slice(0, 500)}`);
  const gs = (g.data!.inventoryLevels as { edges: { node: { variant: { sku: string } } }[] }).edges.map((e) => e.node.variant.sku);
  const vs = (v.data!.productVariants as { items: { sku: string }[] }).items.map((i) => i.sku);
  if ([...gs].sort().join() !== [...vs].sort().join())
    log(`warning: the two reads return different SKUs: ${gs.slice(0, 3).join()}… vs ${vs.slice(0, 3).join()}…`);
  return gs;
}

async function sellOurs(gw: Target, dbUrl: string, data: Dataset): Promise<SellTrial> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const level = async () =>
    (
      await c.query<{ on_hand: number; reserved: number }>(`SELECT on_hand, reserved FROM inventory_levels WHERE id = $1`, [
        data.hot.levelId,
      ])
    ).rows[0];
  let reservedBefore = 0;
  const body = reserveBody(SELL_SKU, data.warehouseCode);
  try {
    return await sellTrial(
      opts.sellStock,
      opts.sellClients,
      async () => {
        reservedBefore = (await level()).reserved;
        const set = JSON.stringify({
          query: `mutation($i: InventorySetInput!) { inventorySet(input: $i) { userErrors { code message } } }`,
          variables: {
            i: { sku: SELL_SKU, warehouseCode: data.warehouseCode, quantity: reservedBefore + opts.sellStock, reason: 'CORRECTION' },
          },
        });
        const r = await post(gw.server.url, gw.headers(), set);
        if (r.errors || JSON.stringify(r.data).includes('"code"'))
          throw new Error(`inventorySet failed: ${JSON.stringify(r).slice(0, 300)}`);
      },
      async () => {
        const r = await post(gw.server.url, gw.headers(), body);
        const p = r.data?.inventoryReserve as { reservation: unknown; userErrors: unknown[] } | undefined;
        if (!p) throw new Error(JSON.stringify(r.errors).slice(0, 300));
        return p.reservation && p.userErrors.length === 0 ? 'sold' : 'refused';
      },
      async () => {
        const l = await level();
        return { taken: l.reserved - reservedBefore, left: l.on_hand - l.reserved };
      },
    );
  } finally {
    await c.end();
  }
}

function sellVendure(v: VendureAdmin, variantId: string): Promise<SellTrial> {
  return sellTrial(
    opts.sellStock,
    opts.sellClients,
    () => v.setStockOnHand(variantId, opts.sellStock),
    async () => ((await vendureSellOne(v, variantId)) ? 'sold' : 'refused'),
    async () => {
      const s = await v.stockOnHand(variantId);
      return { taken: opts.sellStock - s.stockOnHand, left: s.stockOnHand - s.stockAllocated };
    },
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const installed = ensureVendure(opts.vendureDir, opts.vendureVersion, log);
  const adminUrl = process.env.DATABASE_URL ?? DEFAULT_ADMIN_URL;
  const pgVersion = await serverVersion(adminUrl);
  const loadAtStart = os.loadavg();

  const ours = await createBenchDatabase(adminUrl);
  dbs.push(ours);
  const theirs = await createBenchDatabase(adminUrl, 'inv_peer_vendure');
  dbs.push(theirs);
  log(`gateway database ${ours.name}: seeding ${opts.products} products + ${SELL_SKU}`);
  const data = await seed(ours.url, opts.products);
  // Both servers in production mode (the gateway's bench default is development, for its x-sql-statements header).
  const gateway = await startGateway({ databaseUrl: ours.url, extraEnv: { NODE_ENV: 'production' } });
  servers.push(gateway);
  log(`vendure database ${theirs.name}: bootstrapping Vendure ${installed.version} (synchronize: true)`);
  const t0 = Date.now();
  const vendure = await startNode(
    path.join(ROOT, 'dist', 'bench', 'peer', 'vendure-server.js'),
    {
      VENDURE_DIR: opts.vendureDir,
      VENDURE_DB: theirs.name,
      VENDURE_PG_URL: adminUrl,
      VENDURE_SUPERADMIN_PASSWORD: VENDURE_PASSWORD,
      NODE_ENV: 'production',
    },
    { readyPath: '/health', timeoutMs: 300_000 },
  );
  servers.push(vendure);
  const bootS = (Date.now() - t0) / 1000;
  const admin = new VendureAdmin(`${vendure.url.replace(/\/graphql$/, '')}/admin-api`);
  await admin.login(VENDURE_PASSWORD);
  await admin.setupTax();
  const t1 = Date.now();
  const skus = [...Array.from({ length: opts.products }, (_, i) => skuOf(i)), SELL_SKU];
  const ids = await admin.createProducts(skus, (s) => (s === SELL_SKU ? opts.sellStock : 1_000_000));
  const seedS = (Date.now() - t1) / 1000;
  log(`vendure: booted in ${bootS.toFixed(1)} s, ${skus.length} products seeded through the Admin API in ${seedS.toFixed(1)} s`);
  const variants = ids.slice(0, opts.products);
  const sellVariant = ids[opts.products];

  const gw: Target = { name: 'gateway', server: gateway, dbName: ours.name, headers: () => ({ authorization: `Bearer ${data.key}` }) };
  const vd: Target = { name: 'vendure', server: { ...vendure, url: admin.url }, dbName: theirs.name, headers: () => admin.headers() };
  const readSkus = await checkReads(gw, vd);
  // Prime both (JIT, lazy initialisation, pool connections), then idle RSS.
  for (let i = 0; i < 20; i++) {
    await post(gw.server.url, gw.headers(), OUR_READ_BODY);
    await post(vd.server.url, vd.headers(), VENDURE_READ_BODY);
  }
  await sleep(2000);
  const rssIdle = { gateway: rssMb(gateway.pid), vendure: rssMb(vendure.pid) };
  log(`RSS idle: gateway ${rssIdle.gateway.toFixed(0)} MB, vendure ${rssIdle.vendure.toFixed(0)} MB`);

  // Vendure sets stockOnHand absolutely: the client keeps each variant's count and sends count + 1.
  const counts = new Map(variants.map((id) => [id, 1_000_000]));
  const pickIndex = () => Math.floor(Math.random() * opts.products);
  const figures: PeerResults['figures'] = [];
  for (const c of opts.concurrency) {
    const spec = { concurrency: c, windows: opts.windows, durationS: opts.durationS, warmupS: opts.warmupS };
    const adjust = await measurePair(
      [gw, vd],
      {
        ...spec,
        label: 'adjust',
        body: {
          gateway: () => adjustBody(skuOf(pickIndex()), data.warehouseCode),
          vendure: () => {
            const id = variants[pickIndex()];
            const n = counts.get(id)! + 1;
            counts.set(id, n);
            return vendureAdjustBody(id, n);
          },
        },
      },
      log,
    );
    figures.push({ scenario: 'adjust', concurrency: c, ...adjust });
  }
  for (const c of opts.concurrency) {
    const spec = { concurrency: c, windows: opts.windows, durationS: opts.durationS, warmupS: opts.warmupS };
    const read = await measurePair([gw, vd], { ...spec, label: 'read', body: { gateway: OUR_READ_BODY, vendure: VENDURE_READ_BODY } }, log);
    figures.push({ scenario: 'read', concurrency: c, ...read });
  }
  const sells: PeerResults['sells'] = { gateway: [], vendure: [] };
  for (let t = 0; t < opts.sellTrials; t++) {
    const g = await sellOurs(gw, ours.url, data);
    const v = await sellVendure(admin, sellVariant);
    sells.gateway.push(g);
    sells.vendure.push(v);
    log(
      `  sell trial ${t + 1}: gateway sold ${g.sold} (recorded ${g.recordedTaken}, left ${g.leftAfter}, ${g.errors} errors) | vendure sold ${v.sold} (recorded ${v.recordedTaken}, left ${v.leftAfter}, ${v.errors} errors)`,
    );
  }
  const md = report({
    opts,
    started,
    finished: new Date(),
    machine: { pgVersion, loadAtStart },
    vendure: { version: installed.version, dir: opts.vendureDir, bootS, seedS, node: process.version },
    rssIdle,
    readSkus,
    figures,
    sells,
  });
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, md);
  log(`wrote ${path.relative(process.cwd(), opts.out)}`);
  for (const f of figures) logFigure(f.scenario, f.concurrency, f.gateway, f.vendure);
}

function logFigure(scenario: string, c: number, g: Figure, v: Figure): void {
  log(`${scenario} @ ${c}: gateway ${g.ops.toFixed(0)}/s vs vendure ${v.ops.toFixed(0)}/s (${(g.ops / v.ops).toFixed(2)}×)`);
}

main()
  .then(cleanup, async (e: unknown) => {
    log(`failed: ${(e as Error)?.stack ?? String(e)}`);
    for (const s of servers) log(`--- output of pid ${s.pid}:\n${s.output().slice(-3000)}`);
    await cleanup();
    process.exitCode = 1;
  })
  .catch(() => (process.exitCode = 1));
