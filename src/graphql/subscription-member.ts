/**
 * One subscriber of a shared subscription (src/graphql/shared-subscriptions.ts): the sink of its
 * event source and the async generator graphql-ws iterates (it yields nothing: frames go straight
 * to the socket, in order; it ends on `complete`, close, cut-off or failure).
 *
 * Flow control, per subscriber:
 *  - its queue holds events not yet rendered: the server's lag, never counted against it. A full
 *    queue (`queueLimit`, or subscription memory) refuses the event and its source reads it back
 *    from the outbox later;
 *  - rendering runs ahead of sending by a window, under the process-wide budget;
 *  - sending stops while its socket holds more than `highWater` bytes the kernel has not taken, so
 *    a reader that stops reading holds at most that much;
 *  - what it is blamed for is its socket's backlog: written frames the kernel has not taken, and
 *    how long the oldest has waited (`oldestUnsentAt`). The host cuts it off (close 4290, with the
 *    cursor to resume from) when that backlog is older than the stall limit, or when subscription
 *    memory is over its cap and its backlog is among the largest.
 */
import type { WebSocket } from 'ws';
import type { OutboxEvent } from '../events/outbox';
import type { EventSink } from '../events/sink';
import { Fifo, slowReason } from './subscription-flow';
import type { Rendered } from './subscription-shape';
import { rawSocketOf, sendTextMessages, type TextMessage } from './ws-frames';

/** The result of one event for one shape: pending until rendered, then its value or error. */
export class RenderJob {
  value: Rendered | null = null;
  error: Error | null = null;
  private waiters: (() => void)[] = [];

  get done(): boolean {
    return this.value !== null || this.error !== null;
  }
  wait(cb: () => void): void {
    this.waiters.push(cb);
  }
  settle(value: Rendered | null, error: Error | null = null): void {
    this.value = value;
    this.error = error ?? (value ? null : new Error('no result'));
    const w = this.waiters;
    this.waiters = [];
    for (const cb of w) cb();
  }
}

/** What a member needs of the process (SharedSubscriptions). */
export interface FlowHost {
  readonly queueLimit: number;
  readonly highWater: number;
  /** Takes `bytes` of subscription memory if it stays under the cap. */
  admit(bytes: number): boolean;
  /** Adds (or, negative, gives back) subscription memory. */
  account(bytes: number): void;
  /** The member's socket backlog started (true) or ended (false). */
  backlogged(m: Member, on: boolean): void;
  flushSoon(m: Member): void;
  delivering(e: OutboxEvent): void;
}

/** What a member needs of its shape group. */
export interface MemberGroup {
  readonly host: FlowHost;
  render(e: OutboxEvent): RenderJob;
  leave(m: Member): void;
}

/** Memory counted per queued event: its slot and a share of the event (the event itself is shared). */
export const QUEUED_EVENT_BYTES = 128;
/** Events rendered ahead of the one being sent. */
const RENDER_AHEAD = 64;
const noop = () => undefined;
const DRAIN = Symbol('drain');

export class Member implements EventSink, AsyncIterableIterator<never> {
  stop: () => void = noop;
  /** The cursor to resume from: the last event whose frame was written to the socket (or where the stream started). */
  after = 0;
  /** Frames written to the socket that the kernel has not taken yet, in bytes. */
  unsentBytes = 0;
  private readonly queue = new Fifo<OutboxEvent>();
  /** Render jobs of queue[0], queue[1], … */
  private readonly ahead = new Fifo<RenderJob>();
  /** Frames held until the next flush (see `SharedSubscriptions.flushSoon`), their bytes and last event. */
  private out: TextMessage[] = [];
  private heldBytes = 0;
  private heldSeq = 0;
  /** Writes the kernel has not taken yet, oldest first: when, how many frames left, their bytes. */
  private readonly writes = new Fifo<{ at: number; left: number; bytes: number }>();
  private waitingOn: RenderJob | typeof DRAIN | null = null;
  private drainHooked = false;
  private scheduled = false;
  private started = false;
  private ended = false;
  private failure: Error | null = null;
  private waiter: { resolve: (r: IteratorResult<never>) => void; reject: (e: Error) => void } | null = null;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly group: MemberGroup,
    readonly socket: WebSocket,
    private readonly id: string,
    private readonly release: () => void,
  ) {}

  /** When the oldest frame the kernel has not taken was written (performance.now()), or null. */
  get oldestUnsentAt(): number | null {
    return this.writes.at(0)?.at ?? null;
  }

  push(e: OutboxEvent): boolean {
    if (this.ended) return true;
    const host = this.group.host;
    if (this.queue.length >= host.queueLimit || !host.admit(QUEUED_EVENT_BYTES)) return false;
    this.queue.push(e);
    this.pump();
    return true;
  }

  drained(): Promise<void> {
    return this.queue.length === 0 || this.ended ? Promise.resolve() : new Promise((r) => this.drainWaiters.push(r));
  }

  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
  }

  /**
   * Closes the connection with 4290 and the cursor to resume from, and ends this subscription. The
   * close frame follows every frame already written, so a client that reads on gets every event up
   * to that cursor, then the reason. (The stream ends quietly: the close says why.)
   */
  cutOff(why: string): string {
    const reason = slowReason(why, String(this.after));
    if (this.ended) return reason;
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(4290, reason);
    this.end();
    return reason;
  }

  /** Bytes of this socket the kernel has not taken, plus frames held for the next flush. */
  private buffered(): number {
    const raw = rawSocketOf(this.socket);
    return (raw ? raw.writableLength : this.socket.bufferedAmount) + this.heldBytes;
  }

  private readonly wake = () => {
    this.waitingOn = null;
    this.pump();
  };

  private pump(): void {
    if (!this.started || this.ended || this.waitingOn) return;
    const q = this.queue;
    while (q.length > 0 && !this.ended) {
      if (this.buffered() > this.group.host.highWater) return this.waitForDrain();
      const want = Math.min(q.length, RENDER_AHEAD);
      while (this.ahead.length < want) this.ahead.push(this.group.render(q.at(this.ahead.length)!));
      const job = this.ahead.at(0)!;
      if (!job.done) {
        this.waitingOn = job;
        job.wait(this.wake);
        return;
      }
      if (job.error) return this.fail(job.error);
      this.ahead.shift();
      const e = q.shift()!;
      this.group.host.account(-QUEUED_EVENT_BYTES);
      this.group.host.delivering(e);
      this.send(job.value!, e.seq);
    }
    if (q.length === 0) this.notifyDrained();
  }

  /** The socket is full: go on once it takes frames (our own write callbacks, or its 'drain'). */
  private waitForDrain(): void {
    this.waitingOn = DRAIN;
    const raw = rawSocketOf(this.socket);
    if (raw && !this.drainHooked) {
      this.drainHooked = true;
      // One listener per blocked subscription of the socket (at most the per-socket limit).
      raw.setMaxListeners(0);
      raw.on('drain', this.onDrain);
    }
  }

  private readonly onDrain = () => {
    if (this.waitingOn === DRAIN) this.wake();
  };

  private send(r: Rendered, seq: number): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const m = r.message(this.id);
    this.out.push(m);
    this.heldBytes += m.frame.length;
    this.heldSeq = seq;
    this.group.host.account(m.frame.length);
    if (!this.scheduled) {
      this.scheduled = true;
      this.group.host.flushSoon(this);
    }
  }

  /**
   * Writes the held frames in one write (src/graphql/ws-frames.ts). Each frame's callback runs
   * once the kernel took it: that is what `unsentBytes` and `oldestUnsentAt` follow. Frames are
   * held, not written into a corked socket, so that nothing is sent after the subscription ended.
   */
  writeOut(): void {
    this.scheduled = false;
    const out = this.out;
    if (out.length === 0 || this.ended) return;
    const bytes = this.heldBytes;
    this.out = [];
    this.heldBytes = 0;
    const ws = this.socket;
    if (ws.readyState !== ws.OPEN) {
      this.group.host.account(-bytes);
      return;
    }
    this.writes.push({ at: performance.now(), left: out.length, bytes });
    this.unsentBytes += bytes;
    if (this.writes.length === 1) this.group.host.backlogged(this, true);
    this.after = this.heldSeq;
    sendTextMessages(ws, out, this.onSent);
  }

  private readonly onSent = () => {
    const w = this.writes.at(0);
    if (!w || --w.left > 0) return;
    this.writes.shift();
    this.unsentBytes -= w.bytes;
    this.group.host.account(-w.bytes);
    if (this.writes.length === 0) this.group.host.backlogged(this, false);
    if (this.waitingOn === DRAIN && this.buffered() <= this.group.host.highWater) this.wake();
  };

  private notifyDrained(): void {
    if (this.drainWaiters.length === 0) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    const host = this.group.host;
    host.account(-(this.queue.length * QUEUED_EVENT_BYTES + this.heldBytes + this.unsentBytes));
    if (this.writes.length > 0) host.backlogged(this, false);
    this.queue.clear();
    this.ahead.clear();
    this.writes.clear();
    this.out = [];
    this.heldBytes = this.unsentBytes = 0;
    if (this.drainHooked) rawSocketOf(this.socket)?.off('drain', this.onDrain);
    this.group.leave(this);
    this.release();
    this.notifyDrained();
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      if (this.failure) w.reject(this.failure);
      else w.resolve({ done: true, value: undefined });
    }
  }

  next(): Promise<IteratorResult<never>> {
    if (!this.started) {
      this.started = true;
      this.pump();
    }
    if (this.ended) return this.failure ? Promise.reject(this.failure) : Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<never>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(e: unknown): Promise<IteratorResult<never>> {
    this.end();
    return Promise.reject(e);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
