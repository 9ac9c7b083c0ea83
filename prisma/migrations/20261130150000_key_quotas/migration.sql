-- Usage quotas per API key (seed 000's token balance): cost points per UTC day or month.
ALTER TABLE "api_keys" ADD COLUMN "quota_points" BIGINT, ADD COLUMN "quota_period" TEXT;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_quota_check" CHECK (
  ("quota_points" IS NULL) = ("quota_period" IS NULL)
  AND ("quota_period" IS NULL OR "quota_period" IN ('DAY', 'MONTH'))
  AND ("quota_points" IS NULL OR "quota_points" >= 0));

-- Points used per key and period. Updated on every charge of a key with a quota: no index covers
-- "used", and pages keep room for HOT updates.
CREATE TABLE "key_usage" (
    "key_id" UUID NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "used" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "key_usage_pkey" PRIMARY KEY ("key_id", "period_start"),
    CONSTRAINT "key_usage_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE
) WITH (fillfactor = 70);
