/**
 * A job that runs when poked and every `intervalMs` in any case, never twice at once: pokes that
 * arrive during a run cause exactly one more run after it. The shape of the event hub's pump, the
 * webhook worker, the sweeper and the revocation watcher.
 *
 * `minGapMs` (default 0) spaces the starts of runs at least that far apart: a poke that comes
 * sooner after the last start waits out the rest of the gap, and every poke meanwhile joins that
 * one run. A poke after a quiet spell still runs at once.
 */
export class CoalescedLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastStart = -Infinity;

  constructor(
    private readonly job: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (e: Error) => void,
    private readonly minGapMs = 0,
  ) {}

  /** Starts the interval (the first run comes after one interval, or at the first poke). */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.poke();
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, this.intervalMs);
    this.timer.unref();
  }

  /** Runs the job now, or once more after the run in progress. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        // Pokes during the wait set `again`, and this run, which starts after them, answers them.
        // (A timer may fire a fraction of a millisecond early: hence the loop.)
        for (let wait: number; (wait = this.lastStart + this.minGapMs - performance.now()) > 0;)
          await new Promise((r) => setTimeout(r, Math.ceil(wait)));
        if (this.stopped) break;
        this.again = false;
        this.lastStart = performance.now();
        await this.job().catch((e: Error) => this.onError(e));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
      // A poke can come after the loop's last check and before this callback (a microtask queued
      // earlier runs in between): it only set `again`, so it runs now instead of waiting for the
      // interval.
      if (this.again) this.poke();
    });
  }

  /** Whether a run is in progress (a poke now only asks for one more run after it). */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Waits until no run is in progress (including the runs pokes asked for meanwhile). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops the interval and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
