/**
 * CSV import and export (src/modules/csv, `npm run import` / `npm run export`) against a real
 * database: the services in-process first, then the compiled CLIs as processes on the same data.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { createLogger } from '../../src/log';
import type { AuthInfo } from '../../src/graphql/scopes';
import { createProduct, createWarehouse } from '../../src/modules/catalog/catalog.service';
import { exportCsv, EXPORT_COLUMNS } from '../../src/modules/csv/csv-export.service';
import { CsvImportError, importCsv, type ImportOptions } from '../../src/modules/csv/csv-import.service';
import { InventoryService } from '../../src/modules/inventory/inventory.service';
import { ReservationService } from '../../src/modules/reservations/reservation.service';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/db';
import { withMigratedDatabase } from '../helpers/pglite-template';
import { checkInvariants } from '../helpers/invariants';
import { runCli } from '../helpers/process';
import { ALL_EVENTS } from '../helpers/events';

const gen = require('../../scripts/gen-csv.js') as {
  generate(o: {
    out: string;
    rows: number;
    mode: 'set' | 'adjust';
    warehouses: number;
    skus: number;
    prefix: string;
  }): Promise<{ sum: number; pairs: number }>;
  skuOf(prefix: string, n: number): string;
  warehouseOf(prefix: string, n: number): string;
};

jest.setTimeout(120_000);

// Embedded PGlite runs the same statements several times slower than PostgreSQL: a smaller file
// keeps this suite within its time budget there.
const ROWS = usingPostgres ? 5000 : 2000;
const WAREHOUSES = 2;
const SKUS = ROWS / WAREHOUSES;
const PREFIX = 'CSVT';
const W1 = gen.warehouseOf(PREFIX, 0);
const W2 = gen.warehouseOf(PREFIX, 1);
const RO = 'CSVT-RO';
const sku = (n: number) => gen.skuOf(PREFIX, n);

let tdb: TestDatabase;
let dir: string;
let app: App | null;
let storeId: string;
let auth: AuthInfo;
const STORE = 'csvtest';

function openApp(): Promise<App> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: path.join(dir, 'data'),
    SEED_DEMO: 'never',
    LOG_LEVEL: 'error',
    ...(tdb.url ? { DATABASE_URL: tdb.url } : {}),
  });
  const log = createLogger('error');
  return openDatabase(config, log).then(async (db) => {
    await migrate(db.connection, log);
    return { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries } };
  });
}

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = [storeId]) =>
  (await app!.db.pool.query(sql, params)).rows as T[];
const one = async (sql: string, params?: unknown[]) => Number(Object.values((await q(sql, params))[0])[0]);
const onHandSum = () => one('SELECT coalesce(sum(on_hand), 0) FROM inventory_levels WHERE store_id = $1');
const ledgerCount = () => one('SELECT count(*) FROM stock_movements WHERE store_id = $1');
const levelOf = async (s: string, w: string) =>
  (
    await q<{ on_hand: number; reserved: number; version: number }>(
      `SELECT l.on_hand, l.reserved, l.version FROM inventory_levels l JOIN variants v ON v.id = l.variant_id JOIN warehouses w ON w.id = l.warehouse_id
        WHERE l.store_id = $1 AND v.sku = $2 AND w.code = $3`,
      [storeId, s, w],
    )
  )[0];

/** A writable that keeps what is written (the errors CSV, an export). */
function sink() {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

let imports = 0;
async function run(csv: string | { file: string }, opts: Partial<ImportOptions> = {}) {
  const errors = sink();
  const input = typeof csv === 'string' ? Readable.from([csv]) : fs.createReadStream(csv.file);
  const summary = await importCsv(app!, { auth, input, seed: `seed-${++imports}`, errors: errors.stream, ...opts });
  const errorRows = parse(errors.text(), { columns: true, relax_column_count: true }) as Record<string, string>[];
  return { summary, errorRows };
}

beforeAll(async () => {
  tdb = await createTestDatabase({ migrated: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-csv-'));
  await withMigratedDatabase(path.join(dir, 'data'));
  app = await openApp();
  const store = await app.db.prisma.store.create({ data: { code: STORE, name: 'CSV test store' } });
  storeId = store.id;
  auth = { keyId: 'test', storeId, kind: 'sk', scopes: ['admin'], actor: 'test:csv' };
  for (const code of [W1, W2]) await createWarehouse(app.db.prisma, storeId, { code, name: code });
  await createWarehouse(app.db.prisma, storeId, { code: RO, name: 'Read-only', type: 'FBA' });
  for (let p = 0; p * 100 < SKUS; p++) {
    const variants = [];
    for (let s = p * 100; s < Math.min(SKUS, (p + 1) * 100); s++) variants.push({ sku: sku(s), label: `V${s + 1}` });
    const r = await createProduct(app.db.prisma, storeId, { name: `Product ${p + 1}`, externalId: `CSVT-P${p + 1}`, variants });
    expect(r.userErrors).toEqual([]);
  }
});

afterAll(async () => {
  await app?.db.close();
  await tdb?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('import (in-process)', () => {
  let big: { file: string; sum: number };
  let bigSeed: string;

  test(`a ${ROWS}-row set file is applied through the bulk path with correct totals`, async () => {
    const file = path.join(dir, 'big.csv');
    const t = await gen.generate({ out: file, rows: ROWS, mode: 'set', warehouses: WAREHOUSES, skus: SKUS, prefix: PREFIX });
    expect(t.pairs).toBe(ROWS);
    big = { file, sum: t.sum };
    bigSeed = 'big-file';
    const seen: number[] = [];
    const { summary, errorRows } = await run({ file }, { seed: bigSeed, onProgress: (p) => seen.push(p.rows) });
    expect(summary).toMatchObject({
      mode: 'set',
      rows: ROWS,
      applied: ROWS,
      alreadyApplied: 0,
      failed: 0,
      batches: ROWS / 500,
      replayedBatches: 0,
      dryRun: false,
    });
    expect(summary.bytes).toBe(fs.statSync(file).size);
    expect(seen.length).toBeGreaterThanOrEqual(ROWS / 500);
    expect(errorRows).toEqual([]);
    expect(await one('SELECT count(*) FROM inventory_levels WHERE store_id = $1')).toBe(ROWS);
    expect(await onHandSum()).toBe(t.sum);
    expect(await ledgerCount()).toBe(ROWS);
    // Spot checks against the generator's formula (quantity of row i = 1 + (i·7919 mod 997)).
    for (const i of [0, 1, ROWS - 1])
      expect((await levelOf(sku(Math.floor(i / WAREHOUSES)), gen.warehouseOf(PREFIX, i % WAREHOUSES))).on_hand).toBe(
        1 + ((i * 7919) % 997),
      );
    // Each batch went in with its own idempotency key, and the ledger matches the counters.
    expect(await one(`SELECT count(*) FROM idempotency_keys WHERE store_id = $1 AND key LIKE 'big-file:%'`)).toBe(ROWS / 500);
    const inv = await checkInvariants(app!, storeId);
    expect(inv.ledger).toEqual([]);
  });

  test('re-running the same file with the same seed applies nothing twice', async () => {
    const ledger = await ledgerCount();
    const { summary } = await run({ file: big.file }, { seed: bigSeed });
    expect(summary).toMatchObject({ rows: ROWS, applied: 0, alreadyApplied: ROWS, failed: 0, replayedBatches: ROWS / 500 });
    expect(await ledgerCount()).toBe(ledger);
    expect(await onHandSum()).toBe(big.sum);

    // An adjust file is not idempotent by nature: only the seed protects it.
    const adj = `sku,warehouse,delta\n${sku(0)},${W1},+5\n${sku(1)},${W2},-1\n`;
    const before = [(await levelOf(sku(0), W1)).on_hand, (await levelOf(sku(1), W2)).on_hand];
    expect((await run(adj, { seed: 'adj-once' })).summary).toMatchObject({ mode: 'adjust', applied: 2, alreadyApplied: 0 });
    expect((await run(adj, { seed: 'adj-once' })).summary).toMatchObject({ applied: 0, alreadyApplied: 2 });
    expect([(await levelOf(sku(0), W1)).on_hand, (await levelOf(sku(1), W2)).on_hand]).toEqual([before[0] + 5, before[1] - 1]);
    // The same seed for different rows is refused rather than guessed at.
    const other = await run(`sku,warehouse,delta\n${sku(0)},${W1},7\n`, { seed: 'adj-once' });
    expect(other.summary).toMatchObject({ applied: 0, failed: 1 });
    expect(other.errorRows[0]).toMatchObject({ line: '2', error_code: 'IDEMPOTENCY_KEY_REUSED', sku: sku(0) });
    expect((await levelOf(sku(0), W1)).on_hand).toBe(before[0] + 5);
  });

  test('an adjust file moves every level by its delta; externalId + label address variants too', async () => {
    const sumBefore = await onHandSum();
    const file = path.join(dir, 'adjust.csv');
    const t = await gen.generate({ out: file, rows: 600, mode: 'adjust', warehouses: WAREHOUSES, skus: SKUS, prefix: PREFIX });
    const { summary } = await run({ file });
    expect(summary).toMatchObject({ mode: 'adjust', rows: 600, applied: 600, failed: 0, batches: 2 });
    expect(await onHandSum()).toBe(sumBefore + t.sum);

    const s2 = (await levelOf(sku(2), W1)).on_hand;
    const csv = 'externalId,label,warehouse,delta,reason,note\nCSVT-P1,V3,CSVT-W1,4,received,po 17\nCSVT-P1,nope,CSVT-W1,4,,\n';
    const r = await run(csv);
    expect(r.summary).toMatchObject({ applied: 1, failed: 1 });
    expect(r.errorRows[0]).toMatchObject({ line: '3', error_code: 'VARIANT_NOT_FOUND' });
    expect((await levelOf(sku(2), W1)).on_hand).toBe(s2 + 4);
    const [m] = await q<{ reason: string; note: string; actor: string }>(
      `SELECT m.reason, m.note, m.actor FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id JOIN variants v ON v.id = l.variant_id
        WHERE m.store_id = $1 AND v.sku = $2 ORDER BY m.id DESC LIMIT 1`,
      [storeId, sku(2)],
    );
    expect(m).toEqual({ reason: 'RECEIVED', note: 'po 17', actor: 'test:csv' });
  });

  test('bad rows land in the errors CSV with line and reason while the good rows apply', async () => {
    const csv = [
      'SKU,Warehouse,Quantity,Comment',
      `${sku(0)},${W1},111,ok`,
      `NO-SUCH-SKU,${W1},5,unknown sku`,
      `${sku(1)},${W1},12x,bad number`,
      `${sku(1)},,5,missing warehouse`,
      `${sku(1)},${W1},-3,negative set`,
      `${sku(1)},NOWHERE,5,unknown warehouse`,
      `${sku(1)},${RO},5,read-only warehouse`,
      `${sku(1)},${W1},5`,
      `,${W1},5,no sku`,
      '',
      `"${sku(3)}",${W2},"33","quoted, with comma"`,
      `${sku(4)},${W2},44,"unterminated`,
    ].join('\n');
    const { summary, errorRows } = await run(csv);
    expect(summary).toMatchObject({ rows: 11, applied: 2, failed: 9 });
    expect(errorRows.map((e) => [e.line, e.error_code])).toEqual([
      ['3', 'VARIANT_NOT_FOUND'],
      ['4', 'INVALID_NUMBER'],
      ['5', 'MISSING_VALUE'],
      ['6', 'NEGATIVE_QUANTITY'],
      ['7', 'WAREHOUSE_NOT_FOUND'],
      ['8', 'READONLY_WAREHOUSE'],
      ['9', 'COLUMN_COUNT'],
      ['10', 'MISSING_VALUE'],
      ['13', 'CSV_PARSE_ERROR'],
    ]);
    // The original row is kept next to the reason.
    expect(errorRows[1]).toMatchObject({
      SKU: sku(1),
      Warehouse: W1,
      Quantity: '12x',
      Comment: 'bad number',
      error_message: 'quantity "12x" is not a whole number',
    });
    expect(errorRows[3].error_message).toMatch(/must not be negative/);
    expect(errorRows[8].error_message).toMatch(/Quote Not Closed/);
    expect((await levelOf(sku(0), W1)).on_hand).toBe(111);
    expect((await levelOf(sku(3), W2)).on_hand).toBe(33);
  });

  test('a record csv-parse cannot read is one error with its raw text, counted once; the next rows are read, and the fixed errors file imports', async () => {
    const good = (n: number) => `${sku(n)},${W1},${n + 100}`;
    const lines = [good(20), good(21), good(22), good(23), `"${sku(24)}"x,${W1},124`, good(25), good(26), good(27), good(28), good(29)];
    const { summary, errorRows } = await run(['sku,warehouse,quantity', ...lines].join('\n') + '\n');
    expect(summary).toMatchObject({ rows: 10, applied: 9, failed: 1 });
    expect(errorRows).toEqual([
      {
        line: '6',
        error_code: 'CSV_PARSE_ERROR',
        error_message: expect.stringMatching(/Invalid Closing Quote: got "x" at line 6/),
        sku: `"${sku(24)}"x`,
        warehouse: W1,
        quantity: '124',
      },
    ]);
    expect((await levelOf(sku(25), W1)).on_hand).toBe(125); // the row after the broken one
    // Fix the cell in the errors file and import it as it is: the extra columns are ignored.
    const fixed = (
      await run(['line,error_code,error_message,sku,warehouse,quantity', `6,CSV_PARSE_ERROR,x,${sku(24)},${W1},124`].join('\n'))
    ).summary;
    expect(fixed).toMatchObject({ rows: 1, applied: 1, failed: 0 });
    expect((await levelOf(sku(24), W1)).on_hand).toBe(124);

    // A quote never closed costs its own line only (reading resumes on the next line); a quoted
    // field spanning two lines is still one record.
    const r = await run(
      `sku,warehouse,quantity,note\n${sku(30)},${W1},5,"two\nlines"\n${sku(31)},${W1},6,x\n${sku(32)},${W1},7,"open\n${sku(33)},${W1},8,y\n`,
    );
    expect(r.summary).toMatchObject({ rows: 4, applied: 3, failed: 1 });
    expect(r.errorRows.map((e) => [e.line, e.error_code, e.sku, e.quantity])).toEqual([['5', 'CSV_PARSE_ERROR', sku(32), '7']]);
    expect(r.errorRows[0].error_message).toMatch(/Quote Not Closed/);
    for (const [n, q] of [
      [30, 5],
      [31, 6],
      [33, 8],
    ])
      expect((await levelOf(sku(n), W1)).on_hand).toBe(q);
  });

  test('--warehouse fills empty cells and refuses rows for another warehouse; header problems stop the import', async () => {
    const r = await run(`sku,warehouse,quantity\n${sku(5)},,55\n${sku(6)},${W2},66\n`, { warehouse: W1 });
    expect(r.summary).toMatchObject({ applied: 1, failed: 1 });
    expect(r.errorRows[0]).toMatchObject({ line: '3', error_code: 'WAREHOUSE_MISMATCH' });
    expect((await levelOf(sku(5), W1)).on_hand).toBe(55);
    expect((await run(`sku,quantity\n${sku(5)},56\n`, { warehouse: W1 })).summary).toMatchObject({ applied: 1 });

    await expect(run('warehouse,quantity\nW,1\n')).rejects.toThrow(/"sku" or an "externalId" column/);
    await expect(run('sku,warehouse,quantity,delta\nA,W,1,1\n')).rejects.toThrow(/both "quantity" and "delta"/);
    await expect(run('sku,warehouse,quantity\n', { mode: 'adjust' })).rejects.toThrow(CsvImportError);
    await expect(run('')).rejects.toThrow(/header row is required/);
  });

  test('--dry-run reports what would happen, including stock rules, and changes nothing', async () => {
    const snapshot = async () => ({
      sum: await onHandSum(),
      ledger: await ledgerCount(),
      levels: await one('SELECT count(*) FROM inventory_levels WHERE store_id = $1'),
      keys: await one('SELECT count(*) FROM idempotency_keys WHERE store_id = $1'),
      outbox: await one(`SELECT count(*) FROM ${ALL_EVENTS} e WHERE store_id = $1`),
    });
    const before = await snapshot();
    const have = (await levelOf(sku(7), W1)).on_hand;
    const csv = `sku,warehouse,delta\n${sku(7)},${W1},-${have + 1}\n${sku(8)},${W1},3\n${sku(8)},${RO},3\n${sku(9)},${W2},oops\n`;
    const { summary, errorRows } = await run(csv, { dryRun: true, seed: 'dry' });
    expect(summary).toMatchObject({ dryRun: true, rows: 4, applied: 1, failed: 3 });
    expect(errorRows.map((e) => e.error_code)).toEqual(['INSUFFICIENT_STOCK', 'READONLY_WAREHOUSE', 'INVALID_NUMBER']);
    // A new level would be created by a real run, but not by the dry run.
    const newPair = `sku,warehouse,quantity\n${sku(10)},${RO.replace('RO', 'W1')},9\n`;
    expect((await run(newPair, { dryRun: true })).summary).toMatchObject({ applied: 1 });
    expect(await snapshot()).toEqual(before);
    // The dry run kept no key: the real run with the same seed applies.
    expect((await run(csv, { seed: 'dry' })).summary).toMatchObject({ applied: 1, alreadyApplied: 0, failed: 3 });
  });

  test('an interrupted import stops after the batch in flight and resumes with the same seed', async () => {
    const lines = ['sku,warehouse,delta'];
    for (let i = 0; i < 50; i++) lines.push(`${sku(100 + i)},${W1},1`);
    const csv = lines.join('\n');
    const sumBefore = await onHandSum();
    const abort = new AbortController();
    const first = await run(csv, {
      seed: 'resume',
      batchSize: 10,
      signal: abort.signal,
      onProgress: (p) => p.batches >= 2 && abort.abort(),
    });
    // Stopped once the batches already sent were done: whole batches only.
    const done = first.summary.applied;
    expect(first.summary).toMatchObject({ interrupted: true, failed: 0, rows: done });
    expect(done % 10).toBe(0);
    expect(done).toBeGreaterThanOrEqual(20);
    expect(done).toBeLessThan(50);
    expect(await onHandSum()).toBe(sumBefore + done);
    const second = await run(csv, { seed: 'resume', batchSize: 10 });
    expect(second.summary).toMatchObject({ interrupted: false, rows: 50, alreadyApplied: done, applied: 50 - done });
    expect(await onHandSum()).toBe(sumBefore + 50);
  });

  test('batches in flight at once still apply rows for the same level in file order', async () => {
    const lines = ['sku,warehouse,quantity'];
    for (let i = 0; i < 200; i++) lines.push(`${sku(i % 7)},${W2},${1000 + i}`);
    const { summary } = await run(lines.join('\n'), { batchSize: 10, concurrency: 4 });
    expect(summary).toMatchObject({ applied: 200, failed: 0, batches: 20 });
    for (let s = 0; s < 7; s++) {
      const last = Math.max(...[...Array(200).keys()].filter((i) => i % 7 === s));
      expect((await levelOf(sku(s), W2)).on_hand).toBe(1000 + last);
    }
  });
});

describe('export', () => {
  test('streams every level with effective counters, and importing it back (mode set) changes nothing', async () => {
    // Make the counters interesting: a reservation and a safety stock.
    const inv = new InventoryService(app!);
    // And a level in a warehouse that became read-only (its stock is managed outside the gateway now).
    const frozen = `${PREFIX}-FROZEN`;
    await createWarehouse(app!.db.prisma, storeId, { code: frozen, name: 'Frozen' });
    expect((await inv.set(auth, { sku: sku(13), warehouseCode: frozen, quantity: 40, reason: 'RECEIVED' })).userErrors).toEqual([]);
    await q('UPDATE warehouses SET read_only = true WHERE store_id = $1 AND code = $2', [storeId, frozen]);
    await inv.updateLevel(auth, { sku: sku(11), warehouseCode: W1, safetyStock: 2 });
    const res = await new ReservationService(app!).reserve(auth, {
      lines: [{ sku: sku(12), warehouseCode: W2, quantity: 1 }],
      ttlSeconds: 600,
    });
    expect(res.userErrors).toEqual([]);

    const out = sink();
    const r = await exportCsv(app!, { storeId, pageSize: 100 }, out.stream);
    const rows = parse(out.text(), { columns: true }) as Record<string, string>[];
    const levels = await one('SELECT count(*) FROM inventory_levels WHERE store_id = $1');
    expect(r.rows).toBe(levels);
    expect(rows.length).toBe(levels);
    expect(Object.keys(rows[0])).toEqual([...EXPORT_COLUMNS]);
    // Sorted by sku then warehouse, each level once.
    const keys = rows.map((x) => `${x.sku}|${x.warehouse}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(rows.reduce((s, x) => s + Number(x.onHand), 0)).toBe(await onHandSum());
    const a = rows.find((x) => x.sku === sku(11) && x.warehouse === W1)!;
    expect(a).toMatchObject({
      externalId: 'CSVT-P1',
      label: 'V12',
      product: 'Product 1',
      safetyStock: '2',
      available: String(Number(a.onHand) - 2),
    });
    const b = rows.find((x) => x.sku === sku(12) && x.warehouse === W2)!;
    expect(b).toMatchObject({ reserved: '1', available: String(Number(b.onHand) - 1) });

    const only = sink();
    await exportCsv(app!, { storeId, warehouseCode: W2 }, only.stream);
    const w2 = parse(only.text(), { columns: true }) as Record<string, string>[];
    expect(w2.length).toBe(rows.filter((x) => x.warehouse === W2).length);
    expect(w2.every((x) => x.warehouse === W2)).toBe(true);
    await expect(exportCsv(app!, { storeId, warehouseCode: 'NOPE' }, sink().stream)).rejects.toThrow(/does not exist/);

    // Round trip: the export is a valid set file that changes nothing.
    const ledger = await ledgerCount();
    const versions = await q('SELECT id, on_hand, reserved, version FROM inventory_levels WHERE store_id = $1 ORDER BY id');
    const back = await run(out.text());
    // The read-only level is unchanged, so its row is a no-op rather than READONLY_WAREHOUSE.
    expect(back.summary).toMatchObject({ mode: 'set', rows: levels, applied: levels - 1, unchanged: 1, failed: 0 });
    expect(back.errorRows).toEqual([]);
    expect(await ledgerCount()).toBe(ledger);
    expect(await q('SELECT id, on_hand, reserved, version FROM inventory_levels WHERE store_id = $1 ORDER BY id')).toEqual(versions);
  });
});

test('rows for read-only warehouses: an unchanged quantity (or a zero delta) is a no-op, a change is still refused', async () => {
  const ro = `${PREFIX}-RO2`;
  await createWarehouse(app!.db.prisma, storeId, { code: ro, name: 'RO2' });
  const inv = new InventoryService(app!);
  expect((await inv.set(auth, { sku: sku(40), warehouseCode: ro, quantity: 9, reason: 'RECEIVED' })).userErrors).toEqual([]);
  await q('UPDATE warehouses SET read_only = true WHERE store_id = $1 AND code = $2', [storeId, ro]);
  const ledger = await ledgerCount();
  const set = await run(`sku,warehouse,quantity\n${sku(40)},${ro},9\n${sku(41)},${ro},0\n${sku(40)},${ro},10\n${sku(42)},${W1},3\n`);
  expect(set.summary).toMatchObject({ rows: 4, applied: 1, unchanged: 2, failed: 1 });
  expect(set.errorRows.map((e) => [e.line, e.error_code])).toEqual([['4', 'READONLY_WAREHOUSE']]);
  const adjust = await run(`sku,warehouse,delta\n${sku(40)},${ro},0\n${sku(40)},${ro},-1\n`);
  expect(adjust.summary).toMatchObject({ rows: 2, applied: 0, unchanged: 1, failed: 1 });
  // A price with the row: the variant's own price keeps it a no-op; another one is a change, refused there.
  await q('UPDATE variants SET price_amount = 12.5, price_currency = $3 WHERE store_id = $1 AND sku = $2', [storeId, sku(40), 'EUR']);
  const priced = await run(`sku,warehouse,quantity,price,currency\n${sku(40)},${ro},9,12.50,EUR\n${sku(40)},${ro},9,13,EUR\n`);
  expect(priced.summary).toMatchObject({ rows: 2, applied: 0, unchanged: 1, failed: 1 });
  expect(priced.errorRows.map((e) => [e.line, e.error_code])).toEqual([['3', 'READONLY_WAREHOUSE']]);
  expect((await levelOf(sku(40), ro)).on_hand).toBe(9);
  expect(await ledgerCount()).toBe(ledger + 1); // only the W1 row
});

describe('backorder policy columns (issue 22)', () => {
  const POLICY_COLUMNS = ['inventoryPolicy', 'backorderLimit', 'levelInventoryPolicy', 'levelBackorderLimit'] as const;
  const WA = 'POL-1';
  const WB = 'POL-2';
  const skus = ['POL-CONT5', 'POL-PRE', 'POL-DENY', 'POL-CONT'];

  /** A store with the policy test catalogue: same warehouses and variants, the given variant policies. */
  async function policyStore(code: string, policies: { inventoryPolicy?: 'DENY' | 'CONTINUE' | 'PREORDER'; backorderLimit?: number }[]) {
    const s = await app!.db.prisma.store.create({ data: { code, name: code } });
    for (const w of [WA, WB]) await createWarehouse(app!.db.prisma, s.id, { code: w, name: w });
    const r = await createProduct(app!.db.prisma, s.id, {
      name: 'Policies',
      externalId: 'POL',
      variants: skus.map((sk, i) => ({ sku: sk, label: sk, ...policies[i] })),
    });
    expect(r.userErrors).toEqual([]);
    return { storeId: s.id, auth: { keyId: 'test', storeId: s.id, kind: 'sk' as const, scopes: ['admin'], actor: 'test:csv' } };
  }
  const exported = async (id: string) => {
    const out = sink();
    await exportCsv(app!, { storeId: id }, out.stream);
    return { text: out.text(), rows: parse(out.text(), { columns: true }) as Record<string, string>[] };
  };
  const policiesOf = (id: string) =>
    q(
      `SELECT v.sku, w.code, v.inventory_policy::text AS vp, v.backorder_limit AS vl, l.inventory_policy::text AS lp, l.backorder_limit AS ll, l.on_hand
         FROM inventory_levels l JOIN variants v ON v.id = l.variant_id JOIN warehouses w ON w.id = l.warehouse_id
        WHERE l.store_id = $1 ORDER BY v.sku, w.code`,
      [id],
    );
  const importInto = async (a: AuthInfo, csv: string) => {
    const errors = sink();
    const summary = await importCsv(app!, { auth: a, input: Readable.from([csv]), seed: `pol-${++imports}`, errors: errors.stream });
    return { summary, errorRows: parse(errors.text(), { columns: true, relax_column_count: true }) as Record<string, string>[] };
  };

  test('export carries the variant policy and the level override; importing it into a fresh store gives identical policies', async () => {
    const a = await policyStore('csvpol-a', [
      { inventoryPolicy: 'CONTINUE', backorderLimit: 5 },
      { inventoryPolicy: 'PREORDER' },
      {},
      { inventoryPolicy: 'CONTINUE' },
    ]);
    const inv = new InventoryService(app!);
    for (const [i, sk] of skus.entries())
      for (const w of [WA, WB])
        expect((await inv.set(a.auth, { sku: sk, warehouseCode: w, quantity: 3 + i, reason: 'RECEIVED' })).userErrors).toEqual([]);
    for (const [sk, w, p, l] of [
      [skus[0], WA, 'DENY', null],
      [skus[2], WB, 'PREORDER', 2],
      [skus[3], WA, 'CONTINUE', 0],
    ] as const)
      expect((await inv.updateLevel(a.auth, { sku: sk, warehouseCode: w, inventoryPolicy: p, backorderLimit: l })).userErrors).toEqual([]);

    const src = await exported(a.storeId);
    expect(src.rows.map((r) => [r.sku, r.warehouse, ...POLICY_COLUMNS.map((c) => r[c])])).toEqual([
      ['POL-CONT', WA, 'CONTINUE', '', 'CONTINUE', '0'],
      ['POL-CONT', WB, 'CONTINUE', '', '', ''],
      ['POL-CONT5', WA, 'CONTINUE', '5', 'DENY', ''],
      ['POL-CONT5', WB, 'CONTINUE', '5', '', ''],
      ['POL-DENY', WA, 'DENY', '', '', ''],
      ['POL-DENY', WB, 'DENY', '', 'PREORDER', '2'],
      ['POL-PRE', WA, 'PREORDER', '', '', ''],
      ['POL-PRE', WB, 'PREORDER', '', '', ''],
    ]);

    // A fresh store: the same catalogue with every variant at the default (DENY), no levels.
    const b = await policyStore('csvpol-b', [{}, {}, {}, {}]);
    const back = await importInto(b.auth, src.text);
    expect(back.summary).toMatchObject({ rows: 8, applied: 8, failed: 0 });
    expect(await policiesOf(b.storeId)).toEqual(await policiesOf(a.storeId));
    const again = await exported(b.storeId);
    const strip = (rows: Record<string, string>[]) =>
      rows.map(({ sku: s, warehouse, onHand, ...r }) => [s, warehouse, onHand, ...POLICY_COLUMNS.map((c) => r[c])]);
    expect(strip(again.rows)).toEqual(strip(src.rows));
    // And importing it again changes nothing: no ledger rows, no versions, no variant updates.
    const before = await q('SELECT id, version FROM inventory_levels WHERE store_id = $1 ORDER BY id', [b.storeId]);
    const variantsBefore = await q('SELECT id, updated_at FROM variants WHERE store_id = $1 ORDER BY id', [b.storeId]);
    const moves = await one('SELECT count(*) FROM stock_movements WHERE store_id = $1', [b.storeId]);
    expect((await importInto(b.auth, again.text)).summary).toMatchObject({ applied: 8, failed: 0 });
    expect(await q('SELECT id, version FROM inventory_levels WHERE store_id = $1 ORDER BY id', [b.storeId])).toEqual(before);
    expect(await q('SELECT id, updated_at FROM variants WHERE store_id = $1 ORDER BY id', [b.storeId])).toEqual(variantsBefore);
    expect(await one('SELECT count(*) FROM stock_movements WHERE store_id = $1', [b.storeId])).toBe(moves);
    // A level override set by the import has its ledger row (reason OTHER), like inventoryLevelUpdate.
    expect(
      await one(`SELECT count(*) FROM stock_movements WHERE store_id = $1 AND reason = 'OTHER' AND quantity_delta = 0`, [b.storeId]),
    ).toBe(3);
    expect((await checkInvariants(app!, b.storeId)).bounds).toEqual([]);
  });

  test('bad policy values are per-row errors with their line; the other rows (and the failed rows’ stock) are untouched; INHERIT drops an override', async () => {
    const c = await policyStore('csvpol-c', [{}, {}, {}, {}]);
    const csv = [
      'sku,warehouse,quantity,inventoryPolicy,backorderLimit,levelInventoryPolicy,levelBackorderLimit',
      `POL-CONT5,${WA},5,continue,5,,`,
      `POL-PRE,${WA},6,SOMETIMES,,,`,
      `POL-PRE,${WB},6,PREORDER,x,,`,
      `POL-DENY,${WA},7,,3,,`,
      `POL-DENY,${WB},7,DENY,3,,`,
      `POL-CONT,${WA},8,CONTINUE,-1,,`,
      `POL-CONT,${WB},8,,,INHERIT,2`,
      `POL-CONT5,${WB},9,,,MAYBE,`,
      `POL-PRE,${WB},10,PREORDER,,CONTINUE,4`,
    ].join('\n');
    const { summary, errorRows } = await importInto(c.auth, csv);
    expect(summary).toMatchObject({ rows: 9, applied: 2, failed: 7 });
    expect(errorRows.map((e) => [e.line, e.error_code])).toEqual([
      ['3', 'INVALID_POLICY'],
      ['4', 'INVALID_NUMBER'],
      ['5', 'MISSING_VALUE'],
      ['6', 'INVALID_INPUT'],
      ['7', 'NEGATIVE_QUANTITY'],
      ['8', 'INVALID_INPUT'],
      ['9', 'INVALID_POLICY'],
    ]);
    expect(errorRows[0].error_message).toMatch(/"SOMETIMES" is not one of DENY, CONTINUE, PREORDER/);
    // Good rows: stock and policies applied; failed rows: no level, no policy.
    expect(await policiesOf(c.storeId)).toEqual([
      { sku: 'POL-CONT5', code: WA, vp: 'CONTINUE', vl: 5, lp: null, ll: null, on_hand: 5 },
      { sku: 'POL-PRE', code: WB, vp: 'PREORDER', vl: null, lp: 'CONTINUE', ll: 4, on_hand: 10 },
    ]);
    const variants = await q(`SELECT sku, inventory_policy::text AS p FROM variants WHERE store_id = $1 ORDER BY sku`, [c.storeId]);
    expect(variants).toEqual([
      { sku: 'POL-CONT', p: 'DENY' },
      { sku: 'POL-CONT5', p: 'CONTINUE' },
      { sku: 'POL-DENY', p: 'DENY' },
      { sku: 'POL-PRE', p: 'PREORDER' },
    ]);
    // INHERIT drops the override (and the limit with it).
    const drop = await importInto(c.auth, `sku,warehouse,quantity,levelInventoryPolicy\nPOL-PRE,${WB},10,inherit\n`);
    expect(drop.summary).toMatchObject({ applied: 1, failed: 0 });
    expect((await policiesOf(c.storeId))[1]).toMatchObject({ lp: null, ll: null, on_hand: 10 });
  });
});

describe('CLI', () => {
  const cli = (script: string, args: string[]) => runCli(script, args, { dataDir: path.join(dir, 'data'), url: tdb.url });

  test('npm run import / export: summary, errors file, exit codes, idempotent re-run, CSV alone on stdout', async () => {
    // The embedded database has one owner process: hand it over to the CLIs.
    await app!.db.close();
    app = null;
    const file = path.join(dir, 'cli.csv');
    fs.writeFileSync(file, `sku,warehouse,quantity\n${sku(20)},${W1},20\n${sku(21)},${W1},21\nNOPE,${W1},1\n`);

    const first = await cli('import.js', [file, '--store', STORE]);
    expect(first.code).toBe(2); // some rows failed
    expect(first.out).toMatch(/rows read\s+3\n\s+applied\s+2\n\s+already applied\s+0\n\s+failed\s+1 → .*cli\.csv\.errors\.csv/);
    const errs = parse(fs.readFileSync(`${file}.errors.csv`, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(errs).toEqual([
      { line: '4', error_code: 'VARIANT_NOT_FOUND', error_message: 'Variant not found', sku: 'NOPE', warehouse: W1, quantity: '1' },
    ]);

    // Same file, same options: the default seed is the same, nothing is applied twice.
    const again = await cli('import.js', [file, '--store', STORE, '--json']);
    expect(again.code).toBe(2);
    expect(JSON.parse(again.out)).toMatchObject({ rows: 3, applied: 0, alreadyApplied: 2, failed: 1, replayedBatches: 1 });

    const dry = await cli('import.js', [
      file,
      '--store',
      STORE,
      '--dry-run',
      '--seed',
      'cli-dry',
      '--errors',
      path.join(dir, 'dry-errors.csv'),
    ]);
    expect(dry.out).toMatch(/Dry run of .* would apply\s+2/s);
    expect(fs.existsSync(path.join(dir, 'dry-errors.csv'))).toBe(true);

    const clean = path.join(dir, 'clean.csv');
    fs.writeFileSync(clean, `sku,quantity\n${sku(22)},22\n`);
    const ok = await cli('import.js', [clean, '--store', STORE, '--warehouse', W2, '--quiet']);
    expect(ok.code).toBe(0);
    expect(fs.existsSync(`${clean}.errors.csv`)).toBe(false);

    const bad = await cli('import.js', [file, '--store', STORE, '--mode', 'sideways']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--mode must be set or adjust/);
    const headless = path.join(dir, 'headless.csv');
    fs.writeFileSync(headless, 'foo,bar\n1,2\n');
    const noHeader = await cli('import.js', [headless, '--store', STORE]);
    expect(noHeader.code).toBe(1);
    expect(noHeader.err).toMatch(/needs a "sku" or an "externalId" column/);
    expect(fs.existsSync(`${headless}.errors.csv`)).toBe(false);

    const exp = await cli('export.js', ['--store', STORE, '--warehouse', W1]);
    expect(exp.code).toBe(0);
    expect(exp.out.split('\n')[0]).toBe(EXPORT_COLUMNS.join(','));
    const rows = parse(exp.out, { columns: true }) as Record<string, string>[];
    expect(rows.find((x) => x.sku === sku(20))).toMatchObject({ warehouse: W1, onHand: '20' });
    expect(rows.every((x) => x.warehouse === W1)).toBe(true);
    expect(exp.err).toMatch(/Exported \d+ level\(s\)/);
  });
});
