/**
 * CSV import of stock levels through the bulk path (InventoryService.bulkUpdate).
 *
 *  - The input is streamed and split into records (records.ts), each parsed by csv-parse, never
 *    loaded whole; a record csv-parse cannot read costs that record only. Rows are sent in batches of at
 *    most LIMITS.bulkItems items, one bulk call (one transaction) per batch, in file order.
 *  - Rows that cannot become a bulk item (bad number, missing value, column count, CSV syntax) and
 *    items the bulk path rejects (unknown sku, negative quantity, insufficient stock, …) are written
 *    to the errors CSV with their line number, error code and message; the other rows are applied
 *    (errorPolicy REJECT_FAILED_ROWS).
 *  - Batch n is sent with idempotency key `<seed>:<n>`. Re-running the same file with the same seed
 *    replays the stored outcome of every batch that was committed before and applies nothing twice;
 *    an interrupted run can be resumed that way.
 *  - Dry runs go through the same path in transactions that are rolled back (see dry-run.ts).
 *  - A row for a read-only warehouse that would not change anything (the quantity the level already
 *    has, or a delta of 0, and no price or the variant's own) is a no-op, counted as unchanged: an
 *    export imports back without errors.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parse as parseRecord } from 'csv-parse/sync';
import { stringify } from 'csv-stringify';
import type { App } from '../../app';
import { ErrorCode, UnavailableError, type UserErrorShape } from '../../graphql/errors';
import { LIMITS } from '../../validation';
import type { AuthInfo } from '../auth/scopes';
import { InventoryService, type BulkItem, type BulkResult } from '../inventory/inventory.service';
import { MOVEMENT_REASONS, type MovementReason } from '../stock';
import { importApp } from './dry-run';
import { rawRecords } from './records';

export type ImportMode = 'set' | 'adjust';

/** A problem with the file as a whole or with the options: nothing (more) can be imported. */
export class CsvImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvImportError';
  }
}

/** Codes of row errors found before the bulk call (the bulk path adds the API's ErrorCodes). */
export const ROW_ERROR = {
  CSV_PARSE_ERROR: 'CSV_PARSE_ERROR',
  COLUMN_COUNT: 'COLUMN_COUNT',
  MISSING_VALUE: 'MISSING_VALUE',
  INVALID_NUMBER: 'INVALID_NUMBER',
  INVALID_REASON: 'INVALID_REASON',
  WAREHOUSE_MISMATCH: 'WAREHOUSE_MISMATCH',
} as const;

type Field = 'sku' | 'externalId' | 'label' | 'warehouse' | 'quantity' | 'delta' | 'reason' | 'note' | 'price' | 'currency';

/** Accepted header names, compared lower-case with everything but letters and digits removed. */
const ALIASES: Record<Field, string[]> = {
  sku: ['sku'],
  externalId: ['externalid', 'productexternalid'],
  label: ['label', 'variantlabel'],
  warehouse: ['warehouse', 'warehousecode'],
  quantity: ['quantity', 'qty', 'onhand'],
  delta: ['delta'],
  reason: ['reason'],
  note: ['note'],
  price: ['price', 'priceamount'],
  currency: ['currency', 'pricecurrency', 'currencycode'],
};

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface HeaderMap {
  columns: string[];
  index: Partial<Record<Field, number>>;
}

/** Maps header names to the fields the importer understands; other columns are ignored. */
export function mapHeader(columns: string[]): HeaderMap {
  const index: Partial<Record<Field, number>> = {};
  columns.forEach((name, i) => {
    const n = normalize(name);
    const field = (Object.keys(ALIASES) as Field[]).find((f) => ALIASES[f].includes(n));
    if (!field) return;
    if (index[field] !== undefined) throw new CsvImportError(`columns "${columns[index[field]!]}" and "${name}" both give ${field}`);
    index[field] = i;
  });
  if (index.sku === undefined && index.externalId === undefined) throw new CsvImportError('the header needs a "sku" or an "externalId" column');
  return { columns, index };
}

/** The explicit mode, or the one the columns imply (quantity → set, delta → adjust). */
export function resolveMode(h: HeaderMap, requested?: ImportMode | null): ImportMode {
  const hasQ = h.index.quantity !== undefined;
  const hasD = h.index.delta !== undefined;
  if (requested === 'set' && !hasQ) throw new CsvImportError('--mode set needs a "quantity" (or "onHand") column');
  if (requested === 'adjust' && !hasD) throw new CsvImportError('--mode adjust needs a "delta" column');
  if (requested) return requested;
  if (hasQ && hasD) throw new CsvImportError('the file has both "quantity" and "delta" columns: choose one with --mode set|adjust');
  if (hasQ) return 'set';
  if (hasD) return 'adjust';
  throw new CsvImportError('the header needs a "quantity" column (mode set) or a "delta" column (mode adjust)');
}

export interface ImportProgress {
  /** Data rows read so far (not counting the header). */
  rows: number;
  /** Rows applied by this run (in a dry run: rows that would be applied). */
  applied: number;
  /** Rows of batches already committed by an earlier run with the same seed (replayed, not applied again). */
  alreadyApplied: number;
  /** Rows for read-only warehouses that match the level as it is (nothing to do). */
  unchanged: number;
  failed: number;
  batches: number;
  /** Bytes of the input consumed by the parser (for progress and ETA against the file size). */
  bytes: number;
}

export interface ImportSummary extends ImportProgress {
  mode: ImportMode;
  dryRun: boolean;
  seed: string;
  replayedBatches: number;
  elapsedMs: number;
  rowsPerSecond: number;
  /** Stopped early by the abort signal (committed batches stay committed). */
  interrupted: boolean;
}

export interface ImportOptions {
  auth: AuthInfo;
  input: Readable;
  mode?: ImportMode | null;
  /** Warehouse code for rows whose warehouse cell is empty (or for files without that column). */
  warehouse?: string | null;
  /** Ledger reason for rows without a reason cell (bulk default: CYCLE_COUNT for set, CORRECTION for adjust). */
  reason?: MovementReason | null;
  note?: string | null;
  dryRun?: boolean;
  /** Idempotency seed: batch n is sent with key `<seed>:<n>`. */
  seed: string;
  batchSize?: number;
  /** Batches in flight at once, each in its own transaction (default 1). */
  concurrency?: number;
  /** Where the errors CSV goes (ended when the import ends). */
  errors?: Writable | null;
  onProgress?: (p: Readonly<ImportProgress>) => void;
  /** Stops after the batch in flight. */
  signal?: AbortSignal;
}

/** Longest seed: the key `<seed>:<batch>` must stay within the API's idempotency key limit. */
export const MAX_SEED_LENGTH = LIMITS.idempotencyKey - 16;

/**
 * The default seed: a hash of the file's bytes and of the options that shape the batches, so the
 * same command on the same file gets the same keys, and any change gets new ones.
 */
export async function fileSeed(file: string, options: Record<string, unknown>): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  h.update('\0').update(JSON.stringify(Object.entries(options).filter(([, v]) => v != null).sort(([a], [b]) => (a < b ? -1 : 1))));
  return `csv-${h.digest('hex').slice(0, 32)}`;
}

interface RowError {
  code: string;
  message: string;
}

interface PendingRow {
  line: number;
  record: string[];
  /** Set for rows refused before the bulk call; the others are batch[item] (or unchanged). */
  error?: RowError;
  item?: number;
  /** A no-op row for a read-only warehouse: not sent. */
  unchanged?: boolean;
}

/**
 * Parses one raw record (records.ts) on its own. Returns its fields, null for an empty line, or the
 * parser's error with the line numbers made absolute.
 */
export function parseRawRecord(raw: string, line: number): string[] | null | RowError {
  let records: string[][];
  try {
    records = parseRecord(raw, { trim: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    const message = (e as Error).message.replace(/\bline (\d+)/g, (_, n: string) => `line ${line + Number(n) - 1}`);
    return { code: ROW_ERROR.CSV_PARSE_ERROR, message };
  }
  if (records.length === 0) return null;
  if (records.length > 1) return { code: ROW_ERROR.CSV_PARSE_ERROR, message: `more than one record on line ${line}` };
  return records[0];
}

/**
 * The fields of a record csv-parse could not read, for the errors file: the raw text split at its
 * commas (line break removed), so that it lines up with the header and can be fixed in place.
 */
export function rawFields(raw: string): string[] {
  return raw.replace(/\r?\n$/, '').split(',');
}

/** Rows (valid or not) held before their errors are written in file order. */
const MAX_PENDING = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseInteger(value: string, name: string): number | RowError {
  if (value === '') return { code: ROW_ERROR.MISSING_VALUE, message: `${name} is empty` };
  if (!/^[+-]?\d+$/.test(value)) return { code: ROW_ERROR.INVALID_NUMBER, message: `${name} "${value}" is not a whole number` };
  const n = Number(value);
  if (!Number.isSafeInteger(n)) return { code: ROW_ERROR.INVALID_NUMBER, message: `${name} ${value} is out of range` };
  return n;
}

function joinErrors(errors: UserErrorShape[]): RowError {
  return { code: errors[0].code, message: errors.map((e) => e.message).join('; ') };
}

/** Imports one CSV stream. Throws CsvImportError for problems with the file as a whole. */
export async function importCsv(app: App, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const batchSize = opts.batchSize ?? LIMITS.bulkItems;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.bulkItems) throw new CsvImportError(`the batch size must be between 1 and ${LIMITS.bulkItems}`);
  if (opts.seed.length === 0 || opts.seed.length > MAX_SEED_LENGTH) throw new CsvImportError(`the seed must have 1 to ${MAX_SEED_LENGTH} characters`);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new CsvImportError('the concurrency must be between 1 and 32');
  const service = new InventoryService(importApp(app, { dryRun: !!opts.dryRun }));

  const progress: ImportProgress = { rows: 0, applied: 0, alreadyApplied: 0, unchanged: 0, failed: 0, batches: 0, bytes: 0 };
  let replayedBatches = 0;
  let header: HeaderMap | null = null;
  let mode: ImportMode = opts.mode ?? 'set';

  // The errors CSV: line, error_code, error_message, then the row as it was.
  const errOut = opts.errors ? stringify() : null;
  const errDone = opts.errors ? finished(opts.errors) : Promise.resolve();
  errDone.catch(() => undefined); // awaited at the end; a failure before that must not go unhandled
  if (errOut && opts.errors) errOut.pipe(opts.errors);
  const writeError = async (line: number, e: RowError, record: string[]) => {
    progress.failed++;
    if (!errOut) return;
    if (!errOut.write([line, e.code, e.message, ...record])) await once(errOut, 'drain');
  };

  let batch: BulkItem[] = [];
  let rows: PendingRow[] = [];
  const report = () => opts.onProgress?.(progress);

  const sendBatch = async (items: BulkItem[], n: number): Promise<BulkResult> => {
    const key = `${opts.seed}:${n}`;
    for (let attempt = 0; ; attempt++) {
      let r: BulkResult;
      try {
        r = await service.bulkUpdate(opts.auth, { items, errorPolicy: 'REJECT_FAILED_ROWS', reason: opts.reason ?? null, idempotencyKey: key });
      } catch (e) {
        if (e instanceof UnavailableError && attempt < 3) {
          await sleep(500 * 2 ** attempt);
          continue;
        }
        throw new CsvImportError(
          `batch ${n} (idempotency key ${key}) failed: ${(e as Error).message}. The batches that succeeded are committed; ` +
            `run the same command again (same seed) to resume: they are replayed, not applied twice`,
        );
      }
      // Another run with the same seed holds this batch right now: wait for its outcome.
      if (r.userErrors[0]?.code === ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS && attempt < 6) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      return r;
    }
  };

  /** Counts the outcome of a batch and writes the errors of its rows (and of the refused rows read with it). */
  const recordOutcome = async (pending: PendingRow[], r: BulkResult | null) => {
    if (r) {
      progress.batches++;
      if (r.replayed) replayedBatches++;
    }
    // A refusal of the whole batch (e.g. IDEMPOTENCY_KEY_REUSED: the seed was used for other rows).
    const refused = r && r.userErrors.length ? joinErrors(r.userErrors) : null;
    const byIndex = new Map((r?.results ?? []).map((x) => [x.index, x]));
    for (const p of pending) {
      if (p.error) {
        await writeError(p.line, p.error, p.record);
        continue;
      }
      if (p.unchanged) {
        progress.unchanged++;
        continue;
      }
      const res = byIndex.get(p.item!);
      if (refused) await writeError(p.line, refused, p.record);
      else if (res && res.userErrors.length) await writeError(p.line, joinErrors(res.userErrors), p.record);
      else if (r!.replayed) progress.alreadyApplied++;
      else progress.applied++;
    }
    report();
  };

  /**
   * Items (by index) for a read-only warehouse that would leave the level as it is: a set to the
   * current on-hand quantity (0 for a level that does not exist), or a delta of 0. Read-only levels
   * refuse stock changes (READONLY_WAREHOUSE), so such a row is a no-op rather than an error.
   */
  let readOnlyCodes: Promise<Set<string>> | null = null;
  const unchangedReadOnly = async (items: BulkItem[]): Promise<Set<number>> => {
    readOnlyCodes ??= app.db.pool
      .query<{ code: string }>('SELECT code FROM warehouses WHERE store_id = $1 AND read_only', [opts.auth.storeId])
      .then((r) => new Set(r.rows.map((x) => x.code)));
    const codes = await readOnlyCodes;
    const idx: number[] = [];
    items.forEach((it, i) => {
      if (it.sku != null && it.warehouseCode != null && codes.has(it.warehouseCode)) idx.push(i);
    });
    const noop = new Set<number>();
    // Candidates: a set (compared with the level below) or a delta of 0; a price with the row must
    // equal the variant's (anything else goes to the bulk path, which validates and refuses it).
    const cand = idx.filter((i) => {
      const it = items[i];
      if (it.mode === 'ADJUST' && it.delta !== 0) return false;
      return it.price == null || /^-?\d{1,11}(\.\d{1,4})?$/.test(String(it.price.amount));
    });
    if (cand.length === 0) return noop;
    const r = await app.db.pool.query<{ i: number }>(
      `SELECT x.i FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[]) AS x(i, sku, wh, qty, amount, currency)
         JOIN warehouses w ON w.store_id = $1 AND w.code = x.wh AND w.read_only
         JOIN variants v ON v.store_id = $1 AND v.sku = x.sku
         LEFT JOIN inventory_levels l ON l.variant_id = v.id AND l.warehouse_id = w.id
        WHERE (x.qty IS NULL OR coalesce(l.on_hand, 0) = x.qty)
          AND (x.amount IS NULL OR (v.price_amount = x.amount::numeric AND v.price_currency = x.currency))`,
      [
        opts.auth.storeId,
        cand,
        cand.map((i) => items[i].sku),
        cand.map((i) => items[i].warehouseCode),
        cand.map((i) => (items[i].mode === 'SET' ? items[i].quantity : null)),
        cand.map((i) => (items[i].price ? String(items[i].price!.amount) : null)),
        cand.map((i) => items[i].price?.currencyCode ?? null),
      ],
    );
    for (const row of r.rows) noop.add(row.i);
    return noop;
  };

  // Up to `concurrency` batches are in flight, each in its own transaction. A batch waits for every
  // in-flight batch that touches one of its (sku, warehouse) pairs, so rows for the same level are
  // applied in file order; rows addressed by externalId + label wait for all earlier batches.
  // Outcomes are recorded in file order through `tail`.
  interface InFlight {
    pairs: Set<string>;
    barrier: boolean;
    settled: Promise<void>;
  }
  const inFlight = new Set<InFlight>();
  let tail: Promise<void> = Promise.resolve();
  let launched = 0;
  let failure: unknown = null;
  const conflicts = (f: InFlight, pairs: Set<string>, barrier: boolean) => barrier || f.barrier || [...pairs].some((k) => f.pairs.has(k));

  /** Sends the batch (if any); its outcome is recorded after those of the batches before it. */
  const flush = async () => {
    let items = batch;
    const pending = rows;
    batch = [];
    rows = [];
    // Batch numbers follow the file (a batch with a valid row gets one), whatever is skipped below.
    const n = items.length ? ++launched : 0;
    const noop = items.length ? await unchangedReadOnly(items) : new Set<number>();
    if (noop.size) {
      const renumber = new Map<number, number>();
      items = items.filter((_, i) => {
        if (noop.has(i)) return false;
        renumber.set(i, renumber.size);
        return true;
      });
      for (const p of pending) {
        if (p.item === undefined) continue;
        if (noop.has(p.item)) {
          p.unchanged = true;
          p.item = undefined;
        } else p.item = renumber.get(p.item);
      }
    }
    if (items.length === 0) {
      tail = tail.then(() => recordOutcome(pending, null));
      tail.catch(() => undefined); // awaited later
      return;
    }
    const pairs = new Set<string>();
    let barrier = false;
    for (const it of items) {
      if (it.sku != null) pairs.add(`${it.sku}\n${it.warehouseCode}`);
      else barrier = true;
    }
    for (;;) {
      if (failure) throw failure;
      const blocking = [...inFlight].filter((f) => conflicts(f, pairs, barrier));
      if (inFlight.size < concurrency && blocking.length === 0) break;
      await Promise.race((blocking.length ? blocking : [...inFlight]).map((f) => f.settled));
    }
    const call = sendBatch(items, n);
    const entry: InFlight = { pairs, barrier, settled: call.then(() => undefined, () => undefined) };
    inFlight.add(entry);
    void entry.settled.then(() => inFlight.delete(entry));
    call.catch((e) => (failure ??= e));
    tail = tail.then(async () => recordOutcome(pending, await call));
    tail.catch(() => undefined); // awaited later
    // Keep the recorded outcomes (and the errors file) close behind the batches in flight.
    if (inFlight.size > 0 && launched - progress.batches > concurrency * 2) await tail;
  };

  const toItem = (record: string[]): BulkItem | RowError => {
    const h = header!;
    if (record.length !== h.columns.length) {
      return { code: ROW_ERROR.COLUMN_COUNT, message: `expected ${h.columns.length} fields, got ${record.length}` };
    }
    const cell = (f: Field) => (h.index[f] !== undefined ? record[h.index[f]!] : '');
    const sku = cell('sku');
    const externalId = cell('externalId');
    if (!sku && !externalId) return { code: ROW_ERROR.MISSING_VALUE, message: h.index.sku !== undefined ? 'sku is empty' : 'externalId is empty' };
    let warehouse = cell('warehouse');
    if (warehouse && opts.warehouse && warehouse !== opts.warehouse) {
      return { code: ROW_ERROR.WAREHOUSE_MISMATCH, message: `the row is for warehouse ${warehouse}, but --warehouse ${opts.warehouse} was given` };
    }
    warehouse ||= opts.warehouse ?? '';
    if (!warehouse) return { code: ROW_ERROR.MISSING_VALUE, message: 'warehouse is empty (add a warehouse column or pass --warehouse)' };
    const n = mode === 'set' ? parseInteger(cell('quantity'), 'quantity') : parseInteger(cell('delta'), 'delta');
    if (typeof n !== 'number') return n;
    let reason: MovementReason | null = null;
    const rawReason = cell('reason');
    if (rawReason) {
      reason = rawReason.toUpperCase() as MovementReason;
      if (!MOVEMENT_REASONS.includes(reason)) return { code: ROW_ERROR.INVALID_REASON, message: `reason "${rawReason}" is not one of ${MOVEMENT_REASONS.join(', ')}` };
    }
    const item: BulkItem = { mode: mode === 'set' ? 'SET' : 'ADJUST', warehouseCode: warehouse, reason, note: cell('note') || opts.note || null };
    if (sku) item.sku = sku;
    else {
      item.productExternalId = externalId;
      item.variantLabel = cell('label') || null;
    }
    if (mode === 'set') item.quantity = n;
    else item.delta = n;
    // Seed 002: a price and a currency set the variant's price with the row; both empty keep it.
    const price = cell('price');
    const currency = cell('currency');
    if (price || currency) {
      if (!price || !currency) return { code: ROW_ERROR.MISSING_VALUE, message: 'give both price and currency (or neither)' };
      item.price = { amount: price, currencyCode: currency };
    }
    return item;
  };

  let interrupted = false;
  const records = rawRecords(opts.input);
  try {
    for await (const rec of records) {
      progress.bytes = rec.bytes;
      const parsed = rec.error ? ({ code: ROW_ERROR.CSV_PARSE_ERROR, message: rec.error } as RowError) : parseRawRecord(rec.raw, rec.line);
      if (parsed === null) continue; // an empty line
      if (!header) {
        if (!Array.isArray(parsed)) throw new CsvImportError(`the header (line ${rec.line}) cannot be read: ${parsed.message}`);
        header = mapHeader(parsed);
        mode = resolveMode(header, opts.mode);
        errOut?.write(['line', 'error_code', 'error_message', ...header.columns]);
        continue;
      }
      progress.rows++;
      if (!Array.isArray(parsed)) rows.push({ line: rec.line, record: rawFields(rec.raw), error: parsed });
      else {
        const item = toItem(parsed);
        if ('code' in item) rows.push({ line: rec.line, record: parsed, error: item as RowError });
        else {
          rows.push({ line: rec.line, record: parsed, item: batch.length });
          batch.push(item);
        }
      }
      if (batch.length >= batchSize || rows.length >= MAX_PENDING) await flush();
      else if (progress.rows % 1000 === 0) report();
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
    }
    if (!header) throw new CsvImportError('the file is empty: a header row is required');
    if (interrupted) {
      // The rows of the unsent batch are left for the next run: sending a partial batch now would
      // give its key different rows than the same batch of a resumed run (IDEMPOTENCY_KEY_REUSED).
      progress.rows -= rows.length;
      rows = [];
    } else await flush();
    await tail;
    report();
  } finally {
    if (interrupted || !header) {
      await records.return(undefined);
      opts.input.destroy();
    }
    // Never leave a batch running behind the caller's back (it closes the database next).
    await Promise.all([...inFlight].map((f) => f.settled));
    await tail.catch(() => undefined);
    errOut?.end();
  }
  await errDone;
  const elapsedMs = Date.now() - t0;
  return {
    ...progress,
    mode,
    dryRun: !!opts.dryRun,
    seed: opts.seed,
    replayedBatches,
    elapsedMs,
    rowsPerSecond: Math.round((progress.rows * 1000) / Math.max(1, elapsedMs)),
    interrupted,
  };
}
