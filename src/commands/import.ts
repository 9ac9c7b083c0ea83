/**
 * `npm run import -- FILE.csv [--mode set|adjust] [--warehouse CODE] [--dry-run] [--store HANDLE]
 *   [--seed TEXT] [--errors FILE] [--reason REASON] [--note TEXT] [--batch-size N] [--json] [--quiet]`
 *
 * Streams a CSV of stock counts (mode set) or adjustments (mode adjust) into a store through the
 * bulk path, as an admin of that store. Progress goes to stderr, the summary to stdout;
 * rows that fail go to FILE.errors.csv. Exit code: 0 all rows applied (or already applied),
 * 2 some rows failed, 1 the import could not run, 130 interrupted. See docs/CSV.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { parseCliArgs, type ArgSpec } from './args';
import type { CommandContext, OutStream } from './io';
import type { AuthInfo } from '../graphql/scopes';
import {
  CsvImportError,
  MAX_SEED_LENGTH,
  fileSeed,
  importCsv,
  type ImportMode,
  type ImportProgress,
  type ImportSummary,
} from '../modules/csv/csv-import.service';
import { importInboundCsv } from '../modules/csv/inbound-import.service';
import { MOVEMENT_REASONS, type MovementReason } from '../modules/stock';
import { LIMITS } from '../validation';

const USAGE = `usage: npm run import -- FILE.csv [--mode set|adjust] [--warehouse CODE] [--dry-run] [--store HANDLE]
         [--seed TEXT] [--errors FILE] [--reason REASON] [--note TEXT] [--batch-size N] [--concurrency N] [--json] [--quiet]
       npm run import -- LINES.csv --inbound [--store HANDLE] [--seed TEXT] [--json]   (inbound shipment lines)`;

const ARGS: ArgSpec = {
  strings: ['mode', 'warehouse', 'store', 'seed', 'errors', 'reason', 'note', 'batch-size', 'concurrency'],
  booleans: ['dry-run', 'json', 'quiet', 'inbound'],
  usage: USAGE,
  error: (message) => new CsvImportError(message),
};

function parseArgs(argv: string[]): { file: string; flags: Record<string, string | undefined>; bools: Set<string> } {
  const { values, flags, positionals } = parseCliArgs(argv, ARGS);
  if (positionals.length !== 1) throw new CsvImportError(`give exactly one CSV file\n${USAGE}`);
  return { file: positionals[0], flags: values, bools: flags };
}

const DEFAULT_CONCURRENCY = 2;

const num = (n: number) => n.toLocaleString('en-US');

function secs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** A cli-progress bar on a terminal; a line every few seconds otherwise (logs, CI, pipes). */
function progressReporter(stderr: OutStream, totalBytes: number, quiet: boolean) {
  const t0 = Date.now();
  const rate = (p: ImportProgress) => Math.round((p.rows * 1000) / Math.max(1, Date.now() - t0));
  if (quiet) return { update: (_p: ImportProgress) => undefined, stop: () => undefined };
  if (stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stderr as NodeJS.WritableStream,
        format: 'import |{bar}| {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted} | failed {failed}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, totalBytes), 0, { rows: 0, rate: 0, failed: 0 });
    return {
      update: (p: ImportProgress) => bar.update(p.bytes, { rows: num(p.rows), rate: num(rate(p)), failed: num(p.failed) }),
      stop: () => bar.stop(),
    };
  }
  let last = t0;
  return {
    update: (p: ImportProgress) => {
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      const frac = totalBytes > 0 ? Math.min(1, p.bytes / totalBytes) : 0;
      const eta = frac > 0 ? ((now - t0) / 1000) * ((1 - frac) / frac) : Infinity;
      stderr.write(
        `import: ${num(p.rows)} rows (${Math.round(frac * 100)}%), ${num(rate(p))} rows/s, ETA ${secs(eta)}, failed ${num(p.failed)}\n`,
      );
    },
    stop: () => undefined,
  };
}

function summaryText(s: ImportSummary, file: string, store: string, errorsFile: string): string {
  const lines = [
    `${s.dryRun ? 'Dry run of' : 'Imported'} ${file} into store "${store}" (mode ${s.mode}, seed ${s.seed}):`,
    `  rows read        ${num(s.rows)}`,
    `  ${s.dryRun ? 'would apply    ' : 'applied        '}  ${num(s.applied)}`,
    `  already applied  ${num(s.alreadyApplied)}${s.alreadyApplied ? ` (${num(s.replayedBatches)} batch(es) committed by an earlier run with this seed; not applied again)` : ''}`,
    ...(s.unchanged ? [`  unchanged        ${num(s.unchanged)} (read-only warehouse, quantity as it is: nothing to do)`] : []),
    `  failed           ${num(s.failed)}${s.failed ? ` → ${errorsFile}` : ''}`,
    `  time             ${(s.elapsedMs / 1000).toFixed(1)} s (${num(s.rowsPerSecond)} rows/s, ${num(s.batches)} batch(es))`,
  ];
  if (s.dryRun) lines.push('Nothing was changed (dry run: every batch ran in a transaction that was rolled back).');
  if (s.interrupted) lines.push('Interrupted: run the same command again to continue; committed batches will not be applied twice.');
  return lines.join('\n') + '\n';
}

/** The command line, checked: every bad option is one clear CsvImportError. */
function options(argv: string[], cwd: string) {
  const { file, flags, bools } = parseArgs(argv);
  const filePath = path.resolve(cwd, file);
  const mode = flags.mode as ImportMode | undefined;
  if (mode !== undefined && mode !== 'set' && mode !== 'adjust') throw new CsvImportError('--mode must be set or adjust');
  const reason = flags.reason?.toUpperCase() as MovementReason | undefined;
  if (reason !== undefined && !MOVEMENT_REASONS.includes(reason))
    throw new CsvImportError(`--reason must be one of ${MOVEMENT_REASONS.join(', ')}`);
  const batchSize = flags['batch-size'] !== undefined ? Number(flags['batch-size']) : LIMITS.bulkItems;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > LIMITS.bulkItems)
    throw new CsvImportError(`--batch-size must be between 1 and ${LIMITS.bulkItems}`);
  const concurrency = flags.concurrency !== undefined ? Number(flags.concurrency) : undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32))
    throw new CsvImportError('--concurrency must be between 1 and 32');
  if (flags.seed !== undefined && flags.seed.length > MAX_SEED_LENGTH)
    throw new CsvImportError(`--seed must be at most ${MAX_SEED_LENGTH} characters`);
  let size: number;
  try {
    const st = fs.statSync(filePath);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new CsvImportError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return { file, flags, bools, filePath, mode, reason, batchSize, concurrency, size };
}

/** `--inbound`: the file holds inbound shipment lines (docs/CSV.md); each reference becomes one shipment. */
async function runInbound(ctx: CommandContext, o: ReturnType<typeof options>): Promise<number> {
  const storeCode = o.flags.store ?? 'demo';
  const app = await ctx.app();
  const store = await app.db.prisma.store.findUnique({ where: { code: storeCode } });
  if (!store) throw new CsvImportError(`store "${storeCode}" does not exist`);
  const auth: AuthInfo = { keyId: 'cli', storeId: store.id, kind: 'sk', scopes: ['admin'], actor: 'cli:csv-import-inbound' };
  const seed = o.flags.seed ?? (await fileSeed(o.filePath, { store: storeCode, inbound: true }));
  const s = await importInboundCsv(app, { auth, input: fs.createReadStream(o.filePath), seed });
  if (o.bools.has('json')) ctx.io.stdout.write(JSON.stringify({ file: o.file, store: storeCode, ...s }) + '\n');
  else {
    const lines = [
      `Imported inbound lines of ${o.file} into store "${storeCode}" (seed ${seed}):`,
      `  rows read        ${num(s.rows)}`,
      `  shipments        ${num(s.shipments)} (created ${num(s.created)}, already created ${num(s.alreadyCreated)}, failed ${num(s.failed)})`,
      ...s.failures.map(
        (f) => `  ${f.line != null ? `line ${f.line}` : 'file'}${f.reference ? ` (${f.reference})` : ''}: ${f.code} ${f.message}`,
      ),
    ];
    ctx.io.stdout.write(lines.join('\n') + '\n');
  }
  return s.failed > 0 || s.failures.length > 0 ? 2 : 0;
}

export async function run(ctx: CommandContext): Promise<number> {
  const { argv, io, app: open } = ctx;
  const o = options(argv, io.cwd);
  if (o.bools.has('inbound')) return runInbound(ctx, o);
  const { file, flags, bools, filePath, mode, reason, batchSize, concurrency, size } = o;
  const storeCode = flags.store ?? 'demo';
  const errorsFile = flags.errors ?? `${file}.errors.csv`;
  const errorsPath = path.resolve(io.cwd, errorsFile);
  const dryRun = bools.has('dry-run');

  const app = await open();
  {
    const store = await app.db.prisma.store.findUnique({ where: { code: storeCode } });
    if (!store)
      throw new CsvImportError(
        `store "${storeCode}" does not exist${storeCode === 'demo' ? ' (load it with `npm run seed`, or pass --store)' : ''}`,
      );
    const auth: AuthInfo = { keyId: 'cli', storeId: store.id, kind: 'sk', scopes: ['admin'], actor: 'cli:csv-import' };
    const seed =
      flags.seed ?? (await fileSeed(filePath, { store: storeCode, mode, warehouse: flags.warehouse, reason, note: flags.note, batchSize }));

    const abort = new AbortController();
    const offInterrupt = io.onInterrupt(() => {
      if (abort.signal.aborted) return;
      io.stderr.write('\nStopping after the batches in flight (Ctrl-C again to quit at once)…\n');
      abort.abort();
    });
    const progress = progressReporter(io.stderr, size, bools.has('quiet'));
    const errors = fs.createWriteStream(errorsPath);
    let summary: ImportSummary;
    try {
      summary = await importCsv(app, {
        auth,
        input: fs.createReadStream(filePath),
        mode,
        warehouse: flags.warehouse ?? null,
        reason: reason ?? null,
        note: flags.note ?? null,
        dryRun,
        seed,
        batchSize,
        // Each batch in flight holds a connection: the embedded database has only one.
        concurrency: Math.min(concurrency ?? DEFAULT_CONCURRENCY, app.config.poolSize),
        errors,
        onProgress: (p) => progress.update(p),
        signal: abort.signal,
      });
    } catch (e) {
      // Stopped before the header was read (nothing written): leave no empty errors file behind.
      await finished(errors).catch(() => undefined);
      if (fs.statSync(errorsPath, { throwIfNoEntry: false })?.size === 0) fs.rmSync(errorsPath, { force: true });
      throw e;
    } finally {
      progress.stop();
      offInterrupt();
    }
    // The errors file is only kept when rows failed (a clean run leaves no stale one behind).
    if (summary.failed === 0) fs.rmSync(errorsPath, { force: true });
    if (bools.has('json'))
      io.stdout.write(JSON.stringify({ file, store: storeCode, errorsFile: summary.failed ? errorsFile : null, ...summary }) + '\n');
    else io.stdout.write(summaryText(summary, file, storeCode, errorsFile));
    return summary.interrupted ? 130 : summary.failed > 0 ? 2 : 0;
  }
}
