-- Hand-written: per-store event streams, an insert-only event log partitioned by time, and an outbox
-- that is a small queue (docs/EVENTS.md "Numbering", docs/HOT-UPDATES.md, docs/SCALING.md).
--
-- Before: the stock writer inserted unnumbered rows into outbox_events and the sequencer numbered them
-- in place (UPDATE … SET seq) from one sequence for every store, under one advisory lock; retention
-- deleted 5,000 rows a minute. Every numbering was a cold update (seq is indexed) that left a dead
-- row version behind, and a store's cursors showed the traffic of the others.
-- After:
--   outbox_events  the queue of committed, not yet numbered events (the writer inserts; the sequencer
--                  deletes what it numbers, and vacuums this small table itself);
--   event_streams  one row per store: the head of its gap-free sequence and how far retention went
--                  (HOT updates: no index covers head or purged_through);
--   event_log      the numbered events, insert-only, partitioned by the time they were numbered;
--                  retention drops whole partitions (src/events/event-log.ts).

CREATE TABLE IF NOT EXISTS "event_streams" (
    "store_id" UUID NOT NULL,
    "head" BIGINT NOT NULL DEFAULT 0,
    "purged_through" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "event_streams_pkey" PRIMARY KEY ("store_id")
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000);

CREATE TABLE IF NOT EXISTS "event_log" (
    "store_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "topic" TEXT NOT NULL,
    "level_id" UUID,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "traceparent" TEXT,
    "logged_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    -- A partitioned table's keys include its partition key; (store_id, seq) is unique by construction
    -- (numbers come from event_streams.head under its row lock).
    CONSTRAINT "event_log_pkey" PRIMARY KEY ("store_id", "seq", "logged_at")
) PARTITION BY RANGE ("logged_at");

-- Rows outside every partition (the maintenance fell behind) land here; retention deletes them.
CREATE TABLE IF NOT EXISTS "event_log_default" PARTITION OF "event_log" DEFAULT;

-- Existing numbers stay valid cursors: each store's stream continues above the highest number the
-- global sequence handed out, so a cursor from before resumes exactly (older events keep their numbers).
INSERT INTO "event_log" ("store_id", "seq", "topic", "level_id", "payload", "created_at", "traceparent", "logged_at")
  SELECT "store_id", "seq", "topic", "level_id", "payload", "created_at", "traceparent", "created_at"
    FROM "outbox_events" WHERE "seq" IS NOT NULL;

INSERT INTO "event_streams" ("store_id", "head", "purged_through")
  SELECT s."id", g.head, g.purged
    FROM "stores" s
   CROSS JOIN (SELECT greatest(coalesce((SELECT max("seq") FROM "outbox_events"), 0),
                               coalesce((SELECT "purged_through_seq" FROM "outbox_state" WHERE "id" = 1), 0)) AS head,
                      coalesce((SELECT "purged_through_seq" FROM "outbox_state" WHERE "id" = 1), 0) AS purged) g
ON CONFLICT ("store_id") DO NOTHING;

DELETE FROM "outbox_events" WHERE "seq" IS NOT NULL;
-- Drops the (store_id, seq) unique index and the partial indexes on seq with it.
ALTER TABLE "outbox_events" DROP COLUMN "seq";
DROP TABLE IF EXISTS "outbox_state";
