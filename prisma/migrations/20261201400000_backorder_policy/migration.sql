-- Backorders and preorders (issue 22): a per-variant inventory policy, overridable per level.
--   DENY      available never goes below 0 (the behaviour before this migration; the default);
--   CONTINUE  reservations and adjustments may take available down to -backorder_limit (no limit: unbounded);
--   PREORDER  down to -incoming (and, with a backorder_limit, never past -backorder_limit either).
CREATE TYPE "InventoryPolicy" AS ENUM ('DENY', 'CONTINUE', 'PREORDER');

ALTER TABLE "variants"
  ADD COLUMN "inventory_policy" "InventoryPolicy" NOT NULL DEFAULT 'DENY',
  ADD COLUMN "backorder_limit" INTEGER,
  ADD CONSTRAINT "variants_backorder_limit_check" CHECK ("backorder_limit" >= 0);

-- A level's override: NULL policy inherits the variant's policy and limit; a policy set here comes
-- with its own limit (NULL = no limit). Not indexed: inventory_levels must keep HOT updates.
ALTER TABLE "inventory_levels"
  ADD COLUMN "inventory_policy" "InventoryPolicy",
  ADD COLUMN "backorder_limit" INTEGER,
  ADD CONSTRAINT "inventory_levels_backorder_limit_check" CHECK ("backorder_limit" >= 0);

-- A backordered level holds (or has sold) more than it has: on_hand may be negative and reserved may
-- exceed on_hand. The stock writer's guards keep available (on_hand - reserved - safety_stock) at or
-- above -inventory_backorder_allowance() for every change that lowers it.
ALTER TABLE "inventory_levels"
  DROP CONSTRAINT "inventory_levels_on_hand_check",
  DROP CONSTRAINT "inventory_levels_reserved_check",
  ADD CONSTRAINT "inventory_levels_reserved_check" CHECK ("reserved" >= 0);

-- How far below zero available may go under a policy (0 for DENY; 2147483647 stands for "no limit").
CREATE FUNCTION inventory_backorder_allowance(policy text, lim bigint, incoming bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE policy
    WHEN 'CONTINUE' THEN coalesce(lim, 2147483647)::bigint
    WHEN 'PREORDER' THEN least(greatest(incoming, 0), coalesce(lim, 2147483647))::bigint
    ELSE 0::bigint
  END
$$;
