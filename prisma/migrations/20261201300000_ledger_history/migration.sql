-- Stock at any past moment (InventoryLevel.snapshot) and movement summaries (stockMovementsSummary).
-- docs/API.md ("Stock history") describes the rules; src/modules/inventory/history.reads.ts the statements.
--
-- 1. The ledger row of a level in effect at a moment: the last one with created_at <= at, found by
--    one descent of this index (the ledger is insert-only: no update ever touches it, so the index
--    costs an insert into one more B-tree per movement and nothing else).
CREATE INDEX "stock_movements_store_id_inventory_level_id_created_at_id_idx" ON "stock_movements"("store_id", "inventory_level_id", "created_at", "id");

-- 2. Hourly checkpoints of the ledger for summaries: net changes per level, UTC hour and reason of
--    the movements with created_at before stock_rollup_state.rolled_until. Written by a periodic job
--    (src/modules/inventory/ledger-rollup.ts), insert-only: several rows may exist for one
--    (level, hour, reason), one per run that saw movements of it; readers sum them.
CREATE TABLE "stock_movement_rollups" (
    "id" BIGSERIAL NOT NULL,
    "store_id" UUID NOT NULL,
    "inventory_level_id" UUID NOT NULL,
    "variant_id" UUID NOT NULL,
    "warehouse_id" UUID NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "reason" "MovementReason" NOT NULL,
    "on_hand_change" BIGINT NOT NULL,
    "reserved_change" BIGINT NOT NULL,
    "incoming_change" BIGINT NOT NULL,
    "movements" BIGINT NOT NULL,
    CONSTRAINT "stock_movement_rollups_pkey" PRIMARY KEY ("store_id", "id")
);
CREATE INDEX "stock_movement_rollups_store_id_hour_idx" ON "stock_movement_rollups"("store_id", "hour");
CREATE INDEX "stock_movement_rollups_store_id_inventory_level_id_idx" ON "stock_movement_rollups"("store_id", "inventory_level_id");
-- Keyed by store like every store table (docs/SCALING.md, migration 20261201100000_store_keys).
ALTER TABLE "stock_movement_rollups" ADD CONSTRAINT "stock_movement_rollups_store_id_inventory_level_id_fkey"
  FOREIGN KEY ("store_id", "inventory_level_id") REFERENCES "inventory_levels"("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "stock_movement_rollups" SET (autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);

-- The same per warehouse (all its levels together), for summaries that do not filter by variant or
-- product: at most (warehouses × hours × reasons) rows, however many levels the ledger spans.
CREATE TABLE "stock_movement_warehouse_rollups" (
    "id" BIGSERIAL NOT NULL,
    "store_id" UUID NOT NULL,
    "warehouse_id" UUID NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "reason" "MovementReason" NOT NULL,
    "on_hand_change" BIGINT NOT NULL,
    "reserved_change" BIGINT NOT NULL,
    "incoming_change" BIGINT NOT NULL,
    "movements" BIGINT NOT NULL,
    CONSTRAINT "stock_movement_warehouse_rollups_pkey" PRIMARY KEY ("store_id", "id")
);
CREATE INDEX "stock_movement_warehouse_rollups_store_id_hour_idx" ON "stock_movement_warehouse_rollups"("store_id", "hour");
CREATE INDEX "stock_movement_warehouse_rollups_store_id_warehouse_id_idx" ON "stock_movement_warehouse_rollups"("store_id", "warehouse_id");
ALTER TABLE "stock_movement_warehouse_rollups" ADD CONSTRAINT "stock_movement_warehouse_rollups_store_id_warehouse_id_fkey"
  FOREIGN KEY ("store_id", "warehouse_id") REFERENCES "warehouses"("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "stock_movement_warehouse_rollups" SET (autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);

-- 3. How far the checkpoints go (one row): every movement with created_at < rolled_until is in
--    both checkpoint tables, none at or after it. NULL: no run yet.
CREATE TABLE "stock_rollup_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "rolled_until" TIMESTAMPTZ(3),
    CONSTRAINT "stock_rollup_state_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "stock_rollup_state_one_row" CHECK ("id" = 1)
);
INSERT INTO "stock_rollup_state" ("id", "rolled_until") VALUES (1, NULL);
