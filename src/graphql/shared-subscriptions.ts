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
 * with `after`: backlog first, then live, no gap, no duplicate) and cleanup on `complete` or close.
 *
 * Flow control (docs/EVENTS.md, "Flow control"): rendering runs under one process-wide budget
 * (RenderBudget); a subscriber is cut off (4290, with its resume cursor) only for its own socket's
 * backlog: frames the kernel has not taken for longer than the stall limit, or, when subscription
 * memory is over its cap, the largest backlogs first (Member, pickVictims). The number of
 * subscriptions per socket and per key is limited here, the one place every subscription passes.
 */
import { m as metrics, secondsSince } from '../observability/metrics';
import { GraphQLError, createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { OutboxEvent } from '../events/outbox';
import type { AuthInfo } from './scopes';
import type { EventFeed } from '../events/sink';
import type { Context } from './context';
import { isTransientDbError } from '../db/errors';
import { RenderBudget } from './render-budget';
import { pickVictims } from './subscription-flow';
import { SubscriptionLimits } from './subscription-limits';
import { Member, RenderJob, type FlowHost, type MemberGroup } from './subscription-member';
import { isAsyncIterable, serialize, shapeKey, type ErrorFormatter } from './subscription-shape';

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
/** Executions of one event for one shape when the database fails transiently (see retryLater). */
const RENDER_ATTEMPTS = 3;
const RENDER_RETRY_MS = 250;

/** The subscribers of one shape, and the shape's recent results (by event seq). */
class ShapeGroup implements MemberGroup {
  readonly members = new Set<Member>();
  private readonly rendered = new Map<number, RenderJob>();
  private readonly args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName' | 'variableValues'>;
  /** The context of the executions started in this turn (one set of loaders: their reads are batched). */
  private context: Context | null = null;

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

  get host(): FlowHost {
    return this.owner;
  }

  join(socket: WebSocket, id: string, source: EventFeed, release: () => void): Member {
    const m = new Member(this, socket, id, release);
    this.members.add(m);
    const { stop, after } = source.attach(m);
    m.stop = stop;
    m.after = after;
    return m;
  }

  leave(m: Member): void {
    this.members.delete(m);
    if (this.members.size === 0) this.owner.drop(this);
  }

  /** The event's result for this shape: executed once, when the render budget allows. */
  render(e: OutboxEvent): RenderJob {
    const hit = this.rendered.get(e.seq);
    if (hit) return hit;
    const job = new RenderJob();
    this.rendered.set(e.seq, job);
    if (this.rendered.size > RENDERED_KEPT) this.rendered.delete(this.rendered.keys().next().value as number);
    this.owner.budget.submit(() => this.execute(e, job, 1));
    return job;
  }

  /**
   * A result whose errors are all transient database failures (a pool wait that timed out, a lost
   * connection: what formatError shows as UNAVAILABLE) is executed again after a pause, up to
   * RENDER_ATTEMPTS times, before it is sent: under a burst of writes a subscriber gets the whole
   * event a little later, not a partial one. The job stays pending meanwhile, so order holds.
   */
  private retryLater(e: OutboxEvent, job: RenderJob, x: ExecutionResult, attempt: number): boolean {
    if (attempt >= RENDER_ATTEMPTS || !x.errors?.length || !x.errors.every((err) => isTransientDbError(err.originalError))) return false;
    this.owner.renderRetries++;
    setTimeout(() => this.owner.budget.submit(() => this.execute(e, job, attempt + 1)), RENDER_RETRY_MS * attempt).unref();
    return true;
  }

  /**
   * One execution. Executions started in the same turn share one context: "the level as it is now"
   * is read once for all of them, in one batched statement per loader, instead of once per event.
   */
  private execute(e: OutboxEvent, job: RenderJob, attempt: number): void {
    const budget = this.owner.budget;
    this.owner.executions++;
    if (!this.context) {
      this.context = this.owner.newContext(this.auth);
      setImmediate(() => (this.context = null));
    }
    let result: ReturnType<typeof execute>;
    try {
      result = execute({ ...this.args, rootValue: this.toPayload(e), contextValue: this.context });
    } catch (err) {
      // The event could not even be turned into a payload: its subscribers end with the error.
      job.settle(null, err as Error);
      return budget.finished();
    }
    const done = (x: ExecutionResult) => {
      if (this.retryLater(e, job, x, attempt)) return budget.finished();
      const t0 = performance.now();
      try {
        job.settle(serialize(x, this.owner.formatError));
      } catch (err) {
        job.settle(null, err as Error);
      }
      budget.charge(performance.now() - t0);
      budget.finished();
    };
    if (result instanceof Promise)
      result.then(done, (err: Error) => {
        job.settle(null, err);
        budget.finished();
      });
    else done(result);
  }
}

/** Flow-control settings (src/config: SUBSCRIPTION_* ). */
export interface FlowSettings {
  /** Frames held at most per flush interval (see flushSoon). */
  flushMs: number;
  /** Events queued per subscription before it catches up from the outbox. */
  queueLimit: number;
  /** Socket bytes not taken by the kernel above which a subscriber's frames wait. */
  highWater: number;
  /** A socket backlog older than this cuts the subscriber off. */
  stallMs: number;
  /** Subscription memory cap, in bytes. */
  memoryBytes: number;
  renderConcurrency: number;
  renderSliceMs: number;
  perSocket: number;
  perKey: number;
}

export const DEFAULT_FLOW: FlowSettings = {
  flushMs: 0,
  queueLimit: 5000,
  highWater: 256 * 1024,
  stallMs: 15_000,
  memoryBytes: 64 * 1024 * 1024,
  renderConcurrency: 64,
  renderSliceMs: 20,
  perSocket: 100,
  perKey: 10_000,
};

export class SharedSubscriptions implements FlowHost {
  private readonly groups = new Map<string, ShapeGroup>();
  /** Executions of subscription events so far (one per event and shape). */
  executions = 0;
  /** Executions run again after a transient database failure. */
  renderRetries = 0;
  /** Subscribers cut off so far, by why (stall, memory). */
  readonly cutOffs = { stall: 0, memory: 0 };
  readonly budget: RenderBudget;
  readonly limits: SubscriptionLimits;
  readonly queueLimit: number;
  readonly highWater: number;
  /** Subscription memory in use: queued events, held and unsent frames (bytes). */
  memory = 0;
  private readonly flow: FlowSettings;
  private readonly backlogs = new Set<Member>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweepSoon = false;

  /** `newContext(auth)`: a fresh context (fresh loaders) for executions. */
  constructor(
    readonly newContext: (auth: AuthInfo | null) => Context,
    flow: Partial<FlowSettings> = {},
    readonly formatError: ErrorFormatter = (f) => f,
  ) {
    this.flow = { ...DEFAULT_FLOW, ...flow };
    this.budget = new RenderBudget(this.flow.renderConcurrency, this.flow.renderSliceMs);
    this.limits = new SubscriptionLimits(this.flow.perSocket, this.flow.perKey);
    this.queueLimit = this.flow.queueLimit;
    this.highWater = this.flow.highWater;
  }

  /** Shapes with subscribers, and subscribers, right now. */
  get stats(): { shapes: number; subscribers: number; executions: number; memory: number; backlogged: number } {
    let subscribers = 0;
    for (const g of this.groups.values()) subscribers += g.members.size;
    return { shapes: this.groups.size, subscribers, executions: this.executions, memory: this.memory, backlogged: this.backlogs.size };
  }

  admit(bytes: number): boolean {
    if (this.memory + bytes > this.flow.memoryBytes) return false;
    this.memory += bytes;
    return true;
  }

  account(bytes: number): void {
    this.memory += bytes;
    if (bytes > 0 && this.memory > this.flow.memoryBytes && !this.sweepSoon) {
      this.sweepSoon = true;
      setImmediate(this.sweep);
    }
  }

  backlogged(m: Member, on: boolean): void {
    if (on) this.backlogs.add(m);
    else this.backlogs.delete(m);
    if (this.backlogs.size > 0 && !this.sweeper) {
      this.sweeper = setInterval(this.sweep, Math.min(1000, Math.max(10, this.flow.stallMs / 5)));
      this.sweeper.unref();
    } else if (this.backlogs.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Cuts off stalled sockets' subscribers, then, over the memory cap, the largest backlogs. */
  private readonly sweep = () => {
    this.sweepSoon = false;
    const now = performance.now();
    const stallS = Math.round(this.flow.stallMs / 1000);
    for (const m of [...this.backlogs]) {
      const at = m.oldestUnsentAt;
      if (at !== null && now - at > this.flow.stallMs) {
        this.cutOffs.stall++;
        metrics.subscriptionCutOffs.inc({ reason: 'stall' });
        m.cutOff(`Subscriber too slow: its socket was not read for ${stallS} s`);
      }
    }
    const excess = this.memory - this.flow.memoryBytes;
    for (const m of pickVictims(
      this.backlogs,
      excess,
      (x) => x.unsentBytes,
      (x) => x.oldestUnsentAt ?? now,
    )) {
      this.cutOffs.memory++;
      metrics.subscriptionCutOffs.inc({ reason: 'memory' });
      m.cutOff('Subscriber too slow: subscription memory is full and its backlog is among the largest');
    }
  };

  /** Events handed to a subscriber's socket writer (for the delivered-stage lag, once per event: the hub shares one object per event). */
  private readonly delivered = new WeakSet<OutboxEvent>();
  delivering(e: OutboxEvent): void {
    if (this.delivered.has(e)) return;
    this.delivered.add(e);
    metrics.eventLag.observe({ stage: 'delivered' }, secondsSince(e.createdAt));
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
  flushSoon(m: Member): void {
    if (this.toFlush.length === 0) {
      const wait = this.lastFlush + this.flow.flushMs - performance.now();
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
    const ctx = args.contextValue as Context;
    // Every subscription is shareable and served over graphql-ws (which sets `subscriber`).
    if (!ctx.subscriber) return { errors: [new GraphQLError('Subscriptions are served over graphql-ws')] };
    const slot = this.limits.take(ctx.subscriber.socket, ctx.auth?.keyId ?? null);
    if (typeof slot !== 'function')
      return {
        errors: [new GraphQLError(slot.message, { extensions: { code: 'SUBSCRIPTION_LIMIT', scope: slot.scope, limit: slot.limit } })],
      };
    try {
      // Per subscriber: arguments, authorization, filter and cursor checks (the subscribe resolver).
      const source = await createSourceEventStream(args);
      const shared = isAsyncIterable(source) ? (source as { [SHARED]?: Shared<unknown> })[SHARED] : undefined;
      if (!shared) {
        slot();
        return isAsyncIterable(source) ? { errors: [new GraphQLError('Subscriptions are served over graphql-ws')] } : source;
      }
      const key = shapeKey(args, ctx.auth);
      let g = this.groups.get(key);
      if (!g) this.groups.set(key, (g = new ShapeGroup(this, key, args, ctx.auth, shared.toPayload)));
      return g.join(ctx.subscriber.socket, ctx.subscriber.id, shared.source, slot);
    } catch (e) {
      slot();
      throw e;
    }
  };
}
