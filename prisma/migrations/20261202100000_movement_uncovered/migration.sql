-- Issue 22, the PREORDER edge: lowering a level's incoming after preorders were sold against it
-- (an inbound shipment or line cancelled, a line's quantity lowered, the deprecated
-- inventoryLevelUpdate(incoming) lowered, a transfer's remainder written off) is refused
-- (PREORDERS_UNCOVERED) unless the request says allowUncoveredPreorders: true. When it is accepted,
-- the movement records the units then sold or held beyond the level's allowance
-- (reserved - on_hand - allowance), as it also does when a level's own policy is tightened while
-- it has backorders. NULL on every other movement. Nullable, no default: no table rewrite.
ALTER TABLE "stock_movements" ADD COLUMN "uncovered_after" INTEGER;
