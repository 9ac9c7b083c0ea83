/** The import's counters and its errors CSV, fed with each batch's outcome in file order. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify, type Stringifier } from 'csv-stringify';
import type { UserErrorShape } from '../../graphql/errors';
import type { BulkResult } from '../inventory';
import type { ImportProgress, PendingRow, RowError } from './import-types';

function joinErrors(errors: UserErrorShape[]): RowError {
  return { code: errors[0].code, message: errors.map((e) => e.message).join('; ') };
}

export class ImportOutcome {
  readonly progress: ImportProgress = { rows: 0, applied: 0, alreadyApplied: 0, unchanged: 0, failed: 0, batches: 0, bytes: 0 };
  replayedBatches = 0;
  /** The errors CSV: line, error_code, error_message, then the row as it was. */
  private readonly out: Stringifier | null;
  private readonly done: Promise<void>;

  constructor(
    errors: Writable | null | undefined,
    private readonly onProgress?: (p: Readonly<ImportProgress>) => void,
  ) {
    this.out = errors ? stringify() : null;
    this.done = errors ? finished(errors) : Promise.resolve();
    this.done.catch(() => undefined); // awaited at the end; a failure before that must not go unhandled
    if (this.out && errors) this.out.pipe(errors);
  }

  report(): void {
    this.onProgress?.(this.progress);
  }

  writeHeader(columns: string[]): void {
    this.out?.write(['line', 'error_code', 'error_message', ...columns]);
  }

  async writeError(line: number, e: RowError, record: string[]): Promise<void> {
    this.progress.failed++;
    if (!this.out) return;
    if (!this.out.write([line, e.code, e.message, ...record])) await once(this.out, 'drain');
  }

  /** Counts the outcome of a batch and writes the errors of its rows (and of the refused rows read with it). */
  async record(pending: PendingRow[], r: BulkResult | null): Promise<void> {
    if (r) {
      this.progress.batches++;
      if (r.replayed) this.replayedBatches++;
    }
    // A refusal of the whole batch (e.g. IDEMPOTENCY_KEY_REUSED: the seed was used for other rows).
    const refused = r && r.userErrors.length ? joinErrors(r.userErrors) : null;
    const byIndex = new Map((r?.results ?? []).map((x) => [x.index, x]));
    for (const p of pending) {
      if (p.error) {
        await this.writeError(p.line, p.error, p.record);
        continue;
      }
      if (p.unchanged) {
        this.progress.unchanged++;
        continue;
      }
      const res = byIndex.get(p.item!);
      if (refused) await this.writeError(p.line, refused, p.record);
      else if (res && res.userErrors.length) await this.writeError(p.line, joinErrors(res.userErrors), p.record);
      else if (r!.replayed) this.progress.alreadyApplied++;
      else this.progress.applied++;
    }
    this.report();
  }

  /** Ends the errors CSV (call once, whatever happened). */
  end(): void {
    this.out?.end();
  }

  /** Resolves when the errors CSV is written out (rejects if writing it failed). */
  finished(): Promise<void> {
    return this.done;
  }
}
