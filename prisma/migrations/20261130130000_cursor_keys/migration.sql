-- CreateTable: the secret sealing pagination cursors when CURSOR_SECRET is unset (src/graphql/cursor-seal.ts).
-- One row, inserted by the first gateway that starts (random 32 bytes), read by every instance.
CREATE TABLE "cursor_keys" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "secret" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cursor_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "cursor_keys_one_row" CHECK ("id" = 1)
);
