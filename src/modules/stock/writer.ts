/**
 * THE stock writer: the only module that changes inventory_levels counters and appends
 * stock_movements, through the statements of statements.ts. Its operations:
 *  - applyLevelChange(): one level change (delta, set, settings, or only the lazy expiry of due
 *    reservation lines), in one statement. Callers that touch several levels in one transaction
 *    must call it in ascending level id order;
 *  - reserveLines(): many one-line reservations at once (group commit), each granted or not;
 *  - (in bulk.ts and adjust-batch.ts: applyBulkChanges() and adjustLevels(), whose rows this file's
 *    changeResult() reads).
 * Callers pass data; the SQL and its CTEs stay here.
 */
import { onCommit, type Tx } from '../../db/tx';
import { observeStockChange } from '../../observability/metrics';
import { LINE_FIELDS, pick, RES_FIELDS, type ReservationLineRow, type ReservationRow } from './reservation-rows';
import type { InventoryPolicy } from './policy';
import { CHANGE_SQL, RESERVE_BATCH_SQL } from './statements';
import { keyedBatch, type KeyClaim } from './idempotency';
import type { ChangeFailure, ChangeResult, LevelChange } from './types';

export interface Row {
  id: string;
  store_id: string;
  variant_id: string;
  warehouse_id: string;
  failure: ChangeFailure | null;
  b_on_hand: number;
  b_reserved: number;
  b_safety: number;
  a_on_hand: number;
  a_reserved: number;
  a_safety: number;
  a_incoming: number;
  a_low: number;
  a_critical: number;
  a_policy: InventoryPolicy | null;
  a_limit: number | null;
  allow: string | number;
  version: number;
  updated_at: Date;
  movement_id: number | null;
  expired_q: number;
  unc_before: string | number;
  unc_after: string | number;
  want_incoming: string | number;
}

/** Applies one level change in one statement. Returns null when the level does not exist in the store. */
export async function applyLevelChange(tx: Tx, c: LevelChange): Promise<ChangeResult | null> {
  const [r] = await tx.query<Row>(CHANGE_SQL, [
    c.levelId,
    c.storeId,
    c.mode,
    c.mode === 'set' ? c.setOnHand : (c.onHandDelta ?? 0),
    c.reservedDelta ?? 0,
    c.requireAvailable ?? false,
    c.compareOnHand ?? null,
    c.reason,
    c.note ?? null,
    c.actor ?? null,
    c.idempotencyKey ?? null,
    c.reservationId ?? null,
    c.safetyStock ?? null,
    c.recomputeIncoming ?? false,
    c.lowStockThreshold ?? null,
    c.criticalThreshold ?? null,
    c.inventoryPolicy ?? null,
    c.inventoryPolicy != null && c.inventoryPolicy !== 'INHERIT' ? (c.backorderLimit ?? null) : null,
    c.allowBackorder ?? true,
    c.inboundShipmentId ?? null,
    c.transferId ?? null,
    c.event?.topic ?? null,
    c.event ? JSON.stringify(c.event.payload) : null,
    c.allowUncoveredPreorders ?? false,
  ]);
  if (r && (r.movement_id !== null || Number(r.expired_q) > 0))
    onCommit(tx, () => observeStockChange(c.reason, r.movement_id !== null, Number(r.expired_q)));
  return r ? changeResult(r) : null;
}

/** The outcome of a writer statement, from its row. */
export function changeResult(r: Row): ChangeResult {
  return {
    failure: r.failure,
    before: { onHand: Number(r.b_on_hand), reserved: Number(r.b_reserved), safetyStock: Number(r.b_safety) },
    level: {
      id: r.id,
      storeId: r.store_id,
      variantId: r.variant_id,
      warehouseId: r.warehouse_id,
      onHand: r.a_on_hand,
      reserved: r.a_reserved,
      incoming: r.a_incoming,
      safetyStock: r.a_safety,
      lowStockThreshold: r.a_low,
      criticalThreshold: r.a_critical,
      inventoryPolicy: r.a_policy,
      backorderLimit: r.a_limit,
      version: r.version,
      updatedAt: new Date(r.updated_at).toISOString(),
    },
    movementId: r.movement_id === null ? null : Number(r.movement_id),
    expiredQuantity: Number(r.expired_q),
    allowance: Number(r.allow),
    uncovered: { before: Number(r.unc_before), after: Number(r.unc_after) },
    incomingRequested: Number(r.want_incoming),
  };
}

/** One request of reserveLines(): a one-line reservation. */
export interface ReserveLineRequest {
  storeId: string;
  /** The variant by id or by sku (exactly one). */
  variantId: string | null;
  sku: string | null;
  /** The warehouse by id or code, or neither (then the variant must have one writable level). */
  warehouseId: string | null;
  warehouseCode: string | null;
  quantity: number;
  /** The id the reservation gets when granted. */
  reservationId: string;
  ttlSeconds: number;
  reference: string | null;
  actor: string;
  /** The request's idempotency key, and what recording its response needs (see reserveLines()). */
  idempotency: KeyClaim | null;
}

/** A granted request: the reservation and its line as inserted. */
export interface ReservedLine {
  reservation: ReservationRow;
  line: ReservationLineRow;
}

/** What inventoryReserve answers for a granted request, and what its key replays. */
export function reservedResult(r: ReservedLine): { reservation: ReservationRow; lines: ReservationLineRow[]; userErrors: [] } {
  return { reservation: r.reservation, lines: [r.line], userErrors: [] };
}

/**
 * Reserves many one-line requests in ONE statement (RESERVE_BATCH_SQL): each request is granted
 * (its reservation, line, ledger row and events are written) or not (null: it wrote nothing, and
 * the caller's general path answers it). Without idempotency keys the statement is autocommit;
 * with keys, keyedBatch() records each granted keyed request's response (reservedResult()) under
 * its key in the statement's transaction, as runStockOperation() would have, or leaves every
 * request to the general path should a key turn out taken. Errors of the statement reach the
 * caller, which decides what to do with the whole batch. `conn` is a connection of its own.
 */
export async function reserveLines(conn: Tx, requests: readonly ReserveLineRequest[]): Promise<(ReservedLine | null)[]> {
  const out = await keyedBatch(conn, requests, () => reserveStatement(conn, requests), reservedResult);
  observeStockChange('RESERVATION', out.filter((r) => r !== null).length, 0);
  return out;
}

async function reserveStatement(conn: Tx, requests: readonly ReserveLineRequest[]): Promise<(ReservedLine | null)[]> {
  const col = <K extends keyof ReserveLineRequest>(k: K) => requests.map((i) => i[k]);
  const rows = await conn.query<Record<string, unknown>>(RESERVE_BATCH_SQL, [
    col('storeId'),
    col('variantId'),
    col('sku'),
    col('warehouseId'),
    col('warehouseCode'),
    col('quantity'),
    col('reservationId'),
    col('ttlSeconds'),
    col('reference'),
    col('actor'),
    requests.map((i) => i.idempotency?.key ?? null),
  ]);
  const out = rows.map((r) =>
    r.granted && r.r_id != null
      ? { reservation: pick<ReservationRow>(r, RES_FIELDS, 'r_'), line: pick<ReservationLineRow>(r, LINE_FIELDS, 'l_') }
      : null,
  );
  return out;
}
