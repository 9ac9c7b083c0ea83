/**
 * The process-wide budget for rendering subscription events (executing a subscription's selection
 * for one event). A burst of events makes rendering lag; it must not starve the process: socket
 * writes, pings, HTTP requests and the event hub all share this one thread.
 *
 * Two limits, whichever comes first:
 *  - at most `maxInFlight` executions at once (each one holds a context, its loaders and their
 *    database round trips);
 *  - at most `sliceMs` of synchronous rendering work per turn of the event loop: past it, further
 *    executions start on a later turn (`setImmediate`), after the I/O waiting meanwhile.
 *
 * Work waits in order (first submitted, first started). Nothing here knows about subscribers: the
 * lag it causes is the server's, and is never counted against a subscriber (see Member).
 */
export type Defer = (fn: () => void) => void;

export class RenderBudget {
  private inFlight = 0;
  /** Synchronous time spent rendering in the current turn. */
  private usedMs = 0;
  private turnOpen = false;
  private draining = false;
  private queue: (() => void)[] = [];
  private head = 0;

  constructor(
    private readonly maxInFlight: number,
    private readonly sliceMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly defer: Defer = (fn) => void setImmediate(fn),
  ) {}

  /** Executions running, and waiting for the budget. */
  get stats(): { running: number; waiting: number } {
    return { running: this.inFlight, waiting: this.queue.length - this.head };
  }

  /** Runs `start` when the budget allows (now, if it does). `start` must call `finished()` once its work is done. */
  submit(start: () => void): void {
    this.queue.push(start);
    this.drain();
  }

  /** Synchronous rendering work done outside `start` (serializing a result): counted in this turn. */
  charge(ms: number): void {
    this.openTurn();
    this.usedMs += ms;
  }

  /** One execution is done: its slot goes to the next in line. */
  finished(): void {
    this.inFlight--;
    this.drain();
  }

  private openTurn(): void {
    if (this.turnOpen) return;
    this.turnOpen = true;
    this.defer(() => {
      this.turnOpen = false;
      this.usedMs = 0;
      this.drain();
    });
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.head < this.queue.length && this.inFlight < this.maxInFlight && this.usedMs < this.sliceMs) {
        const start = this.queue[this.head];
        this.queue[this.head++] = noop;
        this.inFlight++;
        this.openTurn();
        const t0 = this.now();
        try {
          start();
        } finally {
          this.usedMs += this.now() - t0;
        }
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.draining = false;
    }
  }
}

const noop = () => undefined;
