/**
 * The contract between an event feed of one subscriber (src/modules/subscriptions) and whatever
 * delivers its events (src/graphql/shared-subscriptions.ts): both depend on it, not on each other.
 */
import type { OutboxEvent } from './outbox';

/**
 * Receives the events of one subscription, pushed in order (see `EventFeed.attach`). `pending`
 * counts the events it was given and has not yet delivered: more than `config.subscriptionBuffer`
 * ends the subscription with SlowConsumerError.
 */
export interface EventSink {
  /** Called in sequence order, each event once. */
  push(e: OutboxEvent): void;
  /** Events given to the sink and not yet delivered to the client. */
  readonly pending: number;
  /** Resolves when `pending` is 0 (the backlog is replayed one page at a time). */
  drained(): Promise<void>;
  /** The stream ended with an error (SlowConsumerError, or the backlog could not be read). */
  fail(err: Error): void;
}

/** The events of one subscriber, pushed in order to one sink from `attach` on. */
export interface EventFeed {
  /** Starts pushing events to `sink`; returns the function that stops it. */
  attach(sink: EventSink): () => void;
}
