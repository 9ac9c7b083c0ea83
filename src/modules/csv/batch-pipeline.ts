/**
 * The import's batches in flight. Up to `concurrency` batches run at once, each in its own
 * transaction. A batch waits for every in-flight batch that touches one of its (sku, warehouse)
 * pairs, so rows for the same level are applied in file order; rows addressed by externalId + label
 * wait for all earlier batches. Outcomes are recorded in file order through `tail`.
 */
import type { BulkItem, BulkResult } from '../inventory';
import type { ImportOutcome } from './import-outcome';
import type { PendingRow } from './import-types';
import { withoutNoops, type ReadOnlyNoops } from './read-only-noop';

interface InFlight {
  pairs: Set<string>;
  barrier: boolean;
  settled: Promise<void>;
}

const conflicts = (f: InFlight, pairs: Set<string>, barrier: boolean) => barrier || f.barrier || [...pairs].some((k) => f.pairs.has(k));

function levelsOf(items: BulkItem[]): { pairs: Set<string>; barrier: boolean } {
  const pairs = new Set<string>();
  let barrier = false;
  for (const it of items) {
    if (it.sku != null) pairs.add(`${it.sku}\n${it.warehouseCode}`);
    else barrier = true;
  }
  return { pairs, barrier };
}

export class BatchPipeline {
  private readonly inFlight = new Set<InFlight>();
  private tail: Promise<void> = Promise.resolve();
  private launched = 0;
  private failure: unknown = null;

  constructor(
    private readonly concurrency: number,
    private readonly send: (items: BulkItem[], n: number) => Promise<BulkResult>,
    private readonly noops: ReadOnlyNoops,
    private readonly outcome: ImportOutcome,
  ) {}

  /** Sends the batch (if any); its outcome is recorded after those of the batches before it. */
  async flush(batch: BulkItem[], pending: PendingRow[]): Promise<void> {
    // Batch numbers follow the file (a batch with a valid row gets one), whatever is skipped below.
    const n = batch.length ? ++this.launched : 0;
    const items = batch.length ? withoutNoops(batch, pending, await this.noops.find(batch)) : batch;
    if (items.length === 0) {
      this.chain(async () => this.outcome.record(pending, null));
      return;
    }
    const { pairs, barrier } = levelsOf(items);
    await this.waitForRoom(pairs, barrier);
    const call = this.send(items, n);
    const entry: InFlight = {
      pairs,
      barrier,
      settled: call.then(
        () => undefined,
        () => undefined,
      ),
    };
    this.inFlight.add(entry);
    void entry.settled.then(() => this.inFlight.delete(entry));
    call.catch((e) => (this.failure ??= e));
    this.chain(async () => this.outcome.record(pending, await call));
    // Keep the recorded outcomes (and the errors file) close behind the batches in flight.
    if (this.inFlight.size > 0 && this.launched - this.outcome.progress.batches > this.concurrency * 2) await this.tail;
  }

  /** Resolves once every outcome so far is recorded (rejects with the first failure). */
  recorded(): Promise<void> {
    return this.tail;
  }

  /** Waits for every batch still running, whatever its outcome (the caller closes the database next). */
  async settle(): Promise<void> {
    await Promise.all([...this.inFlight].map((f) => f.settled));
    await this.tail.catch(() => undefined);
  }

  private chain(step: () => Promise<void>): void {
    this.tail = this.tail.then(step);
    this.tail.catch(() => undefined); // awaited later
  }

  private async waitForRoom(pairs: Set<string>, barrier: boolean): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const blocking = [...this.inFlight].filter((f) => conflicts(f, pairs, barrier));
      if (this.inFlight.size < this.concurrency && blocking.length === 0) return;
      await Promise.race((blocking.length ? blocking : [...this.inFlight]).map((f) => f.settled));
    }
  }
}
