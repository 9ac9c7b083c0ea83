/**
 * The group-committed common case of inventoryReserve: one line, without idempotency key or
 * shipTo, that only one active, writable level can serve (so every allocation strategy agrees), with no due reservation lines on it. Concurrent such
 * requests share ONE autocommit statement, the stock writer's reserveLines() (src/db/batcher.ts
 * gathers them): it locks their levels in id order, grants them in arrival order while stock
 * lasts, and writes each granted request's ledger row, events, reservation and line. A request it
 * does not grant wrote nothing (no due lines, so nothing to expire): the general path then runs
 * and answers exactly as it always has.
 *
 * The documented exception to "stock mutations run in Prisma transactions": these statements run
 * on dedicated pg connections (Database.batchPool, generic plans), one autocommit statement each.
 */
import crypto from 'node:crypto';
import type { App } from '../../app';
import { Batcher } from '../../db/batcher';
import { m as metrics } from '../../observability/metrics';
import { withConn } from '../../db/tx';
import { isTransientDbError } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { reserveLines, type ReservedLine, type ReserveLineRequest } from '../stock';
import type { ReservationResult, ReserveInput } from './reservation.model';
import { checkReserve } from './reserve';

const RETRY_CODES = new Set(['40001', '40P01']);

/** One batcher per transaction runner (process), so concurrent requests share statements. */
const batchers = new WeakMap<object, Batcher<ReserveLineRequest, ReservedLine | null>>();

/**
 * The statement of one batch. PostgreSQL refusing it (deadlock, serialization failure, or one
 * request's bad data) rolled it back: every request of the batch takes the general path on its
 * own. A lost connection (outcome unknown) is not retried: it surfaces as UNAVAILABLE.
 */
async function runBatch(app: App, items: ReserveLineRequest[]): Promise<(ReservedLine | null)[]> {
  const conn = { ...app.tx, pool: app.db.batchPool };
  const out = await withConn(conn, async (c) => {
    try {
      return await reserveLines(c, items);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && (RETRY_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && !isTransientDbError(e)))) {
        if (!RETRY_CODES.has(code))
          app.log.warn('reservation batch refused; its requests take the general path', { code, err: (e as Error).message });
        return null;
      }
      throw e;
    }
  });
  const served = out ? out.filter((r) => r !== null).length : 0;
  metrics.batched.inc({ batch: 'reserve', outcome: 'served' }, served);
  metrics.batched.inc({ batch: 'reserve', outcome: 'general_path' }, items.length - served);
  if (!out) return items.map(() => null);
  if (out.some((r) => r !== null)) app.tx.afterCommit?.();
  return out;
}

function reserveBatcher(app: App): Batcher<ReserveLineRequest, ReservedLine | null> {
  let b = batchers.get(app.tx);
  if (!b) {
    b = new Batcher((items) => runBatch(app, items), { maxInFlight: app.config.reserveBatchInFlight, maxBatch: 500 });
    batchers.set(app.tx, b);
  }
  return b;
}

/** Reserves `input` in a shared batch when it is the common case; null when it is not, or was not granted. */
export async function reserveBatched(app: App, auth: AuthInfo, input: ReserveInput): Promise<ReservationResult | null> {
  // A destination narrows the warehouses (allocate.ts): such requests take the general path.
  if (input.idempotencyKey != null || input.lines.length !== 1 || input.shipTo != null) return null;
  const { ttl, errors } = checkReserve(app.config, input);
  if (errors.length) return null;
  const l = input.lines[0];
  const variantId = l.variantId != null ? decodeId(l.variantId, 'Variant') : null;
  const warehouseId = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
  if ((l.variantId != null && !variantId) || (l.warehouseId != null && !warehouseId)) return null;
  const r = await reserveBatcher(app).add({
    storeId: auth.storeId,
    variantId,
    sku: l.sku ?? null,
    warehouseId,
    warehouseCode: l.warehouseCode ?? null,
    quantity: l.quantity,
    reservationId: crypto.randomUUID(),
    ttlSeconds: ttl,
    reference: input.reference ?? null,
    actor: auth.actor,
  });
  return r ? { reservation: r.reservation, lines: [r.line], userErrors: [] } : null;
}
