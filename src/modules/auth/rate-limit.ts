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
 */
const TAKE_SQL = `
WITH cur AS (
  SELECT least($2::float8, b.available + extract(epoch FROM (clock_timestamp() - b.updated_at)) * $3::float8) AS level
    FROM rate_limit_buckets b WHERE b.key_id = $1
)
INSERT INTO rate_limit_buckets AS b (key_id, available, last_granted, updated_at)
VALUES ($1, CASE WHEN $4::float8 <= $2::float8 THEN $2::float8 - least($2::float8, $5::float8) ELSE $2::float8 END, $4::float8 <= $2::float8, clock_timestamp())
ON CONFLICT (key_id) DO UPDATE SET
  available = CASE WHEN (SELECT level FROM cur) >= $4::float8 THEN (SELECT level FROM cur) - least((SELECT level FROM cur), $5::float8) ELSE (SELECT level FROM cur) END,
  last_granted = (SELECT level FROM cur) >= $4::float8,
  updated_at = clock_timestamp()
RETURNING b.available, b.last_granted, coalesce((SELECT level FROM cur), $2::float8) AS level`;

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
