-- Seed 002: variants have a price (amount and ISO 4217 currency), both or neither.
ALTER TABLE "variants"
  ADD COLUMN "price_amount" DECIMAL(15,4),
  ADD COLUMN "price_currency" CHAR(3);
ALTER TABLE "variants"
  ADD CONSTRAINT "variants_price_check" CHECK (
    ("price_amount" IS NULL AND "price_currency" IS NULL)
    OR ("price_amount" IS NOT NULL AND "price_amount" >= 0 AND "price_currency" ~ '^[A-Z]{3}$'));
-- The PRICE sort key: keyset order (price in 1/10000 units, variants without a price first; id).
CREATE INDEX "variants_store_id_price_id_idx" ON "variants" ("store_id", (coalesce(("price_amount" * 10000)::int8, -1)), "id");

-- Seed 003: a warehouse may name the marketplace that fulfils it (e.g. "amazon_eu" for FBA EU).
ALTER TABLE "warehouses" ADD COLUMN "marketplace" TEXT;
