-- Hand-written: "outbox_seq" (20261125114202_outbox_sequencer) was never used. The sequencer numbers
-- committed outbox rows itself, gap-free, from the highest seq assigned (src/events/outbox.ts);
-- nextval() would leak numbers on rollback.
DROP SEQUENCE IF EXISTS "outbox_seq";
