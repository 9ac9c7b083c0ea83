-- Hand-written: the outbox queue follows the shard-key rule of migration 20261201100000_store_keys
-- (docs/SCALING.md): its primary key leads with store_id. The sequencer finds the stores with queued
-- events by a skip scan of this key and takes each store's oldest rows through it
-- (src/events/outbox.ts); no other index, so an event costs one index insertion.
ALTER TABLE "outbox_events" DROP CONSTRAINT "outbox_events_pkey";
ALTER TABLE "outbox_events" ADD CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("store_id", "id");
