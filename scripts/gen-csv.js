#!/usr/bin/env node
/**
 * Generates a stock CSV for `npm run import` (tests, benchmarks), and optionally creates the
 * store, warehouses and variants it refers to.
 *
 *   node scripts/gen-csv.js --out FILE [--rows 100000] [--mode set|adjust] [--warehouses 4]
 *        [--prefix BENCH] [--store bench] [--setup]
 *
 * Rows cycle over the warehouses first, then the SKUs (<prefix>-000001 …), so every
 * (sku, warehouse) pair appears once as long as rows ≤ skus × warehouses. Mode set writes
 * sku,warehouse,quantity with quantities 1..997; mode adjust writes sku,warehouse,delta with
 * deltas 1..20 (never negative, so a valid file never fails). Everything is deterministic.
 * A JSON line with the expected totals goes to stdout.
 *
 * --setup opens the configured database (DATABASE_URL, or PGlite under DATA_DIR) through the
 * compiled gateway (run `npm run build` first), applies migrations and creates store --store with
 * warehouses <prefix>-W1… and products of 100 variants each (skipped when they already exist).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { once } = require('node:events');
const { parseArgs: nodeParseArgs } = require('node:util');

function parseArgs(argv) {
  const defaults = { rows: '100000', mode: 'set', warehouses: '4', prefix: 'BENCH', store: 'bench', out: null, skus: undefined };
  const options = { setup: { type: 'boolean', default: false } };
  for (const name of Object.keys(defaults)) options[name] = { type: 'string' };
  let values;
  try {
    ({ values } = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`unexpected argument: ${e.message}`, { cause: e });
  }
  const o = { ...defaults, ...values };
  o.rows = Number(o.rows);
  o.warehouses = Number(o.warehouses);
  if (!Number.isInteger(o.rows) || o.rows < 1) throw new Error('--rows must be a positive integer');
  if (!Number.isInteger(o.warehouses) || o.warehouses < 1) throw new Error('--warehouses must be a positive integer');
  if (o.mode !== 'set' && o.mode !== 'adjust') throw new Error('--mode must be set or adjust');
  o.skus = o.skus !== undefined ? Number(o.skus) : Math.ceil(o.rows / o.warehouses);
  return o;
}

const skuOf = (prefix, n) => `${prefix}-${String(n + 1).padStart(6, '0')}`;
const warehouseOf = (prefix, n) => `${prefix}-W${n + 1}`;
const valueOf = (mode, i) => (mode === 'set' ? 1 + ((i * 7919) % 997) : 1 + ((i * 31) % 20));

/** Writes the CSV; resolves with the expected totals. */
async function generate(o) {
  const out = fs.createWriteStream(o.out);
  const total = { file: path.resolve(o.out), rows: o.rows, mode: o.mode, skus: o.skus, warehouses: o.warehouses, sum: 0, pairs: 0 };
  const pairs = new Set();
  let buf = `sku,warehouse,${o.mode === 'set' ? 'quantity' : 'delta'}\n`;
  for (let i = 0; i < o.rows; i++) {
    const w = i % o.warehouses;
    const s = Math.floor(i / o.warehouses) % o.skus;
    const v = valueOf(o.mode, i);
    buf += `${skuOf(o.prefix, s)},${warehouseOf(o.prefix, w)},${v}\n`;
    total.sum += v;
    if (o.rows <= 1_000_000) pairs.add(s * o.warehouses + w);
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  total.pairs = pairs.size;
  return total;
}

/** Creates the store, warehouses and variants the generated file refers to. */
async function setup(o) {
  const dist = path.resolve(__dirname, '..', 'dist', 'src');
  if (!fs.existsSync(path.join(dist, 'cli', 'common.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const { withApp } = require(path.join(dist, 'cli', 'common.js'));
  const catalog = require(path.join(dist, 'modules', 'catalog', 'catalog.service.js'));
  await withApp(async (app) => {
    const prisma = app.db.prisma;
    const store =
      (await prisma.store.findUnique({ where: { code: o.store } })) ??
      (await prisma.store.create({ data: { code: o.store, name: `Store ${o.store}` } }));
    for (let w = 0; w < o.warehouses; w++) {
      const code = warehouseOf(o.prefix, w);
      if (await prisma.warehouse.findFirst({ where: { storeId: store.id, code } })) continue;
      const r = await catalog.createWarehouse(prisma, store.id, { code, name: `Warehouse ${code}` });
      if (!r.value) throw new Error(JSON.stringify(r.userErrors));
    }
    const PER = 100;
    for (let p = 0; p * PER < o.skus; p++) {
      const externalId = `${o.prefix}-P${String(p + 1).padStart(5, '0')}`;
      if (await prisma.product.findFirst({ where: { storeId: store.id, externalId } })) continue;
      const variants = [];
      for (let s = p * PER; s < Math.min(o.skus, (p + 1) * PER); s++) variants.push({ sku: skuOf(o.prefix, s), label: `V${s + 1}` });
      const r = await catalog.createProduct(prisma, store.id, { name: `Product ${externalId}`, externalId, variants });
      if (!r.value) throw new Error(JSON.stringify(r.userErrors));
    }
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!o.out) throw new Error('--out FILE is required');
  if (o.setup) await setup(o);
  const total = await generate(o);
  process.stdout.write(JSON.stringify(total) + '\n');
}

module.exports = { generate, setup, parseArgs, skuOf, warehouseOf };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
