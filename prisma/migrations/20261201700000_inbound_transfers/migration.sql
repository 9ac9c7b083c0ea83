-- Issue 22, inbound shipments and transfers in transit: a level's `incoming` is derived from open
-- inbound lines and in-transit transfer lines (inventory_level_incoming()). The column
-- inventory_levels.incoming stays, as the stored-derived copy of that function that only the stock
-- writer sets, in the same statement that records the change (src/modules/stock/incoming.ts).
ALTER TYPE "MovementReason" ADD VALUE IF NOT EXISTS 'INBOUND_EXPECTED';
ALTER TYPE "MovementReason" ADD VALUE IF NOT EXISTS 'INBOUND_CANCELLED';
ALTER TYPE "MovementReason" ADD VALUE IF NOT EXISTS 'TRANSFER_SHIPPED';
ALTER TYPE "MovementReason" ADD VALUE IF NOT EXISTS 'TRANSFER_LOST';

CREATE TYPE "InboundStatus" AS ENUM ('OPEN', 'PARTIALLY_RECEIVED', 'RECEIVED', 'CANCELLED');
CREATE TYPE "TransferStatus" AS ENUM ('IN_TRANSIT', 'PARTIALLY_RECEIVED', 'RECEIVED', 'CLOSED');

CREATE TABLE "inbound_shipments" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "store_id" UUID NOT NULL,
  "reference" TEXT NOT NULL,
  "source" TEXT,
  "expected_at" TIMESTAMPTZ(3),
  "status" "InboundStatus" NOT NULL DEFAULT 'OPEN',
  "manual" BOOLEAN NOT NULL DEFAULT false,
  "note" TEXT,
  "actor" TEXT,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "inbound_shipments_pkey" PRIMARY KEY ("store_id", "id"),
  CONSTRAINT "inbound_shipments_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores"("id") ON DELETE CASCADE ON UPDATE NO ACTION
);
CREATE UNIQUE INDEX "inbound_shipments_store_id_reference_key" ON "inbound_shipments"("store_id", "reference") WHERE NOT "manual";
CREATE INDEX "inbound_shipments_store_id_created_at_id_idx" ON "inbound_shipments"("store_id", "created_at", "id");
-- One manual shipment per store: the lines of the deprecated inventoryLevelUpdate(incoming).
CREATE UNIQUE INDEX "inbound_shipments_manual_key" ON "inbound_shipments"("store_id") WHERE "manual";

CREATE TABLE "inbound_lines" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "shipment_id" UUID NOT NULL,
  "store_id" UUID NOT NULL,
  "inventory_level_id" UUID NOT NULL,
  "quantity" INTEGER NOT NULL,
  "received_quantity" INTEGER NOT NULL DEFAULT 0,
  "cancelled_quantity" INTEGER NOT NULL DEFAULT 0,
  "position" INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT "inbound_lines_pkey" PRIMARY KEY ("store_id", "id"),
  CONSTRAINT "inbound_lines_shipment_id_fkey" FOREIGN KEY ("store_id", "shipment_id") REFERENCES "inbound_shipments"("store_id", "id") ON DELETE CASCADE,
  CONSTRAINT "inbound_lines_inventory_level_id_fkey" FOREIGN KEY ("store_id", "inventory_level_id") REFERENCES "inventory_levels"("store_id", "id") ON DELETE CASCADE,
  CONSTRAINT "inbound_lines_quantity_check" CHECK ("quantity" >= 0 AND "received_quantity" >= 0 AND "cancelled_quantity" >= 0)
);
CREATE UNIQUE INDEX "inbound_lines_store_id_shipment_id_inventory_level_id_key" ON "inbound_lines"("store_id", "shipment_id", "inventory_level_id");
CREATE INDEX "inbound_lines_store_id_inventory_level_id_idx" ON "inbound_lines"("store_id", "inventory_level_id");

CREATE TABLE "inventory_transfers" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "store_id" UUID NOT NULL,
  "reference" TEXT,
  "from_warehouse_id" UUID NOT NULL,
  "to_warehouse_id" UUID NOT NULL,
  "status" "TransferStatus" NOT NULL DEFAULT 'IN_TRANSIT',
  "expected_at" TIMESTAMPTZ(3),
  "note" TEXT,
  "actor" TEXT,
  "shipped_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "inventory_transfers_pkey" PRIMARY KEY ("store_id", "id"),
  CONSTRAINT "inventory_transfers_store_id_fkey" FOREIGN KEY ("store_id") REFERENCES "stores"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
  CONSTRAINT "inventory_transfers_from_warehouse_id_fkey" FOREIGN KEY ("store_id", "from_warehouse_id") REFERENCES "warehouses"("store_id", "id") ON DELETE CASCADE,
  CONSTRAINT "inventory_transfers_to_warehouse_id_fkey" FOREIGN KEY ("store_id", "to_warehouse_id") REFERENCES "warehouses"("store_id", "id") ON DELETE CASCADE
);
CREATE INDEX "inventory_transfers_store_id_created_at_id_idx" ON "inventory_transfers"("store_id", "created_at", "id");

CREATE TABLE "transfer_lines" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "transfer_id" UUID NOT NULL,
  "store_id" UUID NOT NULL,
  "variant_id" UUID NOT NULL,
  "source_level_id" UUID NOT NULL,
  "destination_level_id" UUID NOT NULL,
  "quantity" INTEGER NOT NULL,
  "received_quantity" INTEGER NOT NULL DEFAULT 0,
  "lost_quantity" INTEGER NOT NULL DEFAULT 0,
  "lost_reason" TEXT,
  "position" INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT "transfer_lines_pkey" PRIMARY KEY ("store_id", "id"),
  CONSTRAINT "transfer_lines_transfer_id_fkey" FOREIGN KEY ("store_id", "transfer_id") REFERENCES "inventory_transfers"("store_id", "id") ON DELETE CASCADE,
  CONSTRAINT "transfer_lines_source_level_id_fkey" FOREIGN KEY ("store_id", "source_level_id") REFERENCES "inventory_levels"("store_id", "id") ON DELETE CASCADE,
  CONSTRAINT "transfer_lines_destination_level_id_fkey" FOREIGN KEY ("store_id", "destination_level_id") REFERENCES "inventory_levels"("store_id", "id") ON DELETE CASCADE,
  -- Conservation per line: what was shipped is received, lost, or still in transit (never negative).
  CONSTRAINT "transfer_lines_quantity_check" CHECK ("quantity" > 0 AND "received_quantity" >= 0 AND "lost_quantity" >= 0
    AND "received_quantity" + "lost_quantity" <= "quantity")
);
CREATE UNIQUE INDEX "transfer_lines_store_id_transfer_id_variant_id_key" ON "transfer_lines"("store_id", "transfer_id", "variant_id");
CREATE INDEX "transfer_lines_store_id_destination_level_id_idx" ON "transfer_lines"("store_id", "destination_level_id");
CREATE INDEX "transfer_lines_store_id_source_level_id_idx" ON "transfer_lines"("store_id", "source_level_id");

-- The ledger names the shipment or transfer of a movement.
ALTER TABLE "stock_movements" ADD COLUMN "inbound_shipment_id" UUID, ADD COLUMN "transfer_id" UUID;

-- THE definition of a level's incoming: open inbound quantities plus units in transit to it.
CREATE FUNCTION inventory_level_incoming(store UUID, level UUID) RETURNS BIGINT LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT sum(greatest(il.quantity - il.received_quantity - il.cancelled_quantity, 0))
                     FROM inbound_lines il WHERE il.store_id = store AND il.inventory_level_id = level), 0)
       + coalesce((SELECT sum(tl.quantity - tl.received_quantity - tl.lost_quantity)
                     FROM transfer_lines tl WHERE tl.store_id = store AND tl.destination_level_id = level), 0)
$$;

-- Existing free `incoming` numbers become manual inbound lines, so the derived value equals them.
INSERT INTO inbound_shipments (store_id, reference, source, manual, note)
SELECT DISTINCT l.store_id, 'MANUAL', 'inventoryLevelUpdate(incoming)', true, 'Incoming set by inventoryLevelUpdate (deprecated)'
  FROM inventory_levels l WHERE l.incoming > 0;
INSERT INTO inbound_lines (shipment_id, store_id, inventory_level_id, quantity)
SELECT s.id, l.store_id, l.id, l.incoming
  FROM inventory_levels l JOIN inbound_shipments s ON s.store_id = l.store_id AND s.manual
 WHERE l.incoming > 0;
