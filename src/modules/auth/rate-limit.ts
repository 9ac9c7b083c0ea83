/**
 * A leaky bucket of query-cost points per API key, kept in PostgreSQL so every gateway instance
 * shares it. One statement per charge: refill by elapsed time, then take the cost if it fits.
 */
import type { Tx } from '../../db/tx';

export interface BucketConfig {
  /** maximumAvailable: the bucket size. */
  size: number;
  /** restoreRate: points per second. */
  restoreRate: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface Charge {
  granted: boolean;
  status: ThrottleStatus;
  /** When refused: how long until the cost fits. */
  retryAfterMs: number;
}

const SQL = `
WITH cur AS (
  SELECT least($2::float8, b.available + extract(epoch FROM (clock_timestamp() - b.updated_at)) * $3::float8) AS level
    FROM rate_limit_buckets b WHERE b.key_id = $1
)
INSERT INTO rate_limit_buckets AS b (key_id, available, last_granted, updated_at)
VALUES ($1, $2::float8 - $4::float8, $4::float8 <= $2::float8, clock_timestamp())
ON CONFLICT (key_id) DO UPDATE SET
  available = CASE WHEN (SELECT level FROM cur) >= $4::float8 THEN (SELECT level FROM cur) - $4::float8 ELSE (SELECT level FROM cur) END,
  last_granted = (SELECT level FROM cur) >= $4::float8,
  updated_at = clock_timestamp()
RETURNING b.available, b.last_granted`;

/** Takes `cost` points from the key's bucket if they are there. */
export async function charge(tx: Tx, keyId: string, cost: number, cfg: BucketConfig): Promise<Charge> {
  const [r] = await tx.query<{ available: number; last_granted: boolean }>(SQL, [keyId, cfg.size, cfg.restoreRate, cost]);
  const available = Math.max(0, Number(r.available));
  return {
    granted: r.last_granted,
    status: { maximumAvailable: cfg.size, currentlyAvailable: Math.floor(available), restoreRate: cfg.restoreRate },
    retryAfterMs: r.last_granted ? 0 : Math.ceil(((cost - available) / cfg.restoreRate) * 1000),
  };
}

/** Gives back points charged but not used (requested − actual cost). */
export async function refund(tx: Tx, keyId: string, points: number, cfg: BucketConfig): Promise<number> {
  const [r] = await tx.query<{ available: number }>(
    `UPDATE rate_limit_buckets SET available = least($2::float8, available + $3::float8) WHERE key_id = $1 RETURNING available`,
    [keyId, cfg.size, points],
  );
  return Math.floor(Number(r?.available ?? 0));
}
