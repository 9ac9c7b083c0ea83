/**
 * Shared execution of subscriptions (graphql-ws's `subscribe`).
 *
 * Subscribers of the same *shape* share one execution per event: the event is executed once, its
 * result serialized once, and the same bytes are written to every subscriber of that shape that
 * wants the event. A shape is what can change an event's result:
 *  - the document (its text) and operation name;
 *  - the values of the variables used below the root field (the root field's own arguments, the
 *    filter and `after`, only choose WHICH events a subscriber gets: they act per subscriber);
 *  - the store (every read is scoped to it) and the key's kind and scopes (field authorization).
 *    Nothing reachable from a subscription reads the key id or actor of the subscriber.
 *
 * Per subscriber, exactly as before: authorization, argument checks and the filter at subscribe
 * time (the root field's subscribe resolver runs for each subscriber), its own event source (resume
 * with `after`: backlog first, then live, no gap, no duplicate), its bounded buffer (frames written
 * but not yet taken by the kernel count as pending; over the limit → SlowConsumerError, close 4290),
 * and cleanup on `complete` or close.
 */
import { m as metrics, secondsSince } from '../observability/metrics';
import { GraphQLError, createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { OutboxEvent } from '../events/outbox';
import type { AuthInfo } from './scopes';
import type { EventFeed, EventSink } from '../events/sink';
import type { Context } from './context';
import { isAsyncIterable, serialize, shapeKey, type ErrorFormatter, type Rendered } from './subscription-shape';
import { sendTextMessages } from './ws-frames';

const SHARED = Symbol('shared subscription source');

interface Shared<P> {
  source: EventFeed;
  toPayload(e: OutboxEvent): P;
}

/**
 * What a subscribe resolver returns: an async iterable for graphql-js, which only SharedSubscriptions
 * (graphql-ws) runs, sharing each event's execution among the subscribers of one shape. Iterated
 * any other way it fails: subscriptions are served over graphql-ws only.
 */
export function shareable<P>(source: EventFeed, toPayload: (e: OutboxEvent) => P): AsyncIterable<P> {
  const shared: Shared<P> = { source, toPayload };
  return {
    [SHARED]: shared,
    [Symbol.asyncIterator](): AsyncIterableIterator<P> {
      throw new Error('a shared subscription is delivered by SharedSubscriptions over graphql-ws');
    },
  } as AsyncIterable<P>;
}

const RENDERED_KEPT = 64;
const noop = () => undefined;

/**
 * One subscriber: the sink of its event source, and the async generator graphql-ws iterates (it
 * yields nothing: frames go straight to the socket, in order; it ends on `complete`, close or
 * failure). Sending starts when graphql-ws starts iterating; events arriving before are queued.
 */
class Member implements EventSink, AsyncIterableIterator<never> {
  stop: () => void = noop;
  private readonly queue: OutboxEvent[] = [];
  /** Frames for this socket that the kernel has not taken yet: held until the next flush, or written and not yet accepted. */
  private inflight = 0;
  /** Held until the next flush (see `SharedSubscriptions.flushSoon`). */
  private out: Rendered[] = [];
  private scheduled = false;
  private started = false;
  private busy = false;
  private ended = false;
  private failure: Error | null = null;
  private waiter: { resolve: (r: IteratorResult<never>) => void; reject: (e: Error) => void } | null = null;
  private drainWaiters: (() => void)[] = [];
  private readonly onSent = () => {
    this.inflight--;
    if (this.inflight === 0 && this.queue.length === 0) this.notifyDrained();
  };

  constructor(
    private readonly group: ShapeGroup,
    private readonly socket: WebSocket,
    private readonly id: string,
  ) {}

  get pending(): number {
    return this.queue.length + this.inflight;
  }

  push(e: OutboxEvent): void {
    this.queue.push(e);
    if (this.started && !this.busy) this.flush();
  }

  drained(): Promise<void> {
    return this.pending === 0 || this.ended ? Promise.resolve() : new Promise((r) => this.drainWaiters.push(r));
  }

  /** The execution this subscriber waited for is done (`err`: it failed). */
  resume(err?: Error): void {
    this.busy = false;
    if (err) this.fail(err);
    else this.flush();
  }

  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
  }

  private flush(): void {
    const q = this.queue;
    while (q.length > 0 && !this.ended) {
      let r: Rendered | Promise<Rendered>;
      try {
        r = this.group.render(q[0]);
      } catch (e) {
        // The event could not even be turned into a payload: end this subscription with the error
        // rather than leave the event at the head of its queue forever.
        return this.fail(e as Error);
      }
      if (r instanceof Promise) {
        // Executing (type-graphql's resolvers are async): wait for this event before sending the
        // next, to keep the order. One wake-up per execution for all of its waiting subscribers.
        this.busy = true;
        this.group.whenRendered(r, this);
        return;
      }
      this.group.owner.delivering(q.shift()!);
      this.send(r);
    }
    if (this.pending === 0) this.notifyDrained();
  }

  private send(r: Rendered): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.inflight++;
    this.out.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      this.group.owner.flushSoon(this);
    }
  }

  /**
   * Sends the held messages, their pre-built frames in one write (src/graphql/ws-frames.ts). Each
   * message's callback runs once the socket took it, which is what `inflight` counts (the
   * slow-consumer limit). Messages are held, not written into a corked socket, so that nothing is
   * sent for a subscription after it ended (`complete`, cut-off).
   */
  writeOut(): void {
    this.scheduled = false;
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    const ws = this.socket;
    if (ws.readyState !== ws.OPEN) {
      this.inflight -= out.length;
      if (this.pending === 0) this.notifyDrained();
      return;
    }
    sendTextMessages(
      ws,
      out.map((r) => r.message(this.id)),
      this.onSent,
    );
  }

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
    this.queue.length = 0;
    this.inflight -= this.out.length;
    this.out = [];
    this.group.leave(this);
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
      this.flush();
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

/** The subscribers of one shape, and the shape's recent results (by event seq). */
class ShapeGroup {
  readonly members = new Set<Member>();
  private readonly rendered = new Map<number, Rendered | Promise<Rendered>>();

  private readonly args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName' | 'variableValues'>;

  constructor(
    readonly owner: SharedSubscriptions,
    readonly key: string,
    { schema, document, operationName, variableValues }: ExecutionArgs,
    private readonly auth: AuthInfo | null,
    private readonly toPayload: (e: OutboxEvent) => unknown,
  ) {
    // Not the first subscriber's context: the group may outlive it.
    this.args = { schema, document, operationName, variableValues };
  }

  private readonly waiting = new Map<Promise<Rendered>, Member[]>();

  whenRendered(p: Promise<Rendered>, m: Member): void {
    let list = this.waiting.get(p);
    if (!list) {
      const members: Member[] = (list = []);
      this.waiting.set(p, members);
      p.then(
        () => {
          this.waiting.delete(p);
          for (const x of members) x.resume();
        },
        (e: Error) => {
          this.waiting.delete(p);
          for (const x of members) x.resume(e);
        },
      );
    }
    list.push(m);
  }

  join(socket: WebSocket, id: string, source: EventFeed): Member {
    const m = new Member(this, socket, id);
    this.members.add(m);
    m.stop = source.attach(m);
    return m;
  }

  leave(m: Member): void {
    this.members.delete(m);
    if (this.members.size === 0) this.owner.drop(this);
  }

  /** The event's result for this shape: executed once (with one context and fresh loaders). */
  render(e: OutboxEvent): Rendered | Promise<Rendered> {
    const hit = this.rendered.get(e.seq);
    if (hit) return hit;
    this.owner.executions++;
    const result = execute({
      schema: this.args.schema,
      document: this.args.document,
      operationName: this.args.operationName,
      variableValues: this.args.variableValues,
      rootValue: this.toPayload(e),
      contextValue: this.owner.newContext(this.auth),
    });
    let r: Rendered | Promise<Rendered>;
    if (result instanceof Promise) {
      const p: Promise<Rendered> = result.then((x) => {
        const v = serialize(x, this.owner.formatError);
        if (this.rendered.get(e.seq) === p) this.rendered.set(e.seq, v);
        return v;
      });
      r = p;
    } else r = serialize(result as ExecutionResult, this.owner.formatError);
    this.rendered.set(e.seq, r);
    if (this.rendered.size > RENDERED_KEPT) this.rendered.delete(this.rendered.keys().next().value as number);
    return r;
  }
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, ShapeGroup>();
  /** Executions of subscription events so far (one per event and shape). */
  executions = 0;

  /**
   * `newContext(auth)`: a fresh context (fresh loaders) for one execution. `flushMs`: see
   * `flushSoon`.
   */
  constructor(
    readonly newContext: (auth: AuthInfo | null) => Context,
    private readonly flushMs = 0,
    readonly formatError: ErrorFormatter = (f) => f,
  ) {}

  /** Shapes with subscribers, and subscribers, right now. */
  get stats(): { shapes: number; subscribers: number; executions: number } {
    let subscribers = 0;
    for (const g of this.groups.values()) subscribers += g.members.size;
    return { shapes: this.groups.size, subscribers, executions: this.executions };
  }

  private toFlush: Member[] = [];
  private lastFlush = -Infinity;

  /**
   * Writes `m`'s held frames soon, with every other socket's: once this turn's I/O is handled, but
   * no sooner than `flushMs` after the previous flush. A socket write costs far more than its bytes
   * (on loopback it runs the receiver's TCP path too), so under a stream of events each socket
   * gets one write per interval, holding every event of the interval; the first event after a
   * quiet interval leaves at once.
   */
  /** Events handed to a subscriber's socket writer (for the delivered-stage lag, once per event: the hub shares one object per event). */
  private readonly delivered = new WeakSet<OutboxEvent>();
  delivering(e: OutboxEvent): void {
    if (this.delivered.has(e)) return;
    this.delivered.add(e);
    metrics.eventLag.observe({ stage: 'delivered' }, secondsSince(e.createdAt));
  }

  flushSoon(m: Member): void {
    if (this.toFlush.length === 0) {
      const wait = this.lastFlush + this.flushMs - performance.now();
      if (wait <= 0) setImmediate(this.flushAll);
      else setTimeout(this.flushAll, wait).unref();
    }
    this.toFlush.push(m);
  }

  private readonly flushAll = () => {
    this.lastFlush = performance.now();
    const ms = this.toFlush;
    this.toFlush = [];
    for (const m of ms) m.writeOut();
  };

  drop(g: ShapeGroup): void {
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
  }

  /** graphql-ws's `subscribe`: `args.contextValue.subscriber` says where to send. */
  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    // Per subscriber: arguments, authorization, filter and cursor checks (the subscribe resolver).
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const ctx = args.contextValue as Context;
    const shared = (source as { [SHARED]?: Shared<unknown> })[SHARED];
    // Every subscription is shareable and served over graphql-ws (which sets `subscriber`).
    if (!shared || !ctx.subscriber) return { errors: [new GraphQLError('Subscriptions are served over graphql-ws')] };
    const key = shapeKey(args, ctx.auth);
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = new ShapeGroup(this, key, args, ctx.auth, shared.toPayload)));
    return g.join(ctx.subscriber.socket, ctx.subscriber.id, shared.source);
  };
}
