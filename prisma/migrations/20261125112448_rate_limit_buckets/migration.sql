-- CreateTable
CREATE TABLE "rate_limit_buckets" (
    "key_id" TEXT NOT NULL,
    "available" DOUBLE PRECISION NOT NULL,
    "last_granted" BOOLEAN NOT NULL DEFAULT true,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rate_limit_buckets_pkey" PRIMARY KEY ("key_id")
);

