-- Hand-written: the W3C traceparent of the change that caused an outbox event, carried on to its
-- webhook deliveries (src/observability/tracing.ts). With tracing on, a transaction sets the
-- session setting app.traceparent (SET LOCAL semantics) and the column default picks it up, so the
-- stock writer's INSERT is unchanged; with tracing off the setting is never set and the column is NULL.
ALTER TABLE "outbox_events" ADD COLUMN IF NOT EXISTS "traceparent" TEXT DEFAULT nullif(current_setting('app.traceparent', true), '');
ALTER TABLE "webhook_deliveries" ADD COLUMN IF NOT EXISTS "traceparent" TEXT;
