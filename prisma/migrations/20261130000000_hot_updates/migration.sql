-- Hand-written: heap-only (HOT) updates on the tables every stock change writes (docs/HOT-UPDATES.md).
--
-- PostgreSQL updates a row in place in its page, without a new entry in any index, only when no
-- indexed column changes and the page has room. `inventory_levels.updated_at` was the second column of
-- "inventory_levels_store_id_updated_at_id_idx" and every stock change sets it, so no counter update
-- could be HOT: each one added an entry to all four indexes and left a dead row version behind that
-- only VACUUM removes. Without the index, updated_at stays exact (the stock writer still sets it on
-- every change) and the UPDATED_AT sort and updatedSince filter read it from the rows of the store
-- (bench/RESULTS.md, "updated_at without an index"). test/e2e/hot-updates.test.ts fails when an index
-- on inventory_levels covers a column the stock writer sets.
DROP INDEX IF EXISTS "inventory_levels_store_id_updated_at_id_idx";
-- The store's levels (every level read filters on store_id); neither column ever changes.
CREATE INDEX IF NOT EXISTS "inventory_levels_store_id_id_idx" ON "inventory_levels" ("store_id", "id");

-- Room for HOT: pages are filled only to the fillfactor by inserts (and by non-HOT updates), so the
-- next versions of their rows fit in the same page, where page pruning (no VACUUM needed) reclaims
-- the dead ones. Pruning can only reclaim versions that no running transaction may still see, so
-- while any transaction is open (a bulk update, or on a shared server another database's) versions
-- accumulate: inventory_levels keeps half of each page free (its rows are ~140 bytes, one per variant
-- and warehouse: doubling a small table is cheaper than cold updates; 70 measured 0.86 HOT in the
-- bulk scenario, bench/RESULTS.md). Applies to pages filled from now on; `VACUUM FULL <table>`
-- repacks existing ones.
-- Autovacuum, where the server runs it: vacuum these tables after a fixed number of dead rows rather
-- than a share of the table (the default 20 % lets a hot table's indexes grow for a long time), and
-- analyze the ledger-like tables as they grow.
ALTER TABLE "inventory_levels" SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE "rate_limit_buckets" SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0);
ALTER TABLE "reservations" SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE "reservation_lines" SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE "outbox_events" SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE "idempotency_keys" SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_insert_scale_factor = 0.05,
  autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE "stock_movements" SET (autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
