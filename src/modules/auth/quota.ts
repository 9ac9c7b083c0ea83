/**
 * Usage quotas (seed 000's token balance): an optional number of cost points per key per UTC day
 * or month, shared by every instance (kept in PostgreSQL, one conditional statement per charge).
 * Over quota → QUOTA_EXCEEDED with HTTP 402 and the time the period resets.
 */
import type { Tx } from '../../db/tx';

export const QUOTA_PERIODS = ['DAY', 'MONTH'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

export interface Quota {
  points: number;
  period: QuotaPeriod;
}

export interface QuotaStatus {
  limit: number;
  used: number;
  remaining: number;
  period: QuotaPeriod;
  /** ISO time at which the period ends and usage starts again at 0. */
  resetsAt: string;
}

export interface QuotaCharge {
  granted: boolean;
  status: QuotaStatus;
  /** The period charged (for a refund). */
  periodStart: Date;
}

/** Parses "100000/day" or "5000000/month" (the CLI's form). */
export function parseQuota(s: string): Quota | null {
  const m = /^(\d{1,15})\s*\/\s*(day|month)$/i.exec(s.trim());
  if (!m) return null;
  return { points: Number(m[1]), period: m[2].toUpperCase() as QuotaPeriod };
}

const unit = (p: QuotaPeriod) => (p === 'DAY' ? 'day' : 'month');

// Takes `cost` points if they fit in the period's quota. The period starts at UTC midnight (or the
// 1st of the month); a new period starts a new row.
const CHARGE = `
WITH p AS (SELECT date_trunc($3, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start),
ins AS (
  INSERT INTO key_usage AS u (key_id, period_start, used)
  SELECT $1::uuid, p.start, $2::int8 FROM p WHERE $2::int8 <= $4::int8
  ON CONFLICT (key_id, period_start) DO UPDATE SET used = u.used + EXCLUDED.used WHERE u.used + EXCLUDED.used <= $4::int8
  RETURNING u.used)
SELECT (SELECT used FROM ins)::text AS granted_used,
       (SELECT u.used FROM key_usage u, p WHERE u.key_id = $1::uuid AND u.period_start = p.start)::text AS current_used,
       (SELECT start FROM p) AS start,
       (SELECT start FROM p) + ('1 ' || $3)::interval AS resets_at`;

function status(quota: Quota, used: number, resetsAt: Date): QuotaStatus {
  return { limit: quota.points, used, remaining: Math.max(0, quota.points - used), period: quota.period, resetsAt: resetsAt.toISOString() };
}

export async function chargeQuota(tx: Tx, keyId: string, quota: Quota, cost: number): Promise<QuotaCharge> {
  const [r] = await tx.query<{ granted_used: string | null; current_used: string | null; start: Date; resets_at: Date }>(CHARGE, [
    keyId,
    cost,
    unit(quota.period),
    quota.points,
  ]);
  const granted = r.granted_used !== null;
  const used = Number(r.granted_used ?? r.current_used ?? 0);
  return { granted, status: status(quota, used, r.resets_at), periodStart: r.start };
}

/** Gives back points charged but not used; returns the status after it. */
export async function refundQuota(tx: Tx, keyId: string, quota: Quota, periodStart: Date, points: number): Promise<QuotaStatus | null> {
  const [r] = await tx.query<{ used: string; resets_at: Date }>(
    `UPDATE key_usage SET used = greatest(0, used - $3::int8) WHERE key_id = $1::uuid AND period_start = $2
     RETURNING used::text, period_start + ('1 ' || $4)::interval AS resets_at`,
    [keyId, periodStart, points, unit(quota.period)],
  );
  return r ? status(quota, Number(r.used), r.resets_at) : null;
}

/** The key's usage in the current period (without charging). */
export async function quotaStatus(tx: Tx, keyId: string, quota: Quota): Promise<QuotaStatus> {
  const [r] = await tx.query<{ used: string | null; resets_at: Date }>(
    `WITH p AS (SELECT date_trunc($2, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
     SELECT (SELECT u.used FROM key_usage u, p WHERE u.key_id = $1::uuid AND u.period_start = p.start)::text AS used,
            (SELECT start FROM p) + ('1 ' || $2)::interval AS resets_at`,
    [keyId, unit(quota.period)],
  );
  return status(quota, Number(r.used ?? 0), r.resets_at);
}
