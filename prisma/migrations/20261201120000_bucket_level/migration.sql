-- Hand-written: the rate-limit bucket's level before the last take (after refill), written by the
-- take itself. The take computes everything from the row it updates (the latest version, locked),
-- not from a snapshot read earlier in the statement: two instances taking at once, or the first
-- takes of a new key racing, each see the other's result (src/modules/auth/rate-limit.ts).
-- Not indexed: updates stay HOT.
ALTER TABLE "rate_limit_buckets" ADD COLUMN IF NOT EXISTS "last_level" DOUBLE PRECISION;
