/**
 * Group commit for independent requests that one statement can serve together.
 *
 * `add()` queues an item. While fewer than `maxInFlight` batches are running, a batch starts at
 * once with everything queued (at most `maxBatch` items); otherwise items wait for the next free
 * slot and go together. Under no load every item runs alone, so latency does not grow; under load
 * one statement (one lock acquisition, one commit, one WAL flush) serves many requests.
 *
 * `exec` answers each item of its batch in order (same length). If it throws, every item of that
 * batch is rejected with the error; callers decide what a failure means for their item.
 */
export interface BatcherOptions {
  maxInFlight: number;
  maxBatch: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;

  constructor(
    private readonly exec: (items: I[]) => Promise<O[]>,
    private readonly opts: BatcherOptions,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.inFlight < this.opts.maxInFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.maxBatch);
        try {
          const out = await this.exec(batch.map((p) => p.item));
          if (out.length !== batch.length) throw new Error(`batch answered ${out.length} of ${batch.length} items`);
          batch.forEach((p, i) => p.resolve(out[i]));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
