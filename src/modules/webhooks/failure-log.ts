/**
 * Rate limit of webhook failure logs, per subscription: the first failure of a subscription is
 * logged at once; later ones at most once per interval, each such line carrying how many failures
 * were not logged since the previous one (and their causes). A success after failures is reported
 * once ("recovered"), with the count. Pure: the clock is injected. One per process.
 */

/** At most one failure log line per subscription per this many milliseconds. */
export const WEBHOOK_FAILURE_LOG_INTERVAL_MS = 60_000;

interface State {
  lastLoggedAt: number;
  /** Failures since the last logged line (not logged). */
  suppressed: number;
  /** Their causes, counted. */
  causes: Record<string, number>;
  /** Failures since the last success. */
  failures: number;
}

export type FailureDecision =
  { log: false } | { log: true; suppressed: number; suppressedCauses: Record<string, number>; failures: number };

export class FailureLog {
  private readonly subs = new Map<string, State>();

  constructor(
    private readonly intervalMs = WEBHOOK_FAILURE_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure; says whether to log it, and what was held back since the last line. */
  failure(subscriptionId: string, cause: string): FailureDecision {
    const t = this.now();
    const s = this.subs.get(subscriptionId);
    if (!s) {
      this.subs.set(subscriptionId, { lastLoggedAt: t, suppressed: 0, causes: {}, failures: 1 });
      return { log: true, suppressed: 0, suppressedCauses: {}, failures: 1 };
    }
    s.failures++;
    if (t - s.lastLoggedAt >= this.intervalMs) {
      const d: FailureDecision = { log: true, suppressed: s.suppressed, suppressedCauses: s.causes, failures: s.failures };
      s.lastLoggedAt = t;
      s.suppressed = 0;
      s.causes = {};
      return d;
    }
    s.suppressed++;
    s.causes[cause] = (s.causes[cause] ?? 0) + 1;
    return { log: false };
  }

  /** Records a success: the number of failures it ends (0: nothing to report). */
  success(subscriptionId: string): number {
    const s = this.subs.get(subscriptionId);
    if (!s) return 0;
    this.subs.delete(subscriptionId);
    return s.failures;
  }

  /** Forgets a subscription (disabled or deleted). */
  forget(subscriptionId: string): void {
    this.subs.delete(subscriptionId);
  }

  get size(): number {
    return this.subs.size;
  }
}
