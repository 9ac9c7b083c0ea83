/**
 * Rate-limit charges without a statement per request: each gateway process LEASES points from the
 * key's shared bucket (PostgreSQL, `rate_limit_buckets`) and charges requests against its lease in
 * memory. A statement runs only when the lease runs short (then one statement serves every charge
 * of that key waiting meanwhile: group commit), and when a lease falls idle (the unused points go
 * back).
 *
 * Exactness across instances: every point granted anywhere was first taken from the shared bucket
 * by one guarded statement, so all instances together never grant more than the bucket holds plus
 * its refill — the same bound as a statement per request. The error goes the other way and is
 * bounded: an instance holds at most `leaseSize(bucket)` unused points per key (5 % of the bucket,
 * at most half a second of refill) plus the refunds of the last `EXCESS_RETURN_MS`, and gives them
 * back after `LEASE_IDLE_MS` without a request of that key (or at shutdown), so another instance may
 * refuse a request early by at most that many points, for at most that long. The `currentlyAvailable` a response reports is this instance's
 * estimate: the shared level it last saw, plus refill since, plus its own lease.
 *
 * Charges of one key are served in arrival order. When the waiting charges together do not fit,
 * they are charged one at a time, each against the lease and then the bucket, exactly as without
 * leases (a refused charge takes nothing).
 */
export interface BucketConfig {
  /** maximumAvailable: the bucket size. */
  size: number;
  /** restoreRate: points per second. */
  restoreRate: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface Charge {
  granted: boolean;
  status: ThrottleStatus;
  /** When refused: how long until the cost fits. */
  retryAfterMs: number;
}

/** The shared bucket: two guarded statements (rate-limit.ts) or, in unit tests, a model of them. */
export interface SharedBucket {
  /**
   * Refills the key's bucket by elapsed time, then, if at least `need` points are there, takes
   * `min(level, want)` of them (want ≥ need); otherwise takes nothing. Returns what it took and
   * the level it found (after refill, before taking).
   */
  take(keyId: string, need: number, want: number): Promise<{ taken: number; level: number }>;
  /** Gives `points` back to the key's bucket (capped at its size). */
  giveBack(keyId: string, points: number): Promise<void>;
}

/** How long a lease may sit unused before its points go back to the shared bucket. */
export const LEASE_IDLE_MS = 1_000;
/** Refunds that grow a lease past leaseSize() go back to the shared bucket within this (one statement for all of them). */
export const EXCESS_RETURN_MS = 50;

/** Points an instance takes beyond what the waiting charges need: 5 % of the bucket, at most 0.5 s of refill. */
export const leaseSize = (b: BucketConfig): number => Math.max(0, Math.floor(Math.min(b.size * 0.05, b.restoreRate * 0.5)));

interface Waiting {
  cost: number;
  resolve: (c: Charge) => void;
  reject: (e: unknown) => void;
}

interface KeyState {
  /** Points this instance holds for the key. */
  lease: number;
  /** The shared level after the last statement, and when it was read (for the estimate). */
  shared: number;
  sharedAt: number;
  queue: Waiting[];
  /** The drain in progress (statements for waiting charges), if any. */
  running?: Promise<void>;
  idle?: NodeJS.Timeout;
  excess?: NodeJS.Timeout;
}

export class BucketLeases {
  private readonly keys = new Map<string, KeyState>();
  private closed = false;

  constructor(
    private readonly bucket: BucketConfig,
    private readonly shared: SharedBucket,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `cost` points for the key if they are there (lease first, then the shared bucket). */
  charge(keyId: string, cost: number): Promise<Charge> {
    const s = this.state(keyId);
    if (!s.running && s.queue.length === 0 && s.lease >= cost) {
      s.lease -= cost;
      this.touch(keyId, s);
      return Promise.resolve(this.granted(s));
    }
    return new Promise((resolve, reject) => {
      s.queue.push({ cost, resolve, reject });
      s.running ??= this.drain(keyId, s);
    });
  }

  /** Gives back points charged but not used; returns the estimate of what is available now. */
  refund(keyId: string, points: number): number {
    const s = this.state(keyId);
    s.lease = Math.min(this.bucket.size, s.lease + points);
    this.touch(keyId, s);
    if (s.lease > leaseSize(this.bucket) && !s.excess && !this.closed) {
      s.excess = setTimeout(() => void this.returnExcess(keyId, s).catch(() => undefined), EXCESS_RETURN_MS);
      s.excess.unref();
    }
    return this.estimate(s);
  }

  /** What refunds added beyond leaseSize() goes back, so that no instance sits on much more than its lease. */
  private async returnExcess(keyId: string, s: KeyState): Promise<void> {
    s.excess = undefined;
    if (s.running) await s.running;
    const excess = s.lease - leaseSize(this.bucket);
    if (excess <= 0 || this.keys.get(keyId) !== s) return;
    s.lease -= excess;
    s.shared += excess;
    await this.shared.giveBack(keyId, excess);
  }

  /** Returns every lease to the shared bucket (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.keys.values()].map((s) => s.running));
    await Promise.all([...this.keys.keys()].map((k) => this.release(k)));
  }

  private state(keyId: string): KeyState {
    let s = this.keys.get(keyId);
    if (!s) this.keys.set(keyId, (s = { lease: 0, shared: this.bucket.size, sharedAt: this.now(), queue: [] }));
    return s;
  }

  private estimate(s: KeyState): number {
    const refill = ((this.now() - s.sharedAt) / 1000) * this.bucket.restoreRate;
    return Math.floor(Math.min(this.bucket.size, s.shared + refill + s.lease));
  }

  private granted(s: KeyState): Charge {
    return { granted: true, retryAfterMs: 0, status: this.status(s) };
  }

  private status(s: KeyState): Charge['status'] {
    return { maximumAvailable: this.bucket.size, currentlyAvailable: this.estimate(s), restoreRate: this.bucket.restoreRate };
  }

  /** Serves the waiting charges in order; one statement for all of them when they fit together. */
  private async drain(keyId: string, s: KeyState): Promise<void> {
    await Promise.resolve(); // let `running` be set before the first statement can finish
    try {
      while (s.queue.length > 0) {
        const batch = s.queue.splice(0);
        try {
          await this.serve(keyId, s, batch);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      s.running = undefined;
      this.touch(keyId, s);
    }
  }

  private async serve(keyId: string, s: KeyState, batch: Waiting[]): Promise<void> {
    const total = batch.reduce((n, w) => n + w.cost, 0);
    if (total > s.lease) {
      const need = total - s.lease;
      const r = await this.take(keyId, s, need, need + leaseSize(this.bucket));
      if (r.taken === 0 && batch.length > 1) {
        // Together they do not fit: one at a time, in order, as without leases.
        for (const w of batch) w.resolve(await this.chargeOne(keyId, s, w.cost));
        return;
      }
      if (r.taken === 0) return batch[0].resolve(this.refused(s, batch[0].cost));
    }
    for (const w of batch) {
      s.lease -= w.cost;
      w.resolve(this.granted(s));
    }
  }

  private async chargeOne(keyId: string, s: KeyState, cost: number): Promise<Charge> {
    if (cost > s.lease && (await this.take(keyId, s, cost - s.lease, cost - s.lease)).taken === 0) return this.refused(s, cost);
    s.lease -= cost;
    return this.granted(s);
  }

  private async take(keyId: string, s: KeyState, need: number, want: number): Promise<{ taken: number }> {
    const r = await this.shared.take(keyId, need, want);
    s.lease += r.taken;
    s.shared = r.level - r.taken;
    s.sharedAt = this.now();
    return r;
  }

  private refused(s: KeyState, cost: number): Charge {
    const have = s.shared + s.lease;
    return {
      granted: false,
      status: this.status(s),
      retryAfterMs: Math.max(1, Math.ceil(((cost - have) / this.bucket.restoreRate) * 1000)),
    };
  }

  /** (Re)arms the idle timer: a lease unused for LEASE_IDLE_MS goes back. */
  private touch(keyId: string, s: KeyState): void {
    if (s.idle) clearTimeout(s.idle);
    s.idle = undefined;
    if (s.lease <= 0 || this.closed) return;
    s.idle = setTimeout(() => void this.release(keyId).catch(() => undefined), LEASE_IDLE_MS);
    s.idle.unref();
  }

  private async release(keyId: string): Promise<void> {
    const s = this.keys.get(keyId);
    if (!s || s.running || s.queue.length > 0) return;
    if (s.idle) clearTimeout(s.idle);
    if (s.excess) clearTimeout(s.excess);
    s.idle = s.excess = undefined;
    const points = s.lease;
    this.keys.delete(keyId);
    if (points > 0) await this.shared.giveBack(keyId, points);
  }
}
