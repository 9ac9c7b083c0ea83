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

/** How reservation lines without a warehouse are allocated (allocate.ts). */
export type AllocationStrategy = 'PRIORITY' | 'MOST_AVAILABLE' | 'FEWEST_SPLITS';

export interface ReserveInput {
  lines: ReserveLineInput[];
  ttlSeconds?: number | null;
  reference?: string | null;
  idempotencyKey?: string | null;
  /** Overrides the store's default strategy for this request. */
  allocationStrategy?: AllocationStrategy | null;
  /** Only warehouses that ship to this ISO 3166-1 alpha-2 country are considered. */
  shipTo?: { countryCode: string } | null;
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
/** The operation name idempotency keys of inventoryReserve are recorded under (a key used for another operation is IDEMPOTENCY_KEY_REUSED). */
export const RESERVE_OPERATION = 'inventoryReserve';

export const fail = (...userErrors: UserErrorShape[]): ReservationResult => ({ reservation: null, lines: [], userErrors, rollback: true });

/** Thrown when a conditional write fails after the rows were locked and checked: retry the transaction. */
export class RaceError extends Error {
  code = '40001';
}

/** A level that may serve a line, with its warehouse. */
export interface LevelOption {
  id: string;
  variant_id: string;
  warehouse_id: string;
  code: string;
  priority: number;
  read_only: boolean;
  active: boolean;
  /** The warehouse's ship-to declaration (omitted or both empty: serves everywhere). */
  serves_countries?: readonly string[] | null;
  serves_zones?: readonly string[] | null;
}

/** A level option with what it has available now (may be negative: counts as 0). */
export interface Candidate extends LevelOption {
  available: number;
  /** Under a CONTINUE or PREORDER policy, how many more units it may sell below zero (default 0). */
  backorder?: number;
}

/** How to allocate: the strategy (default PRIORITY) and the destination country, if any. */
export interface AllocateOptions {
  strategy?: AllocationStrategy | null;
  shipTo?: string | null;
}

export interface Allocation {
  /** Index of the line in the request. */
  line: number;
  levelId: string;
  quantity: number;
}
