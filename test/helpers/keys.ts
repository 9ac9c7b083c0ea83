/**
 * Idempotency keys in the group-committed statements (test/e2e/reserve-keyed.test.ts,
 * adjust-keyed.test.ts): a key held by another session, and a key another request records while a
 * batch's transaction is open. PostgreSQL only (PGlite has one backend session).
 */
import type pg from 'pg';
import type { Tx } from '../../src/db/tx';
import type { TestServer } from './server';

/** Runs `fn` while another session holds the claim of `key` in the test store (the general path's advisory lock). */
export async function whileKeyHeld<T>(t: TestServer, key: string, fn: () => Promise<T>): Promise<T> {
  const c = await t.gateway.app.db.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, [`${t.store.storeId}:${key}`]);
    return await fn();
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
}

/** The stored response of `key` in the test store. */
export async function storedResponse(t: TestServer, key: string): Promise<unknown> {
  const r = await t.gateway.app.db.pool.query(`SELECT response FROM idempotency_keys WHERE store_id = $1 AND key = $2`, [
    t.store.storeId,
    key,
  ]);
  return r.rows[0]?.response;
}

/** What another request records under the key in keyRecordedAfter(). */
export const OTHER_RESPONSE = { other: true };

/**
 * Runs `fn` with a batch connection of its own (`conn`) on which, right after `statement` runs,
 * another request records `key` (committed, outside the batch's claim: the race the batch's INSERT
 * of the key guards against). Checks that `fn` left the connection outside any transaction.
 */
export async function keyRecordedAfter(
  t: TestServer,
  statement: string,
  key: string,
  operation: string,
  fn: (conn: Tx) => Promise<void>,
): Promise<void> {
  const client: pg.PoolClient = await t.gateway.app.db.batchPool.connect();
  try {
    const conn: Tx = {
      async query<T>(sql: string, params?: unknown[]) {
        const r = await client.query(sql, params);
        if (sql === statement)
          await t.gateway.app.db.pool.query(
            `INSERT INTO idempotency_keys (store_id, key, operation, request_hash, response, expires_at)
             VALUES ($1, $2, $3, 'other', $4, now() + interval '1 hour')`,
            [t.store.storeId, key, operation, JSON.stringify(OTHER_RESPONSE)],
          );
        return r.rows as T[];
      },
    };
    await fn(conn);
    const [{ idle }] = (await client.query(`SELECT now() = statement_timestamp() AS idle`)).rows;
    if (!idle) throw new Error('the batch left its connection in a transaction');
  } finally {
    client.release();
  }
}
