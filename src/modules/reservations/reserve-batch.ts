/**
 * The group-committed common case of inventoryReserve: one line, without shipTo, that only one
 * active, writable level can serve (so every allocation strategy agrees), with no due reservation
 * lines on it. Concurrent such requests share ONE statement, the stock writer's reserveLines()
 * (src/db/batcher.ts gathers them): it locks their levels in id order, grants them in arrival
 * order while stock lasts, and writes each granted request's ledger row, events, reservation and
 * line. A request it does not grant wrote nothing (no due lines, so nothing to expire): the general
 * path then runs and answers exactly as it always has.
 *
 * With an idempotency key (a checkout), a request is granted only when its key is free (never
 * used, or expired), and its response is recorded under the key before the batch commits, exactly
 * as runStockOperation() records it; a key already used, in progress, or named twice in one batch
 * leaves the request to the general path, which replays, refuses or claims as it always has.
 *
 * The documented exception to "stock mutations run in Prisma transactions": these statements run
 * on dedicated pg connections (Database.batchPool, generic plans), one statement each: autocommit,
 * or with its keys' responses in one short transaction when the batch carries idempotency keys.
 */
import { timeOrderedId } from '../../db/time-ordered-id';
import type { App } from '../../app';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { LIMITS, validateText } from '../../validation';
import {
  batcherFor,
  requestHash,
  reservedResult,
  reserveLines,
  type BatchKind,
  type ReservedLine,
  type ReserveLineRequest,
} from '../stock';
import { RESERVE_OPERATION, type ReservationResult, type ReserveInput } from './reservation.model';
import { checkReserve } from './reserve';

/** The group-committed reservation statement, for the stock core's batch runner. */
const RESERVE_BATCH: BatchKind<ReserveLineRequest, ReservedLine> = {
  name: 'reserve',
  what: 'reservation',
  statement: reserveLines,
  wrote: () => true,
  maxInFlight: (app) => app.config.reserveBatchInFlight,
};

/** Reserves `input` in a shared batch when it is the common case; null when it is not, or was not granted. */
export async function reserveBatched(app: App, auth: AuthInfo, input: ReserveInput): Promise<ReservationResult | null> {
  // A destination narrows the warehouses (allocate.ts): such requests take the general path.
  if (input.lines.length !== 1 || input.shipTo != null) return null;
  const { ttl, errors } = checkReserve(app.config, input);
  if (errors.length) return null;
  const key = input.idempotencyKey;
  // A key the general path would refuse (too long, control characters) is refused there.
  if (key != null && validateText(key, ['input', 'idempotencyKey'], { max: LIMITS.idempotencyKey }).length) return null;
  const l = input.lines[0];
  const variantId = l.variantId != null ? decodeId(l.variantId, 'Variant') : null;
  const warehouseId = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
  if ((l.variantId != null && !variantId) || (l.warehouseId != null && !warehouseId)) return null;
  const r = await batcherFor(app, RESERVE_BATCH).add({
    storeId: auth.storeId,
    variantId,
    sku: l.sku ?? null,
    warehouseId,
    warehouseCode: l.warehouseCode ?? null,
    quantity: l.quantity,
    reservationId: timeOrderedId(),
    ttlSeconds: ttl,
    reference: input.reference ?? null,
    actor: auth.actor,
    idempotency:
      key == null
        ? null
        : {
            key,
            operation: RESERVE_OPERATION,
            requestHash: requestHash(RESERVE_OPERATION, input),
            ttlSeconds: app.config.idempotencyTtlSeconds,
          },
  });
  return r ? reservedResult(r) : null;
}
