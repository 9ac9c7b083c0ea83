/**
 * Transactions for services. A `Tx` is one pg connection inside BEGIN … COMMIT. Serialization
 * failures and deadlocks are retried with jittered backoff; after the last try they surface as
 * UnavailableError (extensions.code UNAVAILABLE, retryable). Lost connections surface the same way.
 *
 * Stock mutations stay on this raw runner rather than Prisma interactive transactions: measured
 * and explained in docs/ARCHITECTURE-notes-stock.md ("Prisma and raw SQL").
 */
import type pg from 'pg';
import { UnavailableError, isTransientDbError } from './errors';
import { m as metrics } from '../observability/metrics';
import { currentTraceparent } from '../observability/tracing';

export interface Tx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** One connection of its own, in autocommit mode (withConn). */
export interface Conn extends Tx {
  /** The database session (for per-session state, such as SQL-level prepared statements). */
  readonly session: object;
  /**
   * Several statements without parameters in ONE message (one round trip; PostgreSQL's simple
   * query protocol): each statement's rows, in order. Literals must be inlined by the caller, and
   * only values it produced itself (numbers), never input. A script that opens a transaction
   * must end it, and roll it back if it fails.
   */
  script(sql: string): Promise<Record<string, unknown>[][]>;
}

type Results = pg.QueryResult | pg.QueryResult[];
const rowsOfEach = (r: Results) => (Array.isArray(r) ? r : [r]).map((x) => x.rows as Record<string, unknown>[]);

export interface TxRunner {
  pool: pg.Pool;
  maxRetries: number;
  /** Called after every commit (wakes the event hub at once instead of at its next poll). */
  afterCommit?: () => void;
  /**
   * Dry run: every transaction does all its work and then rolls back instead of committing (its
   * onCommit hooks and afterCommit do not run). Autocommit work (withConn) is not affected.
   */
  rollbackOnly?: boolean;
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Work to do once the transaction of `tx` commits (metrics of what it changed), in order. */
interface CommitHooks {
  commitHooks?: (() => void)[];
}

/**
 * Runs `fn` after the transaction of `tx` commits (nothing if it rolls back or is retried); at
 * once when `tx` is not a transaction (autocommit: the statement already committed).
 */
export function onCommit(tx: Tx, fn: () => void): void {
  const hooks = (tx as CommitHooks).commitHooks;
  if (hooks) hooks.push(fn);
  else fn();
}

/** A mark to drop the hooks added after it (`ROLLBACK TO SAVEPOINT`: see dropCommitHooks). */
export function commitHookMark(tx: Tx): number {
  return (tx as CommitHooks).commitHooks?.length ?? 0;
}
export function dropCommitHooks(tx: Tx, mark: number): void {
  (tx as CommitHooks).commitHooks?.splice(mark);
}

function wrap(client: pg.PoolClient): Conn {
  return {
    session: client,
    async query<T>(sql: string, params?: unknown[]) {
      const r = await client.query(sql, params as unknown[]);
      return r.rows as T[];
    },
    async script(sql: string) {
      return rowsOfEach((await client.query(sql)) as unknown as Results);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function acquire(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (e) {
    throw new UnavailableError(`database unavailable: ${(e as Error).message}`);
  }
}

/** One try of a transaction on a pg connection: BEGIN … COMMIT (or ROLLBACK for a dry run). */
async function rawAttempt<T>(runner: TxRunner, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await acquire(runner.pool);
  let broken = false;
  try {
    // With tracing on, the transaction's outbox events record the change's traceparent (the
    // column default reads app.traceparent; the value is ours, validated hex, never input).
    const tp = currentTraceparent();
    await client.query(tp ? `BEGIN; SELECT set_config('app.traceparent', '${tp}', true)` : 'BEGIN');
    const t: Conn & CommitHooks = wrap(client);
    t.commitHooks = [];
    const result = await fn(t);
    if (runner.rollbackOnly) {
      await client.query('ROLLBACK');
      return result;
    }
    await client.query('COMMIT');
    for (const h of t.commitHooks) h();
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    if (!RETRYABLE.has((e as { code?: string }).code ?? '') && isTransientDbError(e)) broken = true;
    throw e;
  } finally {
    // Exactly one release per attempt; a broken connection is destroyed, not reused.
    client.release(broken ? true : undefined);
  }
}

/** Runs fn in one transaction, retrying the whole of it on serialization failure or deadlock. */
export async function withTx<T>(runner: TxRunner, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await rawAttempt(runner, fn);
      if (!runner.rollbackOnly) runner.afterCommit?.();
      return result;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code && RETRYABLE.has(code)) {
        if (attempt >= runner.maxRetries) throw new UnavailableError('too much contention on the same stock; retry the request', 200);
        metrics.txRetries.inc({ reason: code === '40P01' ? 'deadlock' : 'serialization_failure' });
      } else if (isTransientDbError(e)) {
        throw e instanceof UnavailableError ? e : new UnavailableError();
      } else {
        throw e;
      }
    }
    await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
  }
}

/** Runs fn on one connection in autocommit mode (each statement is its own transaction). */
export async function withConn<T>(runner: TxRunner, fn: (tx: Conn) => Promise<T>): Promise<T> {
  const client = await acquire(runner.pool);
  let broken = false;
  try {
    return await fn(wrap(client));
  } catch (e) {
    if (isTransientDbError(e)) {
      broken = true;
      throw new UnavailableError();
    }
    throw e;
  } finally {
    client.release(broken ? true : undefined);
  }
}

/** A Tx whose statements each run on any pooled connection (autocommit): for reads. */
export function poolTx(pool: pg.Pool): Tx {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      try {
        const r = await pool.query(sql, params as unknown[]);
        return r.rows as T[];
      } catch (e) {
        if (isTransientDbError(e)) throw new UnavailableError();
        throw e;
      }
    },
  };
}
