/** Plain types of reservation requests and results (no GraphQL), shared by the reservation units. */
import type { UserErrorShape } from '../../graphql/errors';
import type { OpResult, ReservationLineRow, ReservationRow } from '../stock';

export interface ReserveLineInput {
  variantId?: string | null;
  sku?: string | null;
  warehouseId?: string | null;
  warehouseCode?: string | null;
  quantity: number;
}

export interface ReserveInput {
  lines: ReserveLineInput[];
  ttlSeconds?: number | null;
  reference?: string | null;
  idempotencyKey?: string | null;
}

export interface LineQuantityInput {
  lineId: string;
  quantity: number;
}

export interface SettleInput {
  reservationId: string;
  /** Omitted: the whole reservation. */
  lines?: LineQuantityInput[] | null;
  idempotencyKey?: string | null;
}

export interface ReservationResult extends OpResult {
  reservation: ReservationRow | null;
  lines: ReservationLineRow[];
}

/** A business failure: nothing is kept. */
export const fail = (...userErrors: UserErrorShape[]): ReservationResult => ({ reservation: null, lines: [], userErrors, rollback: true });

/** Thrown when a conditional write fails after the rows were locked and checked: retry the transaction. */
export class RaceError extends Error {
  code = '40001';
}
