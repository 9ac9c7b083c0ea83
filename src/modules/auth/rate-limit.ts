/**
 * A leaky bucket of query-cost points per API key, kept in PostgreSQL so every gateway instance
 * shares it. Requests are charged against per-process leases taken from it (bucket-leases.ts).
 */
import type { Tx } from '../../db/tx';
import type { BucketConfig, SharedBucket } from './bucket-leases';

export type { BucketConfig, Charge, ThrottleStatus } from './bucket-leases';

/**
 * Refill by elapsed time, then take min(level, $5) if at least $4 points are there (else nothing).
 * `level` is what the bucket held after refill, before taking (a new key's bucket starts full).
 * Every figure comes from the row being updated — under ON CONFLICT DO UPDATE that is its latest
 * version, locked — never from a snapshot read earlier in the statement: concurrent takes of one
 * key (two instances, or the first takes of a new key racing to insert it) see each other's result.
 * (A snapshot-read level made racing first takes write NULL, and concurrent takes double-spend.)
 */
const LEVEL = `least($2::float8, b.available + greatest(0, extract(epoch FROM (statement_timestamp() - b.updated_at))) * $3::float8)`;
const TAKE_SQL = `
INSERT INTO rate_limit_buckets AS b (key_id, available, last_granted, last_level, updated_at)
VALUES ($1, CASE WHEN $4::float8 <= $2::float8 THEN $2::float8 - least($2::float8, $5::float8) ELSE $2::float8 END, $4::float8 <= $2::float8,
        $2::float8, statement_timestamp())
ON CONFLICT (key_id) DO UPDATE SET
  available = CASE WHEN ${LEVEL} >= $4::float8 THEN ${LEVEL} - least(${LEVEL}, $5::float8) ELSE ${LEVEL} END,
  last_granted = ${LEVEL} >= $4::float8,
  last_level = ${LEVEL},
  -- One instant for the whole statement (the same level everywhere above); never backwards, as a
  -- take that waited for the row lock may have started before the one it waited for.
  updated_at = greatest(b.updated_at, statement_timestamp())
RETURNING b.available, b.last_granted, b.last_level AS level`;

/** The key buckets in PostgreSQL, shared by every instance (see BucketLeases for how they are charged). */
export function sharedBuckets(tx: () => Tx, cfg: BucketConfig): SharedBucket {
  return {
    async take(keyId, need, want) {
      const [r] = await tx().query<{ available: number; last_granted: boolean; level: number }>(TAKE_SQL, [
        keyId,
        cfg.size,
        cfg.restoreRate,
        need,
        want,
      ]);
      const level = Number(r.level);
      return { taken: r.last_granted ? level - Number(r.available) : 0, level };
    },
    async giveBack(keyId, points) {
      await tx().query(`UPDATE rate_limit_buckets SET available = least($2::float8, available + $3::float8) WHERE key_id = $1`, [
        keyId,
        cfg.size,
        points,
      ]);
    },
  };
}
