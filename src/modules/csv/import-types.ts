/** Types and errors shared by the CSV import's units (see csv-import.service.ts). */
import type { Readable, Writable } from 'node:stream';
import type { AuthInfo } from '../../graphql/scopes';
import type { MovementReason } from '../stock';

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
  INVALID_POLICY: 'INVALID_POLICY',
  WAREHOUSE_MISMATCH: 'WAREHOUSE_MISMATCH',
} as const;

export interface RowError {
  code: string;
  message: string;
}

export interface PendingRow {
  line: number;
  record: string[];
  /** Set for rows refused before the bulk call; the others are batch[item] (or unchanged). */
  error?: RowError;
  item?: number;
  /** A no-op row for a read-only warehouse: not sent. */
  unchanged?: boolean;
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
