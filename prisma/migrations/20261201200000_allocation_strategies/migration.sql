-- Issue 22, allocation strategies: the store's default strategy for reservation lines without a
-- warehouse, and where each warehouse ships to (countries and built-in zones; both empty: everywhere).
CREATE TYPE "AllocationStrategy" AS ENUM ('PRIORITY', 'MOST_AVAILABLE', 'FEWEST_SPLITS');
ALTER TABLE "stores" ADD COLUMN "allocation_strategy" "AllocationStrategy" NOT NULL DEFAULT 'PRIORITY';
ALTER TABLE "warehouses"
  ADD COLUMN "serves_countries" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  ADD COLUMN "serves_zones" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
