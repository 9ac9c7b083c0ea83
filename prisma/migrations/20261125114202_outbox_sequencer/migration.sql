-- CreateTable
CREATE TABLE "outbox_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "purged_through_seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "outbox_state_pkey" PRIMARY KEY ("id")
);


-- Hand-written: the delivery sequence, assigned after commit by the sequencer (src/events/outbox.ts).
CREATE SEQUENCE "outbox_seq" AS BIGINT;
INSERT INTO "outbox_state" ("id", "purged_through_seq") VALUES (1, 0);
CREATE INDEX "outbox_events_pending_idx" ON "outbox_events" ("id") WHERE "seq" IS NULL;
CREATE INDEX "outbox_events_seq_idx" ON "outbox_events" ("seq") WHERE "seq" IS NOT NULL;
