-- Time-ordered ids (RFC 9562 UUID version 7: 48 bits of Unix time in ms, then random bits) for the
-- insert-heavy reservations and reservation_lines. Random version-4 keys land on a random leaf of
-- the primary keys and of reservation_lines (store_id, reservation_id): once those indexes outgrow
-- shared_buffers every insert reads a leaf back and dirties it, and after each checkpoint the first
-- change to each leaf writes a full-page image to the WAL, so reservations slowed down as the tables
-- grew (issue 25's sustained run). Time-ordered keys are inserted at the right edge of each index.
-- The gateway makes reservation ids itself (src/db/time-ordered-id.ts); this function is the
-- database's default, for the lines and any other insert. Existing rows keep their ids.
CREATE FUNCTION uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(set_bit(
             overlay(uuid_send(gen_random_uuid())
                     PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                     FROM 1 FOR 6),
             52, 1), 53, 1),
           'hex')::uuid
$$;

ALTER TABLE "reservations" ALTER COLUMN "id" SET DEFAULT uuid_v7();
ALTER TABLE "reservation_lines" ALTER COLUMN "id" SET DEFAULT uuid_v7();
