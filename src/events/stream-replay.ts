/**
 * Resume from JetStream (NATS_URL set; docs/SCALING.md "Resume"): a subscriber resuming with
 * `after` reads the store's events after its cursor from the stream while JetStream still holds
 * them, and from event_log only what the stream does not hold (events older than its retention,
 * messages it lost, or all of them when NATS is down), then joins the live feed.
 *
 * Where to start: the relay publishes each store's events in seq order, so the store's messages in
 * the stream (subject `inventory.<store>.>`) carry increasing seqs in stream order. `locateAfter`
 * binary-searches the stream sequence of the store's first message with a seq above the cursor,
 * probing with "the store's first message at or after stream sequence p" (STREAM.MSG.GET
 * `next_by_subj`): about log2(stream length) small requests, exact, with no clock involved.
 * Should the order ever be broken (a batch re-published after the duplicate window), the search only
 * lands less well: `StreamBacklog` drops every seq at or below what was handed out and reads any gap
 * from event_log, so the events stay exact either way.
 */
import { m as metrics } from '../observability/metrics';
import type { OutboxEvent } from './outbox';

/** A store's message in the stream: its stream sequence and the event's seq in the store's stream. */
export interface Located {
  streamSeq: number;
  seq: number;
}

/** Probes of one store's messages in the stream. */
export interface StreamProbe {
  /** The store's first message at or after stream sequence `from` (null: none). */
  next(from: number): Promise<Located | null>;
  /** The store's newest message (null: none). */
  last(): Promise<Located | null>;
}

/**
 * The store's first message in the stream with a seq above `after` (null: the stream holds none).
 * Invariant: the store's message at or after `lo` has a seq ≤ after; `found` (at `hi`) has one above.
 */
export async function locateAfter(probe: StreamProbe, after: number): Promise<Located | null> {
  const last = await probe.last();
  if (!last || last.seq <= after) return null;
  const first = await probe.next(1);
  if (!first || first.seq > after) return first ?? last;
  let lo = first.streamSeq;
  let found = last;
  let hi = last.streamSeq;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const m = await probe.next(mid);
    if (!m || m.seq > after) {
      // Nothing of the store from mid on (deleted meanwhile) or already past the cursor: the answer is at or before it.
      hi = mid;
      if (m && m.streamSeq <= found.streamSeq) found = m;
    } else lo = m.streamSeq;
  }
  return found;
}

/** A page of a subscriber's backlog: events after `from`, in order, no gap; `end`: read no further. */
export interface BacklogPage {
  events: OutboxEvent[];
  end: boolean;
}

/** A subscriber's backlog reader. */
export interface Backlog {
  /**
   * The events after `from` (everything through `from` has been handled; a smaller `from` than
   * before counts as the larger one). `end` once `from` reached `liveFrom`: every later event
   * comes from the live feed.
   */
  page(from: number, liveFrom: number): Promise<BacklogPage>;
  close(): void;
}

/** Reads the store's messages from a stream sequence on, in stream order. */
export interface ReplayCursor {
  /** At most `max` events; `end`: the stream held no more of the store's messages. */
  fetch(max: number): Promise<{ events: OutboxEvent[]; end: boolean }>;
  close(): void;
}

export interface ReplaySource {
  /** The store's first message with a seq above `after` (null: none in the stream). */
  locate(after: number): Promise<Located | null>;
  /** A cursor over the store's messages from stream sequence `streamSeq` on. */
  open(streamSeq: number): Promise<ReplayCursor>;
}

/** Where a resume's events came from (tests, metrics). */
export interface ReplayCounts {
  /** Events read from JetStream. */
  stream: number;
  /** Events read from event_log, and the statements that read them. */
  log: number;
  logReads: number;
}

export const REPLAY_PAGE = 500;

/**
 * A resume's backlog from JetStream, with event_log for what the stream lacks. The stream is
 * positioned at the first page (`locate`), then read in pages through one cursor; a gap before the
 * next streamed event, or the part after the stream's end up to `liveFrom`, is read from
 * event_log. A failing stream (NATS went down) ends the streaming: the rest comes from event_log.
 */
export class StreamBacklog implements Backlog {
  private buffer: OutboxEvent[] = [];
  private cursor: ReplayCursor | null = null;
  /** The stream has nothing more to give: what remains comes from event_log. */
  private exhausted = false;
  private handled = 0;

  constructor(
    private readonly source: ReplaySource,
    /** event_log: the store's events after `after`, at most `limit`, in order. */
    private readonly readLog: (after: number, limit: number) => Promise<OutboxEvent[]>,
    private readonly counts: ReplayCounts,
    private readonly onError: (e: Error) => void,
  ) {}

  async page(from: number, liveFrom: number): Promise<BacklogPage> {
    this.handled = from = Math.max(this.handled, from);
    if (from >= liveFrom) return { events: [], end: true };
    let drop = 0;
    while (drop < this.buffer.length && this.buffer[drop].seq <= from) drop++;
    if (drop > 0) this.buffer = this.buffer.slice(drop);
    if (this.buffer.length === 0 && !this.exhausted) await this.fill(from);
    const next = this.buffer[0];
    // After the stream's end: the rest up to the live position.
    if (!next) return this.fromLog(from, liveFrom - from, true);
    // A gap the stream does not hold (older than its retention, or lost).
    if (next.seq > from + 1) {
      const page = await this.fromLog(from, next.seq - 1 - from, false);
      if (page.events.length > 0) return page;
      // Not in event_log either (purged meanwhile): nobody has them; go on with the stream.
      this.handled = next.seq - 1;
    }
    const events: OutboxEvent[] = [];
    let at = this.handled;
    for (const e of this.buffer) {
      if (e.seq <= at) continue; // a duplicate
      if (e.seq !== at + 1 || events.length >= REPLAY_PAGE) break;
      events.push(e);
      at = e.seq;
    }
    this.counts.stream += events.length;
    metrics.backlogEvents.inc({ source: 'jetstream' }, events.length);
    return { events, end: false };
  }

  private async fromLog(from: number, n: number, tail: boolean): Promise<BacklogPage> {
    const events = await this.readLog(from, Math.min(n, REPLAY_PAGE));
    this.counts.logReads++;
    this.counts.log += events.length;
    metrics.backlogEvents.inc({ source: 'event_log' }, events.length);
    return { events, end: tail && events.length === 0 };
  }

  private async fill(from: number): Promise<void> {
    try {
      if (!this.cursor) {
        const at = await this.source.locate(from);
        if (!at) return void (this.exhausted = true);
        this.cursor = await this.source.open(at.streamSeq);
      }
      // Messages at or below `from` (a search that landed early) are skipped: read on.
      while (this.cursor && this.buffer.length === 0) {
        const r = await this.cursor.fetch(REPLAY_PAGE);
        this.buffer = r.events.filter((e) => e.seq > from).sort((a, b) => a.seq - b.seq);
        if (r.end) this.stopStream();
      }
    } catch (e) {
      this.onError(e as Error);
      this.stopStream();
    }
  }

  private stopStream(): void {
    this.exhausted = true;
    this.cursor?.close();
    this.cursor = null;
  }

  close(): void {
    this.stopStream();
    this.buffer = [];
  }
}
