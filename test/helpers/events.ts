/**
 * Every outbox event, numbered (in its store's stream, event_log) or still queued (outbox_events), as
 * one FROM item: columns store_id, seq (NULL while queued), topic, level_id, payload, created_at, and
 * `queued, ord` to order them as they happened (per store: numbered ones by seq, then queued ones by id).
 */
export const ALL_EVENTS = `(SELECT store_id, seq, topic, level_id, payload, created_at, 0 AS queued, seq AS ord FROM event_log
  UNION ALL SELECT store_id, NULL::bigint, topic, level_id, payload, created_at, 1, id FROM outbox_events)`;
