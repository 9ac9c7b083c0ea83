-- Hand-written: a schema ready for distributed PostgreSQL (Citus), sharded by store_id (docs/SCALING.md,
-- "Distributed PostgreSQL"). Every table holding a store's rows gets store_id in its primary key, in
-- every unique constraint and in every foreign key between such tables, so that each of them can be
-- a distributed table colocated by store_id: a store's rows of every table live on one shard group,
-- uniqueness and references are checked inside it. Ids stay unique in practice (uuid, bigserial), so
-- the API's global ids still name one row; the key just gains store_id in front.
-- Foreign keys that include the distribution column are ON UPDATE NO ACTION: Citus refuses CASCADE,
-- SET NULL and SET DEFAULT there (store ids and ids never change anyway).
-- test/e2e/shard-keys.test.ts reads the catalog and fails when a table breaks the rule.

-- Reservation lines hold store data but had no store_id: copy it from their reservation.
ALTER TABLE "reservation_lines" ADD COLUMN "store_id" UUID;
UPDATE "reservation_lines" rl SET "store_id" = r."store_id" FROM "reservations" r WHERE r."id" = rl."reservation_id";
ALTER TABLE "reservation_lines" ALTER COLUMN "store_id" SET NOT NULL;

-- Foreign keys on the old single-column keys go first.
ALTER TABLE "variants" DROP CONSTRAINT "variants_product_id_fkey";
ALTER TABLE "inventory_levels" DROP CONSTRAINT "inventory_levels_variant_id_fkey";
ALTER TABLE "inventory_levels" DROP CONSTRAINT "inventory_levels_warehouse_id_fkey";
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_inventory_level_id_fkey";
ALTER TABLE "reservation_lines" DROP CONSTRAINT "reservation_lines_reservation_id_fkey";
ALTER TABLE "reservation_lines" DROP CONSTRAINT "reservation_lines_inventory_level_id_fkey";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_subscription_id_fkey";
ALTER TABLE "products" DROP CONSTRAINT "products_store_id_fkey";
ALTER TABLE "variants" DROP CONSTRAINT "variants_store_id_fkey";
ALTER TABLE "warehouses" DROP CONSTRAINT "warehouses_store_id_fkey";
ALTER TABLE "inventory_levels" DROP CONSTRAINT "inventory_levels_store_id_fkey";
ALTER TABLE "key_usage" DROP CONSTRAINT "key_usage_key_id_fkey";

-- Primary keys: (store_id, id).
ALTER TABLE "products" DROP CONSTRAINT "products_pkey", ADD CONSTRAINT "products_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "variants" DROP CONSTRAINT "variants_pkey", ADD CONSTRAINT "variants_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "warehouses" DROP CONSTRAINT "warehouses_pkey", ADD CONSTRAINT "warehouses_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "inventory_levels" DROP CONSTRAINT "inventory_levels_pkey", ADD CONSTRAINT "inventory_levels_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_pkey", ADD CONSTRAINT "stock_movements_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "reservations" DROP CONSTRAINT "reservations_pkey", ADD CONSTRAINT "reservations_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "reservation_lines" DROP CONSTRAINT "reservation_lines_pkey", ADD CONSTRAINT "reservation_lines_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "webhook_subscriptions" DROP CONSTRAINT "webhook_subscriptions_pkey", ADD CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("store_id", "id");
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_pkey", ADD CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("store_id", "id");

-- Unique keys gain store_id. (inventory_levels: no column of this index is written by a stock
-- change, so stock changes stay HOT.)
DROP INDEX "inventory_levels_variant_id_warehouse_id_key";
CREATE UNIQUE INDEX "inventory_levels_store_id_variant_id_warehouse_id_key" ON "inventory_levels" ("store_id", "variant_id", "warehouse_id");
DROP INDEX "webhook_deliveries_subscription_id_event_seq_topic_key";
CREATE UNIQUE INDEX "webhook_deliveries_store_id_subscription_id_event_seq_topic_key"
  ON "webhook_deliveries" ("store_id", "subscription_id", "event_seq", "topic");

-- Indexes on referencing columns (cascading deletes, lookups by parent) lead with store_id too; the
-- ones a primary key (store_id, id) now duplicates go.
DROP INDEX "variants_product_id_idx";
CREATE INDEX "variants_store_id_product_id_idx" ON "variants" ("store_id", "product_id");
DROP INDEX "inventory_levels_warehouse_id_idx";
CREATE INDEX "inventory_levels_store_id_warehouse_id_idx" ON "inventory_levels" ("store_id", "warehouse_id");
DROP INDEX "inventory_levels_store_id_id_idx";
DROP INDEX "stock_movements_inventory_level_id_id_idx";
CREATE INDEX "stock_movements_store_id_inventory_level_id_id_idx" ON "stock_movements" ("store_id", "inventory_level_id", "id");
DROP INDEX "reservation_lines_reservation_id_idx";
CREATE INDEX "reservation_lines_store_id_reservation_id_idx" ON "reservation_lines" ("store_id", "reservation_id");
DROP INDEX "reservation_lines_inventory_level_id_idx";
CREATE INDEX "reservation_lines_store_id_inventory_level_id_idx" ON "reservation_lines" ("store_id", "inventory_level_id");
DROP INDEX "reservation_lines_active_due_idx";
CREATE INDEX "reservation_lines_active_due_idx" ON "reservation_lines" ("store_id", "inventory_level_id", "expires_at") WHERE "status" = 'ACTIVE';
DROP INDEX "webhook_subscriptions_store_id_idx";

-- Foreign keys between store tables: (store_id, x_id) → (store_id, id).
ALTER TABLE "variants" ADD CONSTRAINT "variants_store_id_product_id_fkey" FOREIGN KEY ("store_id", "product_id")
  REFERENCES "products" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_levels_store_id_variant_id_fkey" FOREIGN KEY ("store_id", "variant_id")
  REFERENCES "variants" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_levels_store_id_warehouse_id_fkey" FOREIGN KEY ("store_id", "warehouse_id")
  REFERENCES "warehouses" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_store_id_inventory_level_id_fkey" FOREIGN KEY ("store_id", "inventory_level_id")
  REFERENCES "inventory_levels" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "reservation_lines" ADD CONSTRAINT "reservation_lines_store_id_reservation_id_fkey" FOREIGN KEY ("store_id", "reservation_id")
  REFERENCES "reservations" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "reservation_lines" ADD CONSTRAINT "reservation_lines_store_id_inventory_level_id_fkey" FOREIGN KEY ("store_id", "inventory_level_id")
  REFERENCES "inventory_levels" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_store_id_subscription_id_fkey" FOREIGN KEY ("store_id", "subscription_id")
  REFERENCES "webhook_subscriptions" ("store_id", "id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- Foreign keys to the reference tables (stores, api_keys): allowed from a distributed table, but not
-- ON UPDATE CASCADE when they include the distribution column.
ALTER TABLE "products" ADD CONSTRAINT "products_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "variants" ADD CONSTRAINT "variants_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "warehouses" ADD CONSTRAINT "warehouses_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_levels_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
-- key_usage is distributed by key_id (its own colocation group, docs/SCALING.md).
ALTER TABLE "key_usage" ADD CONSTRAINT "key_usage_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "api_keys" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
