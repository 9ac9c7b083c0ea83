-- Hand-written: the expiry sweeper closes reservations that are ACTIVE and past expires_at
-- (src/modules/reservations/expiry.ts). Without an index that query read the whole reservations
-- table on every sweep; with it, only the due active ones.
CREATE INDEX IF NOT EXISTS "reservations_active_due_idx" ON "reservations" ("expires_at") WHERE "status" = 'ACTIVE';
