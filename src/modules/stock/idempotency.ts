/**
 * Idempotency keys with Stripe's semantics, inside the transaction that does the work:
 *  - the key is claimed by a transaction-scoped advisory lock: a second request with the same key
 *    while the first runs gets IDEMPOTENCY_KEY_IN_PROGRESS, and a crashed request releases its
 *    claim with its connection (nothing is left to reclaim);
 *  - the stored response (success or business failure) is replayed for the same request;
 *  - the same key with a different request gives IDEMPOTENCY_KEY_REUSED;
 *  - rows expire after IDEMPOTENCY_TTL_SECONDS (an expired key is free again).
 */
import crypto from 'node:crypto';
import type { App } from '../../app';
import type { Tx, TxRunner } from '../../db/tx';
import type { AuthInfo } from '../../graphql/scopes';
import { commitHookMark, dropCommitHooks, withTx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { LIMITS, validateText } from '../../validation';

export interface OpResult {
  userErrors: UserErrorShape[];
  /** Roll the whole change back (set on business failures of atomic operations). */
  rollback?: boolean;
  /** True when this result is the stored response of an earlier request with the same key. */
  replayed?: boolean;
}

class RollbackSignal<T> extends Error {
  constructor(public readonly result: T) {
    super('rollback');
  }
}

export function requestHash(operation: string, input: unknown): string {
  return crypto.createHash('sha256').update(operation).update('\0').update(stableJson(input)).digest('hex');
}

function stableJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined && o[k] !== null)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

/**
 * Runs `work` in one transaction. Business failures with `rollback` undo everything the work did.
 * With a key, the outcome is recorded (or replayed) as described above.
 */
export async function runStockOperation<T extends OpResult>(
  runner: TxRunner,
  opts: {
    storeId: string;
    key?: string | null;
    operation: string;
    input: unknown;
    ttlSeconds: number;
    /** The payload's other fields when the key itself is refused (nothing was done). */
    blank: Omit<T, keyof OpResult>;
  },
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  const { storeId, key, operation } = opts;
  const refuse = (userErrors: UserErrorShape[]): T => ({ ...opts.blank, userErrors }) as T;
  if (key != null) {
    const bad = validateText(key, ['input', 'idempotencyKey'], { max: LIMITS.idempotencyKey });
    if (bad.length) return refuse(bad);
  }
  try {
    return await withTx(runner, async (tx) => {
      if (key == null) {
        const r = await work(tx);
        if (r.rollback) throw new RollbackSignal(r);
        return r;
      }
      const [{ locked }] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7)) AS locked`, [
        `${storeId}:${key}`,
      ]);
      if (!locked) {
        return refuse([
          userError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, 'A request with this idempotency key is still in progress; retry shortly', [
            'input',
            'idempotencyKey',
          ]),
        ]);
      }
      const hash = requestHash(operation, opts.input);
      const [prev] = await tx.query<{ operation: string; request_hash: string; response: T }>(
        `SELECT operation, request_hash, response FROM idempotency_keys WHERE store_id = $1 AND key = $2 AND expires_at > now()`,
        [storeId, key],
      );
      if (prev) {
        if (prev.operation !== operation || prev.request_hash !== hash) {
          return refuse([
            userError(
              ErrorCode.IDEMPOTENCY_KEY_REUSED,
              `This idempotency key was already used for a different ${prev.operation === operation ? 'request' : 'operation'}`,
              ['input', 'idempotencyKey'],
            ),
          ]);
        }
        return { ...prev.response, replayed: true };
      }
      await tx.query('SAVEPOINT stock_op');
      const mark = commitHookMark(tx);
      const result = await work(tx);
      if (result.rollback) {
        await tx.query('ROLLBACK TO SAVEPOINT stock_op');
        dropCommitHooks(tx, mark);
      }
      const { rollback: _r, replayed: _p, ...stored } = result;
      await recordResponses(tx, [{ storeId, key, operation, requestHash: hash, response: stored, ttlSeconds: opts.ttlSeconds }], true);
      return { ...result, rollback: false };
    });
  } catch (e) {
    if (e instanceof RollbackSignal) return e.result as T;
    throw e;
  }
}

/** runStockOperation for a caller's store, with the configured key lifetime. */
export function stockOperation<T extends OpResult>(
  app: App,
  auth: AuthInfo,
  operation: string,
  input: { idempotencyKey?: string | null },
  blank: Omit<T, keyof OpResult>,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return runStockOperation(
    app.tx,
    { storeId: auth.storeId, key: input.idempotencyKey, operation, input, ttlSeconds: app.config.idempotencyTtlSeconds, blank },
    work,
  );
}

/** A key's claim and what to record under it (see recordResponses()). */
export interface KeyedResponse {
  storeId: string;
  key: string;
  operation: string;
  requestHash: string;
  /** The response to replay (stored as JSON). */
  response: unknown;
  ttlSeconds: number;
}

/**
 * Records responses under their keys, in the caller's transaction, which holds the keys' claims
 * (the advisory lock of runStockOperation(); RESERVE_BATCH_SQL takes the same). An expired row of
 * a key is replaced. An unexpired one is replaced only with `overwrite` (runStockOperation(),
 * which read the key after claiming it); otherwise it is kept and the result is false: a request
 * with that key committed after the caller looked, and the caller must roll back.
 */
export async function recordResponses(tx: Tx, records: readonly KeyedResponse[], overwrite = false): Promise<boolean> {
  const col = <K extends keyof KeyedResponse>(k: K) => records.map((r) => r[k]);
  const rows = await tx.query(
    `INSERT INTO idempotency_keys (store_id, key, operation, request_hash, response, created_at, expires_at)
     SELECT s, k, o, h, r, now(), now() + make_interval(secs => t)
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::float8[]) AS a(s, k, o, h, r, t)
     ON CONFLICT (store_id, key) DO UPDATE SET operation = excluded.operation, request_hash = excluded.request_hash,
       response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at
      WHERE $7 OR idempotency_keys.expires_at <= now()
     RETURNING 1`,
    [
      col('storeId'),
      col('key'),
      col('operation'),
      col('requestHash'),
      records.map((r) => JSON.stringify(r.response)),
      col('ttlSeconds'),
      overwrite,
    ],
  );
  return rows.length === records.length;
}

/** A group-committed request's idempotency key and what recording its response needs (see CLAIM_SQL). */
export type KeyClaim = Omit<KeyedResponse, 'storeId' | 'response'>;

/**
 * Runs a group-committed statement (`statement`, over `requests`, one result per request, null for
 * a request it did not serve). Without keys it runs alone (autocommit). With keys it runs in a
 * transaction that records, under its key, the response (`responseOf`) of every keyed request it
 * served, and commits; should a key turn out taken after all (recordResponses() false: a request
 * recorded it after the statement's snapshot), it rolls back and every request is left to the
 * general path (all null). Errors reach the caller, after the rollback. `conn` is a connection of
 * its own.
 */
export async function keyedBatch<R extends { storeId: string; idempotency: KeyClaim | null }, O>(
  conn: Tx,
  requests: readonly R[],
  statement: () => Promise<(O | null)[]>,
  responseOf: (result: O, request: R) => unknown,
): Promise<(O | null)[]> {
  if (!requests.some((r) => r.idempotency)) return statement();
  await conn.query('BEGIN');
  try {
    const out = await statement();
    const keyed = out.flatMap((o, i) => {
      const { storeId, idempotency: k } = requests[i];
      return o !== null && k
        ? [
            {
              storeId,
              key: k.key,
              operation: k.operation,
              requestHash: k.requestHash,
              ttlSeconds: k.ttlSeconds,
              response: responseOf(o, requests[i]),
            },
          ]
        : [];
    });
    if (keyed.length && !(await recordResponses(conn, keyed))) {
      await conn.query('ROLLBACK');
      return requests.map(() => null);
    }
    await conn.query('COMMIT');
    return out;
  } catch (e) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Deletes expired idempotency rows (called by the sweeper), at most 1,000 at a time. The expiry is
 * checked again on the row deleted (`k.expires_at`): a row renewed after the statement's snapshot
 * (an expired key used again: recordResponses() replaces it) is rechecked on its new version when
 * the DELETE reaches it, and kept. Without it the DELETE matched the renewed row through the
 * subquery's old answer and deleted the new response, and a retry of that request applied twice.
 */
export async function purgeExpiredKeys(tx: Tx): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `WITH d AS (
       DELETE FROM idempotency_keys k
        WHERE (k.store_id, k.key) IN (SELECT store_id, key FROM idempotency_keys WHERE expires_at <= now() LIMIT 1000)
          AND k.expires_at <= now()
       RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
  );
  return r[0]?.n ?? 0;
}
