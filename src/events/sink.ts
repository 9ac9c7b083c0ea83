/**
 * The contract between an event feed of one subscriber (src/modules/subscriptions) and whatever
 * delivers its events (src/graphql/shared-subscriptions.ts): both depend on it, not on each other.
 */
import type { OutboxEvent } from './outbox';

/**
 * Receives the events of one subscription, pushed in order (see `EventFeed.attach`). The sink
 * decides how many events it holds: when it refuses one (`push` returns false: its queue, or
 * subscription memory, is full), the feed stops pushing and reads the events from the refused one
 * on from the outbox once the sink has drained, so no event is lost and none is held twice. A
 * full queue is the server's lag, never a reason to cut the subscriber off.
 */
export interface EventSink {
  /** Called in sequence order, each accepted event once; false: not taken (push it again later). */
  push(e: OutboxEvent): boolean;
  /** Resolves when every event pushed so far has been handed on (or the sink ended). */
  drained(): Promise<void>;
  /** The stream ended with an error (the backlog could not be read). */
  fail(err: Error): void;
}

/** The events of one subscriber, pushed in order to one sink from `attach` on. */
export interface EventFeed {
  /**
   * Starts pushing events to `sink`. `stop` stops it; `after` is the cursor (event seq) the stream
   * starts after: a subscriber cut off before its first event resumes from there.
   */
  attach(sink: EventSink): { stop: () => void; after: number };
}
