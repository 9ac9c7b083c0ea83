/**
 * Per-store ordering of events that arrive from JetStream (NATS_URL set): each store's events
 * reach the hub's fan-out once, in seq order, with no gap.
 *
 * An event at or below the store's published position is dropped (a re-publication, a replayed
 * message). An event past the next one reveals a gap (events relayed before this process followed
 * the store, messages lost while nats-server restarted, a relay batch published out of order after
 * a failure): the missing ones are read from event_log first. `repair` does the same when the hub's
 * periodic check sees the store's head ahead of what arrived. Reads for one store never overlap.
 */
import type { OutboxEvent } from './outbox';

/** Events held per store while a gap is read; past it, later ones are read from event_log too. */
const MAX_QUEUED = 10_000;
const READ_PAGE = 500;

interface StoreState {
  queue: OutboxEvent[];
  /** Everything through this seq must be published (repair). */
  target: number;
  busy: boolean;
}

export class StoreIntake {
  private readonly states = new Map<string, StoreState>();
  /** Events published as they came from JetStream, and events read from event_log to fill gaps. */
  readonly counts = { stream: 0, log: 0 };

  constructor(
    /** The store's published position, or undefined when the store is not followed here. */
    private readonly positionOf: (storeId: string) => number | undefined,
    /** event_log: the store's events after `after`, at most `limit`, in order. */
    private readonly read: (storeId: string, after: number, limit: number) => Promise<OutboxEvent[]>,
    /** Publishes events (in seq order per store, each past the position) and moves the position. */
    private readonly emit: (events: OutboxEvent[]) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  /** An event from JetStream. */
  offer(e: OutboxEvent): void {
    const pos = this.positionOf(e.storeId);
    if (pos === undefined) return void this.states.delete(e.storeId);
    const st = this.state(e.storeId);
    if (!st.busy && st.queue.length === 0 && e.seq <= pos) return;
    if (!st.busy && st.queue.length === 0 && e.seq === pos + 1 && st.target <= pos) {
      this.counts.stream++;
      return this.emit([e]);
    }
    if (st.queue.length >= MAX_QUEUED) st.target = Math.max(st.target, e.seq);
    else st.queue.push(e);
    if (!st.busy) void this.drain(e.storeId, st);
  }

  /** Makes sure every event of the store through `through` gets published (read from event_log if need be). */
  repair(storeId: string, through: number): void {
    const pos = this.positionOf(storeId);
    if (pos === undefined || through <= pos) return;
    const st = this.state(storeId);
    st.target = Math.max(st.target, through);
    if (!st.busy) void this.drain(storeId, st);
  }

  /** Whether a store is reading a gap (tests, settling). */
  get busy(): boolean {
    for (const s of this.states.values()) if (s.busy) return true;
    return false;
  }

  private state(storeId: string): StoreState {
    let st = this.states.get(storeId);
    if (!st) this.states.set(storeId, (st = { queue: [], target: 0, busy: false }));
    return st;
  }

  /** Publishes what is contiguous; reads the gaps; until nothing is missing. */
  private async drain(storeId: string, st: StoreState): Promise<void> {
    st.busy = true;
    try {
      for (;;) {
        let pos = this.positionOf(storeId);
        if (pos === undefined) return void this.states.delete(storeId);
        st.queue.sort((a, b) => a.seq - b.seq);
        const ready: OutboxEvent[] = [];
        while (st.queue.length > 0 && st.queue[0].seq <= pos + 1) {
          const e = st.queue.shift()!;
          if (e.seq === pos + 1) {
            ready.push(e);
            pos = e.seq;
          }
        }
        if (ready.length > 0) {
          this.counts.stream += ready.length;
          this.emit(ready);
        }
        const need = Math.max(st.target, st.queue.length > 0 ? st.queue[0].seq - 1 : 0);
        if (need <= pos) return;
        const page = await this.read(storeId, pos, Math.min(need - pos, READ_PAGE));
        // Not readable yet (should not happen: relayed events are in event_log): the next offer or check retries.
        if (page.length === 0) return;
        this.counts.log += page.length;
        this.emit(page);
      }
    } catch (e) {
      this.onError(e as Error);
    } finally {
      st.busy = false;
    }
  }
}
