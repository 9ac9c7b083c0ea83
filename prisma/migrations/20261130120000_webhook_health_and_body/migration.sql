-- Webhook subscriptions the gateway disabled after a run of failed deliveries (or a target the
-- SSRF guard refused at delivery time): why and when. `active` is false while disabled.
ALTER TABLE "webhook_subscriptions" ADD COLUMN "disabled_reason" TEXT,
ADD COLUMN "disabled_at" TIMESTAMPTZ(3),
ADD COLUMN "consecutive_failures" INTEGER NOT NULL DEFAULT 0;

-- The exact body sent (fixed at the first attempt, identical on every retry).
ALTER TABLE "webhook_deliveries" ADD COLUMN "body" TEXT;
