-- Every ledger row records the level's settings before and after (NULL on rows written before this
-- migration): changes of safetyStock, incoming and the thresholds get their own rows (reason OTHER),
-- so every change of available (onHand − reserved − safetyStock) and of status has a ledger row.
ALTER TABLE "stock_movements"
  ADD COLUMN "safety_stock_before" INTEGER,
  ADD COLUMN "safety_stock_after" INTEGER,
  ADD COLUMN "incoming_before" INTEGER,
  ADD COLUMN "incoming_after" INTEGER,
  ADD COLUMN "low_stock_threshold_before" INTEGER,
  ADD COLUMN "low_stock_threshold_after" INTEGER,
  ADD COLUMN "critical_threshold_before" INTEGER,
  ADD COLUMN "critical_threshold_after" INTEGER;
