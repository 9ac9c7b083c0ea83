-- Hand-written: "outbox_events_pending_idx" (20261125114202_outbox_sequencer) is the same index as
-- "outbox_events_unsequenced_idx" (init): (id) WHERE seq IS NULL. Keeping both cost one more index
-- insertion per outbox event on the hot path.
DROP INDEX IF EXISTS "outbox_events_unsequenced_idx";
