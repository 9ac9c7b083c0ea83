-- NATS JetStream fan-out (NATS_URL set): how far each store's stream has been published to
-- JetStream by the relay (src/events/relay.ts). Only the relay writes it, one relay per store at a
-- time (an advisory lock keyed by the store), so it never contends with the sequencer's
-- event_streams row. relayed_through is not indexed (HOT updates).
CREATE TABLE IF NOT EXISTS "event_relay" (
    "store_id" UUID NOT NULL,
    "relayed_through" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "event_relay_pkey" PRIMARY KEY ("store_id")
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000);

-- Streams that exist already are not replayed into JetStream when the relay first runs: what was
-- numbered before stays readable from event_log (resume and gap repair read it there).
INSERT INTO "event_relay" ("store_id", "relayed_through")
SELECT "store_id", "head" FROM "event_streams"
ON CONFLICT ("store_id") DO NOTHING;
