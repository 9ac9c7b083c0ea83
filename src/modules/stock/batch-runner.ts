/**
 * Running a group-committed writer statement (reserveLines(), adjustLevels()) for one batch of
 * requests: on the dedicated batch pool, autocommit. PostgreSQL refusing the statement (deadlock,
 * serialization failure, or one request's bad data) rolled it back: every request of the batch
 * takes the general path on its own (null). A lost connection (outcome unknown) is not retried: it
 * surfaces as UNAVAILABLE. Counts each request as served or left to the general path
 * (inventory_batched_requests_total), and wakes the event hub when the statement wrote.
 * One batcher per kind and transaction runner (process), so concurrent requests share statements.
 */
import type { App } from '../../app';
import { Batcher } from '../../db/batcher';
import { withConn, type Conn } from '../../db/tx';
import { isTransientDbError } from '../../graphql/errors';
import { m as metrics } from '../../observability/metrics';

const RETRY_CODES = new Set(['40001', '40P01']);

export interface BatchKind<I, O> {
  /** The metric's `batch` label. */
  name: 'reserve' | 'adjust';
  /** For the log line of a refused batch. */
  what: string;
  statement(c: Conn, items: readonly I[]): Promise<(O | null)[]>;
  /** Whether a served request's result changed stock (then the hub is woken). */
  wrote(o: O): boolean;
  maxInFlight(app: App): number;
}

export async function runBatchStatement<I, O>(app: App, kind: BatchKind<I, O>, items: readonly I[]): Promise<(O | null)[]> {
  const conn = { ...app.tx, pool: app.db.batchPool };
  const out = await withConn(conn, async (c) => {
    try {
      return await kind.statement(c, items);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && (RETRY_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && !isTransientDbError(e)))) {
        if (!RETRY_CODES.has(code))
          app.log.warn(`${kind.what} batch refused; its requests take the general path`, { code, err: (e as Error).message });
        return null;
      }
      throw e;
    }
  });
  const served = out ? out.filter((r) => r !== null).length : 0;
  metrics.batched.inc({ batch: kind.name, outcome: 'served' }, served);
  metrics.batched.inc({ batch: kind.name, outcome: 'general_path' }, items.length - served);
  if (!out) return items.map(() => null);
  if (out.some((r) => r !== null && kind.wrote(r))) app.tx.afterCommit?.();
  return out;
}

const batchers = new WeakMap<object, Map<string, Batcher<unknown, unknown>>>();

export function batcherFor<I, O>(app: App, kind: BatchKind<I, O>): Batcher<I, O | null> {
  let byKind = batchers.get(app.tx);
  if (!byKind) batchers.set(app.tx, (byKind = new Map()));
  let b = byKind.get(kind.name) as Batcher<I, O | null> | undefined;
  if (!b) {
    b = new Batcher<I, O | null>((items) => runBatchStatement(app, kind, items), { maxInFlight: kind.maxInFlight(app), maxBatch: 500 });
    byKind.set(kind.name, b as Batcher<unknown, unknown>);
  }
  return b;
}
