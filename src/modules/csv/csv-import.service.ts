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
 *
 * Units: csv-header.ts (columns → fields, mode), csv-row.ts (record → bulk item or row error),
 * read-only-noop.ts, batch-sender.ts (one bulk call with retries), batch-pipeline.ts (batches in
 * flight, ordering), import-outcome.ts (counters and the errors CSV); this file reads the records.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { App } from '../../app';
import { LIMITS } from '../../validation';
import { InventoryService, type BulkItem } from '../inventory';
import { BatchPipeline } from './batch-pipeline';
import { sendBatch } from './batch-sender';
import { mapHeader, resolveMode, type HeaderMap } from './csv-header';
import { parseRawRecord, rawFields, toItem } from './csv-row';
import { importApp } from './dry-run';
import { ImportOutcome } from './import-outcome';
import {
  CsvImportError,
  ROW_ERROR,
  type ImportMode,
  type ImportOptions,
  type ImportSummary,
  type PendingRow,
  type RowError,
} from './import-types';
import { ReadOnlyNoops } from './read-only-noop';
import { rawRecords, type RawRecord } from './records';

export { mapHeader, resolveMode, type HeaderMap } from './csv-header';
export { parseRawRecord, rawFields } from './csv-row';
export { CsvImportError, ROW_ERROR, type ImportMode, type ImportOptions, type ImportProgress, type ImportSummary } from './import-types';

/** Longest seed: the key `<seed>:<batch>` must stay within the API's idempotency key limit. */
export const MAX_SEED_LENGTH = LIMITS.idempotencyKey - 16;

/**
 * The default seed: a hash of the file's bytes and of the options that shape the batches, so the
 * same command on the same file gets the same keys, and any change gets new ones.
 */
export async function fileSeed(file: string, options: Record<string, unknown>): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  h.update('\0').update(
    JSON.stringify(
      Object.entries(options)
        .filter(([, v]) => v != null)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  );
  return `csv-${h.digest('hex').slice(0, 32)}`;
}

/** Rows (valid or not) held before their errors are written in file order. */
const MAX_PENDING = 5000;

function checkOptions(opts: ImportOptions): { batchSize: number; concurrency: number } {
  const batchSize = opts.batchSize ?? LIMITS.bulkItems;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.bulkItems)
    throw new CsvImportError(`the batch size must be between 1 and ${LIMITS.bulkItems}`);
  if (opts.seed.length === 0 || opts.seed.length > MAX_SEED_LENGTH)
    throw new CsvImportError(`the seed must have 1 to ${MAX_SEED_LENGTH} characters`);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
    throw new CsvImportError('the concurrency must be between 1 and 32');
  return { batchSize, concurrency };
}

/** One import run: reads records, gathers rows into batches and hands them to the pipeline. */
class ImportRun {
  header: HeaderMap | null = null;
  mode: ImportMode;
  interrupted = false;
  private batch: BulkItem[] = [];
  private rows: PendingRow[] = [];
  readonly outcome: ImportOutcome;
  readonly pipeline: BatchPipeline;

  constructor(
    app: App,
    private readonly opts: ImportOptions,
    private readonly batchSize: number,
    concurrency: number,
  ) {
    this.mode = opts.mode ?? 'set';
    this.outcome = new ImportOutcome(opts.errors, opts.onProgress);
    const target = {
      service: new InventoryService(importApp(app, { dryRun: !!opts.dryRun })),
      auth: opts.auth,
      seed: opts.seed,
      reason: opts.reason ?? null,
    };
    const noops = new ReadOnlyNoops(app, opts.auth.storeId);
    this.pipeline = new BatchPipeline(concurrency, (items, n) => sendBatch(target, items, n), noops, this.outcome);
  }

  /** Takes one record; returns false once the run is interrupted. */
  async take(rec: RawRecord): Promise<boolean> {
    const progress = this.outcome.progress;
    progress.bytes = rec.bytes;
    const parsed = rec.error ? ({ code: ROW_ERROR.CSV_PARSE_ERROR, message: rec.error } as RowError) : parseRawRecord(rec.raw, rec.line);
    if (parsed === null) return true; // an empty line
    if (!this.header) {
      if (!Array.isArray(parsed)) throw new CsvImportError(`the header (line ${rec.line}) cannot be read: ${parsed.message}`);
      this.header = mapHeader(parsed);
      this.mode = resolveMode(this.header, this.opts.mode);
      this.outcome.writeHeader(this.header.columns);
      return true;
    }
    progress.rows++;
    this.addRow(rec, parsed);
    if (this.batch.length >= this.batchSize || this.rows.length >= MAX_PENDING) await this.flush();
    else if (progress.rows % 1000 === 0) this.outcome.report();
    if (this.opts.signal?.aborted) this.interrupted = true;
    return !this.interrupted;
  }

  private addRow(rec: RawRecord, parsed: string[] | RowError): void {
    if (!Array.isArray(parsed)) {
      this.rows.push({ line: rec.line, record: rawFields(rec.raw), error: parsed });
      return;
    }
    const item = toItem(this.header!, this.mode, parsed, this.opts);
    if ('code' in item) this.rows.push({ line: rec.line, record: parsed, error: item as RowError });
    else {
      this.rows.push({ line: rec.line, record: parsed, item: this.batch.length });
      this.batch.push(item);
    }
  }

  flush(): Promise<void> {
    const batch = this.batch;
    const rows = this.rows;
    this.batch = [];
    this.rows = [];
    return this.pipeline.flush(batch, rows);
  }

  /** After the last record: sends what is left, unless interrupted. */
  async finish(): Promise<void> {
    if (!this.header) throw new CsvImportError('the file is empty: a header row is required');
    if (this.interrupted) {
      // The rows of the unsent batch are left for the next run: sending a partial batch now would
      // give its key different rows than the same batch of a resumed run (IDEMPOTENCY_KEY_REUSED).
      this.outcome.progress.rows -= this.rows.length;
      this.rows = [];
    } else await this.flush();
    await this.pipeline.recorded();
    this.outcome.report();
  }

  summary(t0: number): ImportSummary {
    const elapsedMs = Date.now() - t0;
    const progress = this.outcome.progress;
    return {
      ...progress,
      mode: this.mode,
      dryRun: !!this.opts.dryRun,
      seed: this.opts.seed,
      replayedBatches: this.outcome.replayedBatches,
      elapsedMs,
      rowsPerSecond: Math.round((progress.rows * 1000) / Math.max(1, elapsedMs)),
      interrupted: this.interrupted,
    };
  }
}

/** Imports one CSV stream. Throws CsvImportError for problems with the file as a whole. */
export async function importCsv(app: App, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const { batchSize, concurrency } = checkOptions(opts);
  const run = new ImportRun(app, opts, batchSize, concurrency);
  const records = rawRecords(opts.input);
  try {
    for await (const rec of records) if (!(await run.take(rec))) break;
    await run.finish();
  } finally {
    if (run.interrupted || !run.header) {
      await records.return(undefined);
      opts.input.destroy();
    }
    // Never leave a batch running behind the caller's back (it closes the database next).
    await run.pipeline.settle();
    run.outcome.end();
  }
  await run.outcome.finished();
  return run.summary(t0);
}
